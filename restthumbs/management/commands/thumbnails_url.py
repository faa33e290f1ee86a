"""``thumbnails_url SOURCE_PATH SIZE METHOD EXT [--version V]``: print a thumbnail's signed URL.

Prints exactly what :func:`restthumbs.api.thumbnail_url` returns (the template
tag's URL, ``THUMBNAILS_PROXY_BASE_URL`` included), so scripts, nginx tests and
humans see the same URL a page would. Like the API it does no I/O: the source
need not exist.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from restthumbs.api import thumbnail_url
from restthumbs.exceptions import ThumbnailError

from ..arguments import VersionedCommand, add_source_path, add_spec, add_version


class Command(VersionedCommand):
    help_text = _lazy(
        "Print the signed URL of the thumbnail of SOURCE_PATH at SIZE, METHOD and EXT, "
        "as the thumbnail template tag builds it (THUMBNAILS_PROXY_BASE_URL included)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_source_path(parser)
        add_spec(parser)
        add_version(
            parser,
            _(
                "Sign this version into the URL (as the tag's version=...): a new version, a new URL."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            url = thumbnail_url(
                options["source_path"],
                options["size"],
                options["method"],
                options["ext"],
                version=options.get("version"),
            )
        except ThumbnailError as e:
            raise CommandError(e.message) from e
        if not url:  # an empty SOURCE_PATH: the API's empty URL is no answer on a command line
            raise CommandError(_("Empty source path."))
        self.stdout.write(url)
