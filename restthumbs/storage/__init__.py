"""Storages: which ones (:mod:`.resolver`) and how to read and write them (adapters).

The functions here are what the rest of restthumbs calls, with a Django
``Storage`` and a name. Each picks the storage's adapter once (by its type)
and delegates: :class:`.base.StorageAdapter` (the plain Storage API, any
backend), :class:`.local.LocalAdapter` (local paths: one ``lstat``, atomic
rename) and :class:`.s3.S3Adapter` (one S3 request per operation). A new
storage with a faster path than its Storage API gets an adapter module beside
these and one line in :func:`_choose`.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator, Sequence

from django.core.files.base import File
from django.core.files.storage import InMemoryStorage, Storage

from .base import StorageAdapter, StoredFile, names_nothing
from .local import LocalAdapter
from .resolver import resolve_storage, source_storage, storage_class, thumbnail_storage
from .routing import RoutingAdapter, RoutingStorage
from .s3 import S3Adapter, is_s3

__all__ = [
    "StorageAdapter",
    "StoredFile",
    "adapter",
    "delete_many",
    "is_s3",
    "is_stored",
    "list_files",
    "local_path",
    "names_nothing",
    "open_source",
    "open_stored",
    "resolve_storage",
    "save_atomically",
    "source_storage",
    "storage_class",
    "thumbnail_storage",
    "url_expiry",
]

#: The adapter class of each storage class, decided once per class. An adapter is
#: a small object made per call: holding adapters per storage instance would keep
#: every storage of past settings alive (the adapter refers to its storage).
_adapter_classes: dict[type[Storage], type[StorageAdapter]] = {}


def adapter(storage: Storage) -> StorageAdapter:
    """The adapter of ``storage``: its class chosen once per storage class."""
    cls = _adapter_classes.get(type(storage))
    if cls is None:
        cls = _adapter_classes[type(storage)] = _choose(storage)
    return cls(storage)


def _choose(storage: Storage) -> type[StorageAdapter]:
    if isinstance(storage, RoutingStorage):
        return RoutingAdapter
    if is_s3(storage):
        return S3Adapter
    if isinstance(storage, InMemoryStorage):
        return StorageAdapter  # it implements path(), but nothing is ever written there
    try:
        storage.path("")
    except NotImplementedError:
        return StorageAdapter
    return LocalAdapter


def is_stored(storage: Storage, name: str) -> bool:
    """``storage.exists(name)`` in one ``lstat`` or one ``HeadObject`` where possible."""
    return adapter(storage).exists(name)


def local_path(storage: Storage, name: str) -> str | None:
    """The filesystem path of ``name`` if ``storage`` is local, else ``None``."""
    return adapter(storage).local_path(name)


def open_source(storage: Storage, name: str, max_bytes: int) -> File[bytes]:
    """Open the source image ``name``, refusing one over ``max_bytes`` before reading it.

    Raises ``FileNotFoundError`` (or another ``OSError``) for a missing source.
    """
    return adapter(storage).open_source(name, max_bytes)


def open_stored(storage: Storage, name: str, *, content: bool = True) -> StoredFile:
    """Stat (and with ``content``, open) the stored thumbnail ``name`` in one read."""
    return adapter(storage).open_stored(name, content)


def save_atomically(
    storage: Storage, name: str, data: bytes, content_type: str | None = None
) -> None:
    """Store ``data`` under exactly ``name`` so no reader ever sees a partial file."""
    content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    adapter(storage).save(name, data, content_type)


def list_files(storage: Storage, directory: str = "") -> Iterator[str]:
    """Every file name below ``directory`` of ``storage``, lazily (on S3: 1,000 a request)."""
    return adapter(storage).list_files(directory)


def delete_many(storage: Storage, names: Sequence[str]) -> None:
    """Delete ``names`` from ``storage`` (on S3: one ``DeleteObjects`` per 1,000)."""
    adapter(storage).delete_many(names)


def url_expiry(storage: Storage) -> int | None:
    """Seconds a URL from ``storage.url()`` stays valid; ``None`` if it never expires."""
    return adapter(storage).url_expiry()
