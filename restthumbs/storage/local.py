"""Storages with local paths (``FileSystemStorage`` and its subclasses).

A thumbnail is written to a temporary file in its target directory and renamed
over the final name, which is atomic on POSIX. A stored thumbnail is stat'ed
and opened at once (``open`` + ``fstat``). A root restthumbs creates gets a
``.gitignore``, so thumbnails are never committed by accident.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

from django.core.files.storage import FileSystemStorage

from .base import StorageAdapter, StoredFile

#: Written into a thumbnail root restthumbs creates. The default root,
#: MEDIA_ROOT/../thumbnails, is often inside a project's repository, beside
#: manage.py: thumbnails are generated files, never to be committed.
GITIGNORE = "# Created by restthumbs: thumbnails are generated, never committed.\n*\n"


def create_root(location: str) -> None:
    """Create the thumbnail root, with a ``.gitignore`` that ignores everything in it."""
    os.makedirs(location, exist_ok=True)
    try:
        with open(os.path.join(location, ".gitignore"), "x") as f:
            f.write(GITIGNORE)
    except FileExistsError:
        pass  # another worker created the root at the same moment


class LocalAdapter(StorageAdapter):
    def exists(self, name: str) -> bool:
        """One ``lstat`` for a plain ``FileSystemStorage``; its own ``exists()`` otherwise.

        The hit path's existence check. ``FileSystemStorage.path()`` runs
        ``safe_join`` (about half the cost of a hit's check); it is skipped
        only for names of validated specs, which are relative with no empty,
        ``.`` or ``..`` segment (:func:`restthumbs.spec.validate_source_path`),
        so the join cannot leave the root. Subclasses keep their own ``exists()``.
        """
        storage = self.storage
        if type(storage) is FileSystemStorage:
            return os.path.lexists(os.path.join(storage.location, name))
        return storage.exists(name)

    def local_path(self, name: str) -> str:
        return self.storage.path(name)

    def list_files(self, directory: str) -> Iterator[str]:
        """``os.walk`` below ``directory``, sorted, symlinked directories not followed."""
        root = self.storage.path("")
        for top, directories, files in os.walk(self.storage.path(directory)):
            directories.sort()
            relative = os.path.relpath(top, root).replace(os.sep, "/")
            base = "" if relative == "." else relative
            yield from (f"{base}/{name}" if base else name for name in sorted(files))

    def open_stored(self, name: str, content: bool) -> StoredFile:
        path = self.storage.path(name)
        if not content:
            st = os.stat(path)
            return StoredFile(st.st_size, st.st_mtime)
        f = open(path, "rb")  # closed by the response
        try:
            st = os.fstat(f.fileno())
        except BaseException:
            f.close()
            raise
        return StoredFile(st.st_size, st.st_mtime, f)

    def save(self, name: str, data: bytes, content_type: str) -> None:
        path = self.storage.path(name)
        directory = os.path.dirname(path)
        root = self.storage.path("")
        if not os.path.isdir(root):
            create_root(root)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            mode = getattr(self.storage, "file_permissions_mode", None)
            os.chmod(tmp, mode if mode is not None else 0o644)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
