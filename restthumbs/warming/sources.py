"""The sources to warm, streamed: constant memory whatever the size of the library.

:func:`stream_sources` yields the source images below a prefix, one name at a
time, in the order of their names (code point order, which is also S3's UTF-8
byte order), which is what makes a run resumable: ``after=NAME`` starts right
after a name a previous run finished.

- On S3 (django-storages' ``S3Storage``) it pages through ``ListObjectsV2``
  (1,000 keys a request, ``StartAfter`` to resume, no delimiter): one page of
  keys in memory at a time, ``LastModified`` for ``since`` at no extra request.
- On a local storage it walks with ``os.scandir``: one directory's entries in
  memory at a time (sorted, for the order), modification times from the entries,
  directories entirely before ``after`` never opened, symlink loops walked once.
- On any other storage (GCS, a routing storage of ``THUMBNAILS_SOURCES``) it
  walks ``listdir``, in the same order; ``since`` costs ``get_modified_time``.

Hidden files and directories (a leading ``.``, which also hides in-flight
``.tmp-*`` files) and anything shaped like a stored thumbnail are skipped, as
:func:`restthumbs.walk.walk_images` does. A missing ``prefix`` raises
``FileNotFoundError`` where the storage knows directories (S3 has none: an
unknown prefix lists nothing).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from django.core.files.storage import Storage

from ..spec import is_source_image_name, is_thumbnail_name
from ..storage import adapter, is_s3
from ..storage.local import LocalAdapter
from ..storage.routing import RoutingStorage


class Source(NamedTuple):
    """One source to warm, and the version its thumbnails' URLs carry (``None``: none).

    The version is the one a page passes to the tag (``version=photo.updated_at``),
    already in its URL spelling (:func:`restthumbs.versions.format_version`).
    """

    path: str
    version: str | None = None


#: Keys per ``ListObjectsV2`` request: S3's maximum.
PAGE_SIZE = 1000

#: An entry of a directory: its name, whether it is a directory, and its
#: modification time (POSIX), asked for only when ``since`` needs it.
Entry = tuple[str, bool, Callable[[], float]]


def stream_sources(
    storage: Storage,
    prefix: str = "",
    *,
    since: datetime | None = None,
    after: str = "",
) -> Iterator[str]:
    """Yield the names of the source images below ``prefix``, sorted, lazily.

    ``since``: only sources modified at or after it. ``after``: only names
    sorting after it (a previous run's last finished source).
    """
    threshold = since.timestamp() if since is not None else None
    if is_s3(storage):
        yield from _s3_sources(storage, prefix, threshold, after)
        return
    if not isinstance(storage, RoutingStorage) and isinstance(adapter(storage), LocalAdapter):
        lister: Callable[[str], Iterable[Entry]] = _scandir_lister(storage)
    else:
        lister = _listdir_lister(storage)
    yield from _walk(lister, prefix, threshold, after)


def _wanted(name: str, after: str) -> bool:
    return name > after and not is_thumbnail_name(name)


def _walk(
    lister: Callable[[str], Iterable[Entry]], top: str, threshold: float | None, after: str
) -> Iterator[str]:
    """Depth first, each directory's entries sorted with ``/`` after a directory's name,
    which yields full names in sorted order (``a.jpg`` < ``a/b.jpg`` < ``a0.jpg``)."""
    stack: list[tuple[str, Iterator[Entry]]] = [(top, _sorted(lister(top)))]  # missing: raises
    while stack:
        directory, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        base, is_dir, modified = entry
        name = f"{directory}/{base}" if directory else base
        if is_dir:
            if base.startswith(".") or _entirely_before(name, after):
                continue
            try:
                stack.append((name, _sorted(lister(name))))
            except (FileNotFoundError, NotADirectoryError):  # vanished during the walk
                pass
            continue
        if is_source_image_name(base) and _wanted(name, after):
            if threshold is None or modified() >= threshold:
                yield name


def _sorted(entries: Iterable[Entry]) -> Iterator[Entry]:
    return iter(sorted(entries, key=lambda e: e[0] + "/" if e[1] else e[0]))


def _entirely_before(directory: str, after: str) -> bool:
    """Whether every name below ``directory`` sorts at or before ``after``."""
    inside = directory + "/"
    return bool(after) and inside < after and not after.startswith(inside)


# -- listers: one directory's entries ---------------------------------------------


def _scandir_lister(storage: Storage) -> Callable[[str], list[Entry]]:
    """``os.scandir`` below the storage's root; a directory reached twice (a symlink
    loop, or two links to one directory) is listed the first time only."""
    seen: set[str] = set()

    def entries(directory: str) -> list[Entry]:
        path = storage.path(directory)
        real = os.path.realpath(path)
        if real in seen:
            return []
        with os.scandir(path) as it:
            found = [(e.name, _is_dir(e), _mtime_of(e)) for e in it]
        seen.add(real)
        return found

    return entries


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks, as listdir() does
    except OSError:
        return False


def _mtime_of(entry: os.DirEntry[str]) -> Callable[[], float]:
    return lambda: entry.stat().st_mtime


def _listdir_lister(storage: Storage) -> Callable[[str], list[Entry]]:
    def entries(directory: str) -> list[Entry]:
        directories, files = storage.listdir(directory)

        def mtime(name: str) -> Callable[[], float]:
            path = f"{directory}/{name}" if directory else name
            return lambda: storage.get_modified_time(path).timestamp()

        return [(d, True, _never) for d in directories] + [(f, False, mtime(f)) for f in files]

    return entries


def _never() -> float:
    return 0.0


# -- S3: ListObjectsV2, page by page ----------------------------------------------


def _s3_sources(storage: Any, prefix: str, threshold: float | None, after: str) -> Iterator[str]:
    s3 = adapter(storage)
    root = str(s3.key("")).strip("/") if hasattr(s3, "key") else ""  # the storage's location
    root = f"{root}/" if root else ""
    key_prefix = root + (f"{prefix}/" if prefix else "")
    client = storage.connection.meta.client
    params: dict[str, Any] = {"Bucket": storage.bucket_name, "Prefix": key_prefix}
    if after:
        params["StartAfter"] = root + after
    pages = client.get_paginator("list_objects_v2").paginate(
        **params, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    for page in pages:
        for item in page.get("Contents", ()):
            name = item["Key"][len(root) :]
            base = name.rpartition("/")[2]
            if any(part.startswith(".") for part in name.split("/")[:-1]):
                continue  # inside a hidden "directory"
            if not is_source_image_name(base) or not _wanted(name, after):
                continue
            if threshold is None or item["LastModified"].timestamp() >= threshold:
                yield name
