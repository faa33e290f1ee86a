"""The ``restthumbs`` command (also ``python -m restthumbs``): no Django project needed.

- ``restthumbs serve --source-dir DIR``: a thumbnail server on an embedded
  configuration (:mod:`restthumbs.standalone.settings`): filesystem storages, a
  local lock, the streaming response; Django's threaded development WSGI server.
- ``restthumbs serve --demo``: the same, plus a demo page at ``/`` with
  generated samples.
- ``restthumbs url PATH SIZE METHOD EXT``: print a signed URL.

Django is configured inside the command, never at import, so importing this
module is harmless in a process that has its own settings. Usage errors exit
with status 2 and a one-line message, runtime failures with status 1.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import __version__

if TYPE_CHECKING:
    from django.core.servers.basehttp import WSGIServer

#: Where ``--secret-key`` comes from when the flag is not given.
SECRET_KEY_ENV = "RESTTHUMBS_SECRET_KEY"

#: File suffixes looked at when choosing the example URL printed at start.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".tif", ".tiff", ".bmp")

#: The example printed at start; small enough to open in any browser.
EXAMPLE_SPEC = ("200x200", "crop", ".jpg")

#: At most this many directory entries are looked at for the example (a huge
#: source tree must not delay the start).
EXAMPLE_SCAN_LIMIT = 5000


class CommandError(Exception):
    """A failure reported as one line on stderr; ``status`` 2 for usage, 1 otherwise."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


class _Stop(BaseException):
    """Raised by the SIGTERM handler to stop the server like Ctrl-C does.

    A ``BaseException``, like ``KeyboardInterrupt``: socketserver catches and
    logs every ``Exception`` raised while it hands a request to a thread, and
    a SIGTERM arriving at that moment must still stop the server.
    """


# -- the argument parser ------------------------------------------------------


SERVE_DESCRIPTION = """\
Run a thumbnail server for the images in --source-dir, with no Django project:
filesystem storages, an in-process render lock, files streamed by Django's
threaded development server. Thumbnails are written to --thumbnail-dir and
served from there on later requests.

This is a local tool: it answers any Host header (ALLOWED_HOSTS = ["*"]) and
is not hardened for the internet. In production, add restthumbs to a Django
project and put nginx in front of it.
"""

SERVE_EPILOG = """\
examples:
  restthumbs serve --source-dir ~/Pictures --secret-key "$KEY"
  restthumbs serve --demo                 # samples in a temporary directory
  restthumbs serve --demo --source-dir D  # samples in D/restthumbs-demo/, plus D
"""

URL_DESCRIPTION = """\
Print the signed URL of a thumbnail, as a server using the same secret key
verifies it. Building the URL reads no file: PATH need not exist here.
"""

URL_EPILOG = """\
examples:
  restthumbs url animals/kitten.jpg 100x100 crop .jpg --secret-key "$KEY"
  restthumbs url photo.png 300x smart webp --base-url http://127.0.0.1:8000/
"""


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {value!r}: expected 0 to 65535")
    return port


