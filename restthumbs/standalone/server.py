"""``restthumbs serve``: a thumbnail server on the embedded configuration.

Filesystem storages, a local lock, the streaming response, Django's threaded
development WSGI server; with ``--demo``, a demo page at ``/`` with generated
samples. Stopped cleanly by Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..spec import is_source_image_name
from .configure import SECRET_KEY_ENV, CommandError, configure, secret_key_from

if TYPE_CHECKING:
    from django.core.servers.basehttp import WSGIServer

#: The example printed at start; small enough to open in any browser.
EXAMPLE_SPEC = ("200x200", "crop", ".jpg")

#: At most this many directory entries are looked at for the example (a huge
#: source tree must not delay the start).
EXAMPLE_SCAN_LIMIT = 5000


class _Stop(BaseException):
    """Raised by the SIGTERM handler to stop the server like Ctrl-C does.

    A ``BaseException``, like ``KeyboardInterrupt``: socketserver catches and
    logs every ``Exception`` raised while it hands a request to a thread, and
    a SIGTERM arriving at that moment must still stop the server.
    """


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
    from .samples import DEMO_DIRNAME, write_samples

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
    from ..api import thumbnail_url
    from ..exceptions import ThumbnailError

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
            if is_source_image_name(name):
                yield os.path.relpath(os.path.join(root, name), source).replace(os.sep, "/")
        seen += len(dirs)
