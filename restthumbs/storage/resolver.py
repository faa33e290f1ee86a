"""Which storages restthumbs reads sources from and writes thumbnails to.

``THUMBNAILS_SOURCE_STORAGE_BACKEND`` and ``THUMBNAILS_STORAGE_BACKEND`` each
name either a key of Django's ``STORAGES`` setting or a dotted class path. A
class path that is a :class:`~django.core.files.storage.FileSystemStorage` is
rooted at ``THUMBNAILS_SOURCE_ROOT`` / ``THUMBNAILS_STORAGE_ROOT``.

This is the one place that interprets those settings: the view, the commands
and the system checks all ask it. The two storages are built once per process
and again after ``setting_changed``, so ``override_settings`` takes effect at once.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, Storage
from django.utils.module_loading import import_string

from ..conf import app_settings
from .routing import with_sources

SOURCE_SETTING = "THUMBNAILS_SOURCE_STORAGE_BACKEND"
THUMBNAIL_SETTING = "THUMBNAILS_STORAGE_BACKEND"


def storage_class(backend: str, setting_name: str) -> type[Storage] | None:
    """The class ``backend`` names, or ``None`` if it is a key of ``STORAGES``.

    Raises ``ImproperlyConfigured`` (naming ``setting_name``) if it is neither.
    """
    if backend in app_settings.STORAGES:
        return None
    try:
        cls = import_string(backend)
    except ImportError as e:
        raise ImproperlyConfigured(
            f"{setting_name}={backend!r} is neither a key of STORAGES nor an importable "
            f"storage class: {e}{install_hint(e)}"
        ) from e
    return cls  # type: ignore[no-any-return]


#: Packages a storage class commonly needs, and what installs them.
INSTALL_HINTS = {
    "storages": 'pip install "restthumbs[s3]" (django-storages and boto3)',
    "boto3": 'pip install "restthumbs[s3]" (django-storages and boto3)',
    "botocore": 'pip install "restthumbs[s3]" (django-storages and boto3)',
}


def install_hint(error: ImportError) -> str:
    """``". Install it: ..."`` when ``error`` is a missing package we know, else ``""``."""
    missing = (getattr(error, "name", None) or "").partition(".")[0]
    hint = INSTALL_HINTS.get(missing)
    return f". Install it: {hint}" if hint else ""


def alias_backend(alias: str) -> str:
    """The ``BACKEND`` class path of the ``STORAGES`` alias ``alias``."""
    return str(app_settings.STORAGES[alias].get("BACKEND", ""))


def is_filesystem_class(backend: str, setting_name: str) -> bool:
    """Whether ``backend`` is a class path of a ``FileSystemStorage`` (rooted by restthumbs)."""
    cls = storage_class(backend, setting_name)
    return isinstance(cls, type) and issubclass(cls, FileSystemStorage)


def resolve_storage(backend: str, root: str, setting_name: str) -> Storage:
    """Return the storage named by ``backend`` (a ``STORAGES`` alias or a class path)."""
    cls = storage_class(backend, setting_name)
    if cls is None:
        from django.core.files.storage import storages

        return storages[backend]
    if isinstance(cls, type) and issubclass(cls, FileSystemStorage):
        return cls(location=root)
    return cls()


def source_storage() -> Storage:
    """The source storage; with ``THUMBNAILS_SOURCES``, a router over it and those (.routing)."""
    return app_settings.derived(
        "source_storage",
        lambda: with_sources(
            resolve_storage(
                app_settings.SOURCE_STORAGE_BACKEND, app_settings.SOURCE_ROOT, SOURCE_SETTING
            ),
            app_settings.SOURCES,
        ),
    )


def thumbnail_storage() -> Storage:
    return app_settings.derived(
        "thumbnail_storage",
        lambda: resolve_storage(
            app_settings.STORAGE_BACKEND, app_settings.STORAGE_ROOT, THUMBNAIL_SETTING
        ),
    )