def _add_secret_key(parser: argparse.ArgumentParser, when_missing: str) -> None:
    parser.add_argument(
        "--secret-key",
        metavar="KEY",
        help=f"the key URLs are signed with (default: the {SECRET_KEY_ENV} environment "
        f"variable; {when_missing})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restthumbs",
        description="Signed, on-demand thumbnails: a standalone server and a URL signer.",
    )
    parser.add_argument("--version", action="version", version=f"restthumbs {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run a standalone thumbnail server",
        description=SERVE_DESCRIPTION,
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--source-dir",
        metavar="DIR",
        help="the directory of source images (required unless --demo is given)",
    )
    serve.add_argument(
        "--thumbnail-dir",
        metavar="DIR",
        help="where thumbnails are stored (default: the sibling directory 'thumbnails' "
        "of the source directory, SOURCE_DIR/../thumbnails)",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="the port to listen on (default: %(default)s; 0 picks a free port)",
    )
    _add_secret_key(serve, "without either, a random key valid for this process only")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="also serve a demo page at / with generated sample images and a form that "
        "signs any input (local use only); without --source-dir everything lives in a "
        "temporary directory removed at exit",
    )
    serve.set_defaults(handler=serve_command)

    url = commands.add_parser(
        "url",
        help="print the signed URL of a thumbnail",
        description=URL_DESCRIPTION,
        epilog=URL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    url.add_argument(
        "path", metavar="PATH", help="the source image, relative to the source directory"
    )
    url.add_argument(
        "size", metavar="SIZE", help="WxH, Wx or xH, for example 100x100, 200x or x150"
    )
    url.add_argument("method", metavar="METHOD", help="crop, scale or smart")
    url.add_argument(
        "ext",
        metavar="EXT",
        help="the output format: .jpg, .png, .webp, .gif or .avif (the dot is optional)",
    )
    url.add_argument(
        "--base-url",
        default="/",
        metavar="URL",
        help="what the URL starts with, where the server is mounted (default: %(default)s; "
        "for example http://127.0.0.1:8000/)",
    )
    _add_secret_key(url, "one of the two is required")
    url.set_defaults(handler=url_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
        return int(args.handler(args))
    except CommandError as e:
        print(f"restthumbs {args.command}: error: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        return 130


# -- shared -------------------------------------------------------------------


def secret_key_from(args: argparse.Namespace) -> str:
    """The flag, else the environment; empty when neither is set."""
    if args.secret_key is not None:
        return str(args.secret_key)
    return os.environ.get(SECRET_KEY_ENV, "")


def configure(**options: Any) -> None:
    """Configure Django with the embedded settings and set it up.

    Done here, not at import: ``settings.configure()`` works once per process.
    """
    import django
    from django.conf import settings

    from .standalone.settings import build

    if settings.configured:
        raise CommandError(
            "Django settings are already configured in this process; inside a Django "
            "project use manage.py thumbnails_url and restthumbs.urls instead.",
            status=1,
        )
    settings.configure(**build(**options))
    django.setup()


# -- url ------------------------------------------------------------------------


def url_command(args: argparse.Namespace) -> int:
    key = secret_key_from(args)
    if not key:
        raise CommandError(
            f"no secret key: pass --secret-key KEY or set {SECRET_KEY_ENV} "
            "(the key of the server that will verify the URL)."
        )
    if not args.path:
        raise CommandError("PATH is empty: give the source image's path.")
    base_url = args.base_url if args.base_url.endswith("/") else args.base_url + "/"
    configure(secret_key=key, source_dir="", thumbnail_dir="", base_url=base_url)

    from .api import thumbnail_url
    from .exceptions import ThumbnailError

    try:
        print(thumbnail_url(args.path, args.size, args.method, args.ext))
    except ThumbnailError as e:
        raise CommandError(e.message) from e
    return 0


# -- serve ----------------------------------------------------------------------


def serve_command(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; both stop cleanly with status 0.

    The SIGTERM handler is in place before anything is created, so a stop at
    any moment (even right after the address is printed) still removes the
    demo's temporary directory.
    """
    if not args.source_dir and not args.demo:
        raise CommandError(
            "--source-dir is required: the directory of your images "
            "(or use --demo to try restthumbs on generated samples)."
        )
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    temporary = None
    try:
        if not args.source_dir:
            temporary = tempfile.mkdtemp(prefix="restthumbs-demo-")
        return _serve(args, temporary)
    except (KeyboardInterrupt, _Stop):
        print("Stopped.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def _directories(args: argparse.Namespace, temporary: str | None) -> tuple[str, str]:
    """The absolute source and thumbnail directories; the source must exist."""
    if temporary is not None:
        source = os.path.join(temporary, "media")
        os.mkdir(source)
    else:
        source = os.path.abspath(os.path.expanduser(args.source_dir))
        if not os.path.isdir(source):
            raise CommandError(f"--source-dir {args.source_dir!r} is not a directory.")
    if args.thumbnail_dir:
        thumbnails = os.path.abspath(os.path.expanduser(args.thumbnail_dir))
    else:
        thumbnails = os.path.normpath(os.path.join(source, os.pardir, "thumbnails"))
    real_source, real_thumbnails = os.path.realpath(source), os.path.realpath(thumbnails)
    if os.path.commonpath([real_source, real_thumbnails]) == real_source:
        raise CommandError(
            f"the thumbnail directory {thumbnails} is inside the source directory {source}: "
            "thumbnails would become sources of their own. Choose a sibling directory "
            "with --thumbnail-dir."
        )
    return source, thumbnails


def _demo_samples(source: str, temporary: str | None) -> list[dict[str, Any]]:
    """Write the samples: at the root of a temporary source, else in ``restthumbs-demo/``."""
    from .standalone.samples import DEMO_DIRNAME, write_samples

    directory = source if temporary is not None else os.path.join(source, DEMO_DIRNAME)
    try:
        return write_samples(directory, source)
    except OSError as e:
        raise CommandError(
            f"cannot write the demo samples into {directory}: {e.strerror or e}", status=1
        ) from e


def _serve(args: argparse.Namespace, temporary: str | None) -> int:
    source, thumbnails = _directories(args, temporary)
    samples = _demo_samples(source, temporary) if args.demo else None
    key = secret_key_from(args)
    if not key:
        key = secrets.token_urlsafe(48)
        print(
            f"restthumbs: no --secret-key and no {SECRET_KEY_ENV}: using a random key, so "
            "URLs signed now are valid for this process only.",
            file=sys.stderr,
        )
    configure(secret_key=key, source_dir=source, thumbnail_dir=thumbnails, demo_samples=samples)
    _run_checks()
    server = _bind(args.host, args.port)
    try:
        _print_banner(server, source, thumbnails, samples)
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _run_checks() -> None:
    """Refuse to start on a configuration the system checks call an error."""
    from django.core import checks

    errors = [message for message in checks.run_checks() if message.is_serious()]
    if errors:
        raise CommandError("\n".join(_describe_check(message) for message in errors), status=1)


def _describe_check(message: Any) -> str:
    text = f"{message.msg} ({message.id})"
    return f"{text}\n  hint: {message.hint}" if message.hint else text


def _bind(host: str, port: int) -> WSGIServer:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    try:
        server = ThreadedWSGIServer((host, port), WSGIRequestHandler, ipv6=":" in host)
    except OSError as e:
        raise CommandError(f"cannot listen on {host}:{port}: {e.strerror or e}", status=1) from e
    server.set_app(WSGIHandler())
    return server


def _origin(server: WSGIServer) -> str:
    host, port = server.server_address[:2]
    if isinstance(host, bytes):
        host = host.decode()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _print_banner(
    server: WSGIServer, source: str, thumbnails: str, samples: list[dict[str, Any]] | None
) -> None:
    origin = _origin(server)
    lines = [
        f"restthumbs {__version__} standalone server",
        f"Source directory:    {source}",
        f"Thumbnail directory: {thumbnails}",
    ]
    if samples is not None:
        lines.append(f"Demo page:           {origin}/")
    example = _example_url(source, samples)
    if example:
        lines.append(f"Example thumbnail:   {origin}{example}")
    else:
        lines.append("No image found in the source directory yet; sign URLs with 'restthumbs url'.")
    lines += [f"Listening on {origin}/", "Press Ctrl-C to stop."]
    # One write: a Ctrl-C right after start must not split a line.
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _example_url(source: str, samples: list[dict[str, Any]] | None) -> str:
    """The URL of a thumbnail of a demo sample, else of the first image found."""
    from .api import thumbnail_url
    from .exceptions import ThumbnailError

    candidates = [sample["path"] for sample in samples or []] or _images_under(source)
    for path in candidates:
        try:
            return thumbnail_url(path, *EXAMPLE_SPEC)
        except ThumbnailError:
            continue  # a name no URL can carry (a backslash, say): try the next
    return ""


def _images_under(source: str) -> Iterator[str]:
    """Image paths relative to ``source``, in sorted walk order, hidden entries skipped."""
    seen = 0
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            seen += 1
            if seen > EXAMPLE_SCAN_LIMIT:
                return
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                yield os.path.relpath(os.path.join(root, name), source).replace(os.sep, "/")
        seen += len(dirs)
