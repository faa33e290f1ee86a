"""``thumbnails_purge``: delete stored thumbnails by source, prefix, version, or orphans.

- ``thumbnails_purge SOURCE_PATH``: every thumbnail of one source (all sizes,
  methods, formats and versions);
- ``--prefix DIR``: the thumbnails of every source below DIR;
- ``--version V`` / ``--keep-version V``: only version V / every version but V
  (unversioned thumbnails included), of SOURCE_PATH, below DIR, or everywhere;
- ``--orphans``: only thumbnails whose source no longer exists.

Selecting and deleting is :mod:`restthumbs.invalidation.purge` (batches of 1,000:
one ``DeleteObjects`` on S3; the shared cache forgets what it remembered); this
command checks the arguments and reports what was removed, or why nothing was.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from restthumbs.exceptions import StorageUnavailable, ThumbnailError
from restthumbs.invalidation.purge import Outcome, Selection, purge
from restthumbs.spec import validate_source_path, validate_version

from ..arguments import VersionedCommand, add_version


class Command(VersionedCommand):
    help_text = _lazy(
        "Delete stored thumbnails: every thumbnail of SOURCE_PATH (all sizes, methods, "
        "formats and versions), or of every source below --prefix DIR; optionally only "
        "one --version, every version but --keep-version, or only --orphans (thumbnails "
        "whose source no longer exists), there or in the whole thumbnail storage. "
        "Thumbnails of other sources, including those stored below SOURCE_PATH when it is "
        "a directory, are never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "source_path",
            metavar="SOURCE_PATH",
            nargs="?",
            help=_(
                "Path of the source image, relative to the source storage "
                "(e.g. animals/kitten.jpg): delete its thumbnails."
            ),
        )
        parser.add_argument(
            "--prefix",
            metavar="DIR",
            help=_("Delete the thumbnails of every source below this directory instead."),
        )
        add_version(parser, _("Only the thumbnails of this version (as in their URLs: .vV.)."))
        parser.add_argument(
            "--keep-version",
            metavar="V",
            help=_("Every version but this one, unversioned thumbnails included."),
        )
        parser.add_argument(
            "--orphans",
            action="store_true",
            help=_("Only thumbnails whose source no longer exists in the source storage."),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("List the thumbnails that would be deleted, and delete nothing."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        selection = self._selection(options)
        verbosity = int(options["verbosity"])
        dry_run = bool(options["dry_run"])
        word = _("Would delete %(name)s") if dry_run else _("Deleted %(name)s")
        shown = verbosity >= (1 if dry_run else 2)

        def report(name: str) -> None:
            if shown:
                self.stdout.write(word % {"name": name})

        try:
            outcome = purge(selection, dry_run=dry_run, on_delete=report)
        except (StorageUnavailable, OSError) as e:
            detail = e.log_message if isinstance(e, StorageUnavailable) else str(e)
            raise CommandError(_("The purge stopped: %(error)s") % {"error": detail}) from e
        self._summarize(selection, outcome, dry_run)

    def _selection(self, options: dict[str, Any]) -> Selection:
        source_path, prefix = options["source_path"], options.get("prefix")
        version, keep_version = options.get("version"), options.get("keep_version")
        if source_path is not None and prefix is not None:
            raise CommandError(_("Give SOURCE_PATH or --prefix DIR, not both."))
        if version is not None and keep_version is not None:
            raise CommandError(_("Give --version or --keep-version, not both."))
        filtered = version is not None or keep_version is not None or options["orphans"]
        if source_path is None and prefix is None and not filtered:
            raise CommandError(
                _("Give SOURCE_PATH, --prefix DIR, --orphans, --version V or --keep-version V.")
            )
        try:
            if source_path is not None:
                source_path = validate_source_path(source_path)
            if prefix is not None:
                prefix = validate_source_path(prefix.removesuffix("/") or prefix)
            for value in (version, keep_version):
                if value is not None:
                    validate_version(value)
        except ThumbnailError as e:
            raise CommandError(e.message) from e
        return Selection(source_path, prefix, version, keep_version, bool(options["orphans"]))

    def _summarize(self, selection: Selection, outcome: Outcome, dry_run: bool) -> None:
        values = {"count": outcome.deleted, "scope": _scope(selection) + _filters(selection)}
        if dry_run:
            message = ngettext(
                "Would delete %(count)d thumbnail %(scope)s.",
                "Would delete %(count)d thumbnails %(scope)s.",
                outcome.deleted,
            )
        else:
            message = ngettext(
                "Deleted %(count)d thumbnail %(scope)s.",
                "Deleted %(count)d thumbnails %(scope)s.",
                outcome.deleted,
            )
        style = None if dry_run else self.style.SUCCESS
        self.stdout.write(message % values, style)
        if not outcome.deleted:
            self.stdout.write(_why_nothing(selection, outcome))
        if not outcome.forgotten:
            self.stderr.write(
                _(
                    "The shared cache (THUMBNAILS_CACHE) could not be told: it may answer "
                    "these thumbnails as stored for up to THUMBNAILS_STORED_CACHE_TIMEOUT seconds."
                ),
                self.style.WARNING,
            )


def _scope(selection: Selection) -> str:
    if selection.source_path is not None:
        return _("of %(path)s") % {"path": selection.source_path}
    if selection.prefix:
        return _("of the sources below %(prefix)s/") % {"prefix": selection.prefix}
    return _("in the thumbnail storage")


def _filters(selection: Selection) -> str:
    parts = []
    if selection.version is not None:
        parts.append(_("version %(version)s") % {"version": selection.version})
    if selection.keep_version is not None:
        parts.append(_("every version but %(version)s") % {"version": selection.keep_version})
    if selection.orphans:
        parts.append(_("orphans"))
    return f" ({', '.join(parts)})" if parts else ""


def _why_nothing(selection: Selection, outcome: Outcome) -> str:
    """Why a purge deleted nothing: nothing stored there, or what each filter kept."""
    if not outcome.found:
        if selection.source_path is not None:
            return _("No thumbnail of %(path)s is stored.") % {"path": selection.source_path}
        if selection.prefix:
            return _("No thumbnail of a source below %(prefix)s/ is stored.") % {
                "prefix": selection.prefix
            }
        return _("The thumbnail storage holds no thumbnail.")
    reasons = []
    if outcome.kept_by_version:
        if selection.version is not None:
            text = _("%(count)d of another version than %(version)s")
        else:
            text = _("%(count)d of version %(version)s, kept")
        version = selection.version or selection.keep_version
        reasons.append(text % {"count": outcome.kept_by_version, "version": version})
    if outcome.sources_present:
        reasons.append(
            _("%(count)d whose source still exists (not orphans)")
            % {"count": outcome.sources_present}
        )
    found = ngettext(
        "Found %(count)d thumbnail %(scope)s",
        "Found %(count)d thumbnails %(scope)s",
        outcome.found,
    ) % {"count": outcome.found, "scope": _scope(selection)}
    return f"{found}: {'; '.join(reasons)}."
