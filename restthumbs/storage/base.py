"""How restthumbs reads and writes a storage: the generic Django Storage API.

:class:`StorageAdapter` is what the rest of restthumbs calls; this base class
works on any Django storage (GCS, Azure, a custom backend) with the plain
Storage API. Subclasses do the same jobs with fewer requests where a storage
allows it: :mod:`.local` for storages with local paths, :mod:`.s3` for
django-storages' S3Storage. Each adapter maps its storage's own failures at its
edge (a missing S3 key is ``FileNotFoundError``), so no caller asks which
storage it has.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage

from ..exceptions import SourceTooLarge


@dataclass
class StoredFile:
    """A stored thumbnail's size, modification time (POSIX) and, if asked, its content."""

    size: int
    modified: float
    file: IO[bytes] | None = None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def names_nothing(error: OSError) -> bool:
    """Whether ``error`` means no file can be stored under that name, rather than a fault.

    Missing, a file where a directory should be, or a name the filesystem
    cannot even hold (a segment over 255 bytes: ``ENAMETOOLONG``).
    """
    return isinstance(error, (FileNotFoundError, NotADirectoryError)) or (
        error.errno == errno.ENAMETOOLONG
    )


def check_source_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise SourceTooLarge(f"The source image is {size} bytes, over the limit of {max_bytes}.")


class StorageAdapter:
    """Existence, reads and atomic writes on ``storage`` through the Storage API."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def exists(self, name: str) -> bool:
        return self.storage.exists(name)

    def local_path(self, name: str) -> str | None:
        """The filesystem path of ``name``; ``None``: this storage has none."""
        return None

    def open_source(self, name: str, max_bytes: int) -> File[bytes]:
        """Open the source image ``name`` for reading, refusing one over ``max_bytes``.

        Raises ``FileNotFoundError`` (or another ``OSError``) for a missing source.
        """
        source: File[bytes] = self.storage.open(name, "rb")
        size = _size_of(source)
        if size is not None:
            try:
                check_source_size(size, max_bytes)
            except SourceTooLarge:
                source.close()
                raise
        return source

    def open_stored(self, name: str, content: bool) -> StoredFile:
        """Stat (and with ``content``, open) the stored thumbnail ``name`` at once."""
        # Without USE_TZ, storages return naive local times, which timestamp() reads as such.
        modified = self.storage.get_modified_time(name).timestamp()
        size = self.storage.size(name)
        return StoredFile(size, modified, self.storage.open(name, "rb") if content else None)

    def save(self, name: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under exactly ``name``; no reader may see a partial file.

        Remote storages publish an object only once its upload completes, so
        their own ``save`` is atomic; it must keep ``name``.
        """
        content = ContentFile(data)
        content.content_type = content_type  # type: ignore[attr-defined]  # read by GCS, Azure
        saved = self.storage.save(name, content)
        if saved != name:
            self.storage.delete(saved)
            raise ImproperlyConfigured(
                f"The thumbnail storage renamed {name!r} to {saved!r}; configure it to "
                "overwrite files (for S3Storage: file_overwrite=True)."
            )

    def list_files(self, directory: str) -> Iterator[str]:
        """Every file name below ``directory`` (``""``: the whole storage), recursively,
        each directory's files first, then its subdirectories in name order; a missing
        directory lists nothing. Through ``listdir``, one directory at a time."""
        stack = [directory]
        while stack:
            current = stack.pop()
            try:
                directories, files = self.storage.listdir(current)
            except OSError as e:
                if names_nothing(e):
                    continue
                raise
            yield from (join_name(current, name) for name in sorted(files))
            stack.extend(join_name(current, name) for name in sorted(directories, reverse=True))

    def delete_many(self, names: Sequence[str]) -> None:
        """Delete ``names`` (a missing one is no error); the Storage API's ``delete`` each."""
        for name in names:
            self.storage.delete(name)

    def url_expiry(self) -> int | None:
        """Seconds a URL from ``storage.url()`` stays valid; ``None`` if it never expires.

        Storages that sign their URLs (django-storages' ``querystring_auth``,
        valid ``querystring_expire`` seconds) give expiring URLs. A
        ``custom_domain`` without a CloudFront key gives plain, permanent URLs
        even with ``querystring_auth``.
        """
        storage = self.storage
        if not getattr(storage, "querystring_auth", False):
            return None
        expire = getattr(storage, "querystring_expire", None)
        if expire is None:
            return None
        if getattr(storage, "custom_domain", None) and not getattr(
            storage, "cloudfront_signer", None
        ):
            return None
        return int(expire)


def join_name(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _size_of(fp: object) -> int | None:
    try:
        return int(fp.size)  # type: ignore[attr-defined]
    except Exception:
        return None
