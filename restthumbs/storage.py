"""Resolve the source and thumbnail storages, and write thumbnails atomically.

``THUMBNAILS_SOURCE_STORAGE_BACKEND`` and ``THUMBNAILS_STORAGE_BACKEND`` name
either a key of Django's ``STORAGES`` setting or a dotted class path. A class
path that is a :class:`~django.core.files.storage.FileSystemStorage` is rooted
at ``THUMBNAILS_SOURCE_ROOT`` / ``THUMBNAILS_STORAGE_ROOT``. Storages are
resolved per call (cheaply: instances are memoised by the settings they were
built from), so ``override_settings`` takes effect at once.
"""

from __future__ import annotations

import functools
import os
import tempfile
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.utils.module_loading import import_string

from .conf import app_settings


def _storages_setting() -> dict[str, Any]:
    return getattr(settings, "STORAGES", None) or {}


def resolve_storage(backend: str, root: str, setting_name: str) -> Storage:
    """Return the storage named by ``backend`` (a STORAGES alias or a class path)."""
    if backend in _storages_setting():
        from django.core.files.storage import storages

        return storages[backend]
    return _instantiate(backend, root, setting_name)


@functools.lru_cache(maxsize=32)
def _instantiate(backend: str, root: str, setting_name: str) -> Storage:
    try:
        storage_class = import_string(backend)
    except ImportError as e:
        raise ImproperlyConfigured(
            f"{setting_name}={backend!r} is neither a key of STORAGES nor an importable "
            f"storage class: {e}"
        ) from e
    if isinstance(storage_class, type) and issubclass(storage_class, FileSystemStorage):
        return storage_class(location=root)
    return storage_class()


def source_storage() -> Storage:
    return resolve_storage(
        app_settings.SOURCE_STORAGE_BACKEND,
        app_settings.SOURCE_ROOT,
        "THUMBNAILS_SOURCE_STORAGE_BACKEND",
    )


def thumbnail_storage() -> Storage:
    return resolve_storage(
        app_settings.STORAGE_BACKEND,
        app_settings.STORAGE_ROOT,
        "THUMBNAILS_STORAGE_BACKEND",
    )


def local_path(storage: Storage, name: str) -> str | None:
    """The filesystem path of ``name`` if ``storage`` is local, else ``None``."""
    try:
        return storage.path(name)
    except NotImplementedError:
        return None


def save_atomically(storage: Storage, name: str, data: bytes) -> None:
    """Store ``data`` under exactly ``name`` so no reader ever sees a partial file.

    On a local filesystem the bytes go to a temporary file in the target
    directory, which is then renamed over the final name (atomic on POSIX).
    Other storages (S3 and friends) publish an object only once its upload
    completes, so their own ``save`` is already atomic; it must keep ``name``.
    """
    path = local_path(storage, name)
    if path is None:
        saved = storage.save(name, ContentFile(data))
        if saved != name:
            storage.delete(saved)
            raise ImproperlyConfigured(
                f"The thumbnail storage renamed {name!r} to {saved!r}; configure it to "
                "overwrite files (for S3Storage: file_overwrite=True)."
            )
        return
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        mode = getattr(storage, "file_permissions_mode", None)
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
