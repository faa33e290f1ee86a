"""Arguments shared by the management commands, worded once."""

from __future__ import annotations

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _


def add_source_path(parser: CommandParser) -> None:
    parser.add_argument(
        "source_path",
        metavar="SOURCE_PATH",
        help=_(
            "Path of the source image, relative to the source storage (e.g. animals/kitten.jpg)."
        ),
    )


def add_spec(parser: CommandParser) -> None:
    """SIZE METHOD EXT, as in a thumbnail URL."""
    parser.add_argument(
        "size", metavar="SIZE", help=_("Thumbnail size: WxH, Wx or xH (e.g. 100x100).")
    )
    parser.add_argument("method", metavar="METHOD", help=_("Resize method: crop, scale or smart."))
    parser.add_argument(
        "ext",
        metavar="EXT",
        help=_("Output format: jpg, jpeg, png, webp, gif or avif (a leading dot is accepted)."),
    )
