"""Several source storages side by side, chosen by the first segment of the source path.

``THUMBNAILS_SOURCES`` maps a first segment to a storage (a ``STORAGES`` alias
or a class path, built without arguments)::

    THUMBNAILS_SOURCES = {
        "remote": "restthumbs.remote.storage.RemoteImageStorage",
        "site": "restthumbs.remote.storage.WebsiteStorage",
        "partners": "partners",  # a STORAGES alias: an S3 bucket, say
    }

A source path ``remote/https/example.com/cat.jpg`` is then the name
``https/example.com/cat.jpg`` of the ``remote`` storage; any other path is the
default source storage's (``THUMBNAILS_SOURCE_STORAGE_BACKEND``), as before. A
directory of the default storage named like a mounted segment is hidden by it.

:class:`RoutingStorage` is a Django ``Storage``, so what lists or opens sources
(``ensure``, ``thumbnails_warm``, the demo) works unchanged, and
:class:`RoutingAdapter` hands each call to the routed storage's own adapter,
so an S3 default storage keeps its one-request reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.files.base import File
from django.core.files.storage import Storage

from .base import StorageAdapter, StoredFile

SOURCES_SETTING = "THUMBNAILS_SOURCES"


class RoutingStorage(Storage):
    """The default storage, with other storages mounted at first path segments."""

    def __init__(self, default: Storage, routes: Mapping[str, Storage]) -> None:
        self.default = default
        self.routes = dict(routes)

    def route(self, name: str) -> tuple[Storage, str]:
        """The storage of ``name`` and the name within it."""
        first, _, rest = name.partition("/")
        storage = self.routes.get(first)
        return (storage, rest) if storage is not None else (self.default, name)

    def _open(self, name: str, mode: str = "rb") -> File[Any]:
        storage, rest = self.route(name)
        return storage.open(rest, mode)

    def _save(self, name: str, content: Any) -> str:
        storage, rest = self.route(name)
        saved = storage.save(rest, content)
        return name if saved == rest else f"{name.partition('/')[0]}/{saved}"

    def exists(self, name: str) -> bool:
        storage, rest = self.route(name)
        return storage.exists(rest)

    def delete(self, name: str) -> None:
        storage, rest = self.route(name)
        storage.delete(rest)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        storage, rest = self.route(path)
        return storage.listdir(rest)

    def size(self, name: str) -> int:
        storage, rest = self.route(name)
        return storage.size(rest)

    def url(self, name: str | None) -> str:
        storage, rest = self.route(name or "")
        return storage.url(rest)

    def path(self, name: str) -> str:
        storage, rest = self.route(name)
        return storage.path(rest)

    def get_modified_time(self, name: str) -> datetime:
        storage, rest = self.route(name)
        return storage.get_modified_time(rest)


class RoutingAdapter(StorageAdapter):
    """Each call made with the routed storage's own adapter (S3: one request)."""

    storage: RoutingStorage

    def _routed(self, name: str) -> tuple[StorageAdapter, str]:
        from . import adapter

        storage, rest = self.storage.route(name)
        return adapter(storage), rest

    def exists(self, name: str) -> bool:
        routed, rest = self._routed(name)
        return routed.exists(rest)

    def local_path(self, name: str) -> str | None:
        routed, rest = self._routed(name)
        return routed.local_path(rest)

    def open_source(self, name: str, max_bytes: int) -> File[bytes]:
        routed, rest = self._routed(name)
        return routed.open_source(rest, max_bytes)

    def open_stored(self, name: str, content: bool) -> StoredFile:
        routed, rest = self._routed(name)
        return routed.open_stored(rest, content)

    def save(self, name: str, data: bytes, content_type: str) -> None:
        routed, rest = self._routed(name)
        routed.save(rest, data, content_type)


def with_sources(default: Storage, sources: Mapping[str, str]) -> Storage:
    """``default`` alone, or a :class:`RoutingStorage` of it and ``sources`` (built here)."""
    if not sources:
        return default
    routes = {segment: mounted_storage(segment, backend) for segment, backend in sources.items()}
    return RoutingStorage(default, routes)


def mounted_storage(segment: str, backend: str) -> Storage:
    """The storage ``backend`` names: a ``STORAGES`` alias, or a class built without arguments."""
    from django.core.files.storage import storages

    from .resolver import storage_class

    cls = storage_class(backend, f"{SOURCES_SETTING}[{segment!r}]")
    return storages[backend] if cls is None else cls()
