"""Select stored thumbnails and delete them in batches: by source, prefix, version, orphans.

What is selected is only ever spelled as restthumbs stores a thumbnail
(:func:`restthumbs.spec.is_thumbnail_name`); anything else in the thumbnail
storage (a ``.gitignore``, a render in progress, a stray file) is never touched.

- A source (``Selection(source_path=...)``): the thumbnails of exactly that source,
  found with :func:`restthumbs.walk.find_thumbnails` (a few listings, never the
  sources stored below a directory-like path).
- A prefix (``Selection(prefix="animals")``): the thumbnails of every source below
  that directory (``""``: every source), from one listing of the storage below it
  (on S3, one ``ListObjectsV2`` per 1,000 names).
- Then filters, all of which must hold: ``version`` (only that version),
  ``keep_version`` (every other version, unversioned thumbnails included) and
  ``orphans`` (only thumbnails whose source the source storage no longer has;
  a source storage that cannot be asked stops the purge: nothing is deleted on a guess).

Deletion goes by batches of :data:`BATCH` names: one ``DeleteObjects`` on S3; on a
local storage each file, then the directories left empty (never the root). After
each batch the shared cache forgets the thumbnails of those sources
(:func:`restthumbs.stored.forget_sources`), so no hit is answered from a stale memory.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.core.files.storage import Storage

from ..exceptions import ThumbnailError
from ..spec import is_thumbnail_name, source_of, stored_version, validate_source_path
from ..storage import delete_many, is_stored, list_files, source_storage, thumbnail_storage
from ..stored import forget_sources
from ..walk import find_thumbnails, remove_empty_directories

#: Names deleted per request (S3's ``DeleteObjects`` takes 1,000 keys at most).
BATCH = 1000
#: Sources whose existence is remembered while looking for orphans (listings are
#: sorted, so the thumbnails of one source come together).
SOURCES_REMEMBERED = 1024


@dataclass(frozen=True)
class Selection:
    """Which thumbnails to delete: a scope (``source_path`` or ``prefix``) and filters."""

    source_path: str | None = None
    prefix: str | None = None
    version: str | None = None
    keep_version: str | None = None
    orphans: bool = False


@dataclass
class Outcome:
    """What a purge found and deleted (or, in a dry run, would delete), and what it kept."""

    found: int = 0
    deleted: int = 0
    sources: set[str] = field(default_factory=set)
    kept_by_version: int = 0
    sources_present: int = 0
    forgotten: bool = True  # whether the shared cache was told, after every batch


def purge(
    selection: Selection,
    *,
    dry_run: bool = False,
    on_delete: Callable[[str], None] | None = None,
) -> Outcome:
    """Delete the thumbnails ``selection`` names; ``on_delete(name)`` after each batch."""
    storage = thumbnail_storage()
    outcome = Outcome()
    keep = _filter(selection, outcome)
    batch: list[str] = []

    def flush() -> None:
        if not dry_run:
            delete_many(storage, batch)
            remove_empty_directories(storage, sorted({posixpath.dirname(n) for n in batch}))
            outcome.forgotten &= forget_sources(source_of(name) for name in batch)
        for name in batch:
            if on_delete is not None:
                on_delete(name)
        batch.clear()

    for name in _scope(storage, selection):
        outcome.found += 1
        if not keep(name):
            continue
        batch.append(name)
        outcome.deleted += 1
        outcome.sources.add(source_of(name))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    if selection.source_path is not None and not dry_run:
        # Also what was remembered of files deleted behind restthumbs' back.
        outcome.forgotten &= forget_sources([selection.source_path])
    return outcome


def purge_source(source_path: str) -> int:
    """Delete every thumbnail of ``source_path``; the number deleted (0 for a path that
    cannot be a source)."""
    try:
        path = validate_source_path(source_path)
    except ThumbnailError:
        return 0
    return purge(Selection(source_path=path)).deleted


def _scope(storage: Storage, selection: Selection) -> Iterator[str]:
    if selection.source_path is not None:
        yield from find_thumbnails(storage, selection.source_path)[0]
        return
    prefix = selection.prefix or ""
    below = f"{prefix}/" if prefix else ""
    for name in list_files(storage, prefix):
        if is_thumbnail_name(name) and source_of(name).startswith(below):
            yield name


def _filter(selection: Selection, outcome: Outcome) -> Callable[[str], bool]:
    """Whether a name in scope is deleted; counts what each filter keeps."""
    exists = functools.lru_cache(maxsize=SOURCES_REMEMBERED)(
        lambda path: is_stored(source_storage(), path)
    )

    def keep(name: str) -> bool:
        version = stored_version(posixpath.basename(name))
        if selection.version is not None and version != selection.version:
            outcome.kept_by_version += 1
            return False
        if selection.keep_version is not None and version == selection.keep_version:
            outcome.kept_by_version += 1
            return False
        if selection.orphans and exists(source_of(name)):
            outcome.sources_present += 1
            return False
        return True

    return keep
