"""``thumbnails_purge SOURCE_PATH``: delete every stored thumbnail of one source.

Finding the thumbnails of a source is the job of :func:`restthumbs.walk.find_thumbnails`
(exactly the names restthumbs stores, never another source's); this command
deletes them through the Storage API, so S3 works, and on a local storage
removes the directories left empty (never the root).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from restthumbs.exceptions import InvalidSourcePath
from restthumbs.spec import validate_source_path
from restthumbs.storage import thumbnail_storage
from restthumbs.walk import find_thumbnails, remove_empty_directories

from ..arguments import TranslatedCommand, add_source_path


class Command(TranslatedCommand):
    help_text = _lazy(
        "Delete every stored thumbnail of SOURCE_PATH (all sizes, methods and formats). "
        "Thumbnails of other sources, including those stored below SOURCE_PATH when it "
        "is a directory, are never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_source_path(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("List the thumbnails that would be deleted, and delete nothing."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            source_path = validate_source_path(options["source_path"])
        except InvalidSourcePath as e:
            raise CommandError(e.message) from e
        storage = thumbnail_storage()
        names, searched = find_thumbnails(storage, source_path)
        verbosity = int(options["verbosity"])
        if options["dry_run"]:
            self._report_dry_run(names, source_path, verbosity)
            return
        for name in names:
            storage.delete(name)
            if verbosity >= 2:
                self.stdout.write(_("Deleted %(name)s") % {"name": name})
        remove_empty_directories(storage, searched)
        message = ngettext(
            "Deleted %(count)d thumbnail of %(path)s.",
            "Deleted %(count)d thumbnails of %(path)s.",
            len(names),
        ) % {"count": len(names), "path": source_path}
        self.stdout.write(message, self.style.SUCCESS)

    def _report_dry_run(self, names: list[str], source_path: str, verbosity: int) -> None:
        if verbosity >= 1:
            for name in names:
                self.stdout.write(_("Would delete %(name)s") % {"name": name})
        message = ngettext(
            "Would delete %(count)d thumbnail of %(path)s.",
            "Would delete %(count)d thumbnails of %(path)s.",
            len(names),
        ) % {"count": len(names), "path": source_path}
        self.stdout.write(message)
