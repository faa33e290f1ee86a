"""What the management commands share: their base class and arguments, worded once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.functional import Promise
from django.utils.translation import gettext as _


class TranslatedCommand(BaseCommand):
    """A command whose ``help_text`` (a lazy translation) is translated when shown.

    ``help`` is a property, not a class attribute: argparse cannot format a
    lazy string, and a string translated at import would ignore the language.
    """

    help_text: str | Promise = ""

    @property
    def help(self) -> str:  # type: ignore[override, unused-ignore]
        return str(self.help_text)


def add_source_path(parser: CommandParser) -> None:
    parser.add_argument(
        "source_path",
        metavar="SOURCE_PATH",
        help=_(
            "Path of the source image, relative to the source storage (e.g. animals/kitten.jpg)."
        ),
    )


def add_spec(parser: CommandParser, preset: bool = False) -> None:
    """SIZE METHOD EXT, as in a thumbnail URL; with ``preset``, a preset name alone will do."""
    size_help = _("Thumbnail size: WxH, Wx or xH (e.g. 100x100).")
    if preset:
        size_help = _(
            "Thumbnail size: WxH, Wx or xH (e.g. 100x100), or the name of a preset of "
            "THUMBNAILS_PRESETS given alone (its method and format apply)."
        )
    nargs = "?" if preset else None
    parser.add_argument("size", metavar="SIZE", help=size_help)
    parser.add_argument(
        "method", metavar="METHOD", help=_("Resize method: crop, scale or smart."), nargs=nargs
    )
    parser.add_argument(
        "ext",
        metavar="EXT",
        help=_("Output format: jpg, jpeg, png, webp, gif or avif (a leading dot is accepted)."),
        nargs=nargs,
    )


class VersionedCommand(TranslatedCommand):
    """A command with :func:`add_version`'s ``--version V``, which takes the place of
    Django's own ``--version`` (that prints Django's version) instead of conflicting."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)


def add_version(parser: CommandParser, help_text: str) -> None:
    """``--version V``: the version of thumbnail URLs (``photo.updated_at``, a hash...),
    in a :class:`VersionedCommand`."""
    parser.add_argument("--version", metavar="V", default=None, help=help_text)
