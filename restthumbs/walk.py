"""Walking storages: the source images to warm, the stored thumbnails of a source.

Only the Storage API (``listdir``) is used, so S3 works as a disk does.

- :func:`walk_images` yields the source images below a directory: files with
  an image extension, hidden files and directories skipped (which also hides
  in-flight ``.tmp-*`` files), and nothing shaped like a stored thumbnail (a
  thumbnail storage nested in, or shared with, the source storage must not get
  thumbnails of thumbnails).
- :func:`find_thumbnails` lists the thumbnails of one source: the files three
  levels below it whose segments :func:`restthumbs.spec.is_thumbnail_tail`
  accepts. The thumbnails of ``dir/x.jpg`` sit four or more levels below
  ``dir`` and never match, and ``a.jp`` is not a prefix match of ``a.jpg``,
  which is what makes purging a directory-like path safe.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator

from django.core.files.storage import Storage

from .spec import METHODS, is_size, is_source_image_name, is_thumbnail_name, is_thumbnail_tail
from .storage import local_path, names_nothing


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _first_visit(storage: Storage, directory: str, seen: set[str]) -> bool:
    """``False`` for a local directory already walked (a symlink loop)."""
    path = local_path(storage, directory)
    if path is None:
        return True
    real = os.path.realpath(path)
    if real in seen:
        return False
    seen.add(real)
    return True


def walk_images(storage: Storage, top: str = "") -> Iterator[str]:
    """Yield the image names below ``top``, depth first, each directory sorted.

    Raises ``FileNotFoundError`` if ``top`` itself is missing (on storages that
    know directories); a subdirectory that vanishes during the walk is skipped.
    """
    seen: set[str] = set()
    _first_visit(storage, top, seen)
    directories, files = storage.listdir(top)
    stack = [(top, directories, files)]
    while stack:
        directory, directories, files = stack.pop()
        for name in sorted(files):
            path = _join(directory, name)
            if is_source_image_name(name) and not is_thumbnail_name(path):
                yield path
        # Pushed in reverse onto a LIFO stack, so they are walked in sorted order.
        for name in sorted(directories, reverse=True):
            sub = _join(directory, name)
            if name.startswith(".") or not _first_visit(storage, sub, seen):
                continue
            try:
                stack.append((sub, *storage.listdir(sub)))
            except (FileNotFoundError, NotADirectoryError):
                continue


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
