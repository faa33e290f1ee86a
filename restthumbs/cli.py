"""The ``restthumbs`` command (also ``python -m restthumbs``): no Django project needed.

- ``restthumbs serve --source-dir DIR``: a thumbnail server on an embedded
  configuration (:mod:`restthumbs.standalone.server`); ``--demo`` adds a demo
  page at ``/`` with generated samples.
- ``restthumbs url PATH SIZE METHOD EXT``: print a signed URL (here).

This module is the argument parser and the dispatch.

Django is configured inside the command, never at import, so importing this
module is harmless in a process that has its own settings. Usage errors exit
with status 2 and a one-line message, runtime failures with status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .standalone.configure import SECRET_KEY_ENV, CommandError, configure, secret_key_from
from .standalone.server import serve_command

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
    url.add_argument(
        "--version",
        metavar="V",
        default=None,
        help="sign this version into the URL (a new source, a new URL)",
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
        print(thumbnail_url(args.path, args.size, args.method, args.ext, version=args.version))
    except ThumbnailError as e:
        raise CommandError(e.message) from e
    return 0
