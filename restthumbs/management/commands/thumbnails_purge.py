"""``thumbnails_purge SOURCE_PATH``: delete every stored thumbnail of one source.

A thumbnail of ``S`` is stored as ``S/<size>/<method>/<secret>.<ext>``, so the
thumbnails of ``S`` are exactly the files three levels below ``S`` whose three
segments are a valid size, a valid method and 64 lowercase hex digits with a
valid extension. Anything else is left alone, which is what makes purging a
directory-like path safe: the thumbnails of ``dir/x.jpg`` sit four or more
levels below ``dir`` and never match, and ``a.jp`` is not a prefix match of
``a.jpg``. Only the Storage API (``listdir``, ``delete``) is used, so S3 works;
on a local storage the directories left empty are removed too (never the root).

The name matching lives here and is shared with ``thumbnails_warm``, which uses
it to never take a stored thumbnail for a source image.
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import Any

from django.core.files.storage import Storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from restthumbs.exceptions import InvalidSourcePath, InvalidSpec
from restthumbs.signing import SECRET_LENGTH
from restthumbs.spec import EXTENSIONS, METHODS, parse_size, validate_source_path
from restthumbs.storage import local_path, names_nothing, thumbnail_storage

from ..arguments import add_source_path

_FILENAME_RE = re.compile(rf"[0-9a-f]{{{SECRET_LENGTH}}}\.(?P<ext>[a-z]+)")


def is_size(segment: str) -> bool:
    """Whether ``segment`` is a canonical size (``100x100``, ``100x``, ``x100``)."""
    try:
        parse_size(segment)
    except InvalidSpec:
        return False
    return True


def is_thumbnail_tail(size: str, method: str, filename: str) -> bool:
    """Whether ``<size>/<method>/<filename>`` is spelled exactly as restthumbs stores it."""
    match = _FILENAME_RE.fullmatch(filename)  # not match + "$": that allows a final "\n"
    return match is not None and match["ext"] in EXTENSIONS and method in METHODS and is_size(size)


def is_thumbnail_name(name: str) -> bool:
    """Whether a storage name has the full shape ``<source>/<size>/<method>/<secret>.<ext>``."""
    parts = name.rsplit("/", 3)
    return len(parts) == 4 and bool(parts[0]) and is_thumbnail_tail(*parts[1:])


def _listdir(storage: Storage, name: str) -> tuple[list[str], list[str]]:
    """``storage.listdir`` that treats a missing directory (or a file) as empty."""
    try:
        directories, files = storage.listdir(name)
    except OSError as e:
        if names_nothing(e):  # missing, a file, or a name no filesystem can hold
            return [], []
        raise
    return sorted(directories), sorted(files)


def find_thumbnails(storage: Storage, source_path: str) -> tuple[list[str], list[str]]:
    """Return ``(names, directories)``: the thumbnails of ``source_path`` and the
    ``<size>/<method>`` directories that were searched for them."""
    names: list[str] = []
    searched: list[str] = []
    for size in _listdir(storage, source_path)[0]:
        if not is_size(size):
            continue
        for method in _listdir(storage, f"{source_path}/{size}")[0]:
            if method not in METHODS:
                continue
            directory = f"{source_path}/{size}/{method}"
            searched.append(directory)
            names.extend(
                f"{directory}/{filename}"
                for filename in _listdir(storage, directory)[1]
                if is_thumbnail_tail(size, method, filename)
            )
    return names, searched


def remove_empty_directories(storage: Storage, directories: list[str]) -> None:
    """On a local storage, remove ``directories`` and their ancestors once empty.

    The storage root is never a candidate (``dirname`` stops at ``""``). A
    directory that is not empty (another source's thumbnails, a temporary file
    of a render in progress) makes ``rmdir`` fail, and is kept.
    """
    if local_path(storage, "") is None:
        return
    candidates: set[str] = set()
    for directory in directories:
        while directory:
            candidates.add(directory)
            directory = posixpath.dirname(directory)
    for directory in sorted(candidates, key=lambda d: d.count("/"), reverse=True):
        try:
            os.rmdir(storage.path(directory))
        except OSError:
            pass


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override, unused-ignore]
        # A property, not a class attribute: translated when shown, and argparse
        # cannot format a lazy string.
        return _(
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
