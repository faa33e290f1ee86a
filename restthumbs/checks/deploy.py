"""Checks that the response backend can work as configured.

- ``W005``: under ``DEBUG``, a sendfile backend (nginx's ``X-Accel-Redirect``,
  Apache's ``X-Sendfile``): the development server ignores those headers, so
  every thumbnail answers an empty 200.
- ``E010``: the Apache backend with a thumbnail storage that has no local paths.
- ``W014`` (``check --deploy``): the redirect backend with a filesystem storage
  whose URLs (``MEDIA_URL`` by default) do not lead to the thumbnail root.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.files.storage import FileSystemStorage, Storage

from ..conf import app_settings

SENDFILE_BACKENDS = {
    "restthumbs.responses.nginx.sendfile": "X-Accel-Redirect",
    "restthumbs.responses.apache.sendfile": "X-Sendfile",
}


@register()
def check_sendfile_in_development(**kwargs: Any) -> list[CheckMessage]:
    header = SENDFILE_BACKENDS.get(app_settings.RESPONSE_BACKEND)
    if header is None or not app_settings.PROJECT_DEBUG:
        return []
    return [
        Warning(
            f"THUMBNAILS_RESPONSE_BACKEND answers with {header}, which only a server in "
            "front of Django (nginx, Apache) turns into the file: under runserver every "
            "thumbnail is an empty 200.",
            hint="In development, use 'restthumbs.responses.dummy.sendfile' (the default); "
            "keep the sendfile backend for production behind nginx (deploy/nginx.conf).",
            id="restthumbs.W005",
        )
    ]


@register()
def check_apache_storage(**kwargs: Any) -> list[CheckMessage]:
    if app_settings.RESPONSE_BACKEND != "restthumbs.responses.apache.sendfile":
        return []
    storage = _thumbnail_storage()
    if storage is None or _local_root(storage) is not None:
        return []
    return [
        Error(
            "restthumbs.responses.apache.sendfile sends a file by its path, but the "
            "thumbnail storage has no local paths: every thumbnail would be a 500.",
            hint="Use restthumbs.responses.redirect.sendfile for a remote storage (S3), "
            "or a FileSystemStorage for the thumbnails.",
            id="restthumbs.E010",
        )
    ]


@register(Tags.security, deploy=True)
def check_redirect_target(**kwargs: Any) -> list[CheckMessage]:
    if app_settings.RESPONSE_BACKEND != "restthumbs.responses.redirect.sendfile":
        return []
    storage = _thumbnail_storage()
    if not isinstance(storage, FileSystemStorage):
        return []
    root = os.path.realpath(storage.location)
    media_root = os.path.realpath(str(app_settings.raw("MEDIA_ROOT", "") or ""))
    if storage.base_url != app_settings.raw("MEDIA_URL") or not media_root:
        return []  # a base_url of its own: the operator serves it
    if root == media_root or root.startswith(media_root + os.sep):
        return []
    return [
        Warning(
            f"restthumbs.responses.redirect.sendfile redirects to the thumbnail storage's "
            f"URLs, {storage.base_url!r} + name, which serve MEDIA_ROOT; the thumbnails "
            f"are in {root}, outside it: every redirect leads to a 404.",
            hint="Give the thumbnail storage a base_url that serves its root (STORAGES "
            "OPTIONS), or use the nginx backend.",
            id="restthumbs.W014",
        )
    ]


def _thumbnail_storage() -> Storage | None:
    """The thumbnail storage, or ``None`` if it cannot be built (E002 says why)."""
    from ..storage import thumbnail_storage

    try:
        return thumbnail_storage()
    except Exception:
        return None


def _local_root(storage: Storage) -> str | None:
    from ..storage import local_path

    try:
        return local_path(storage, "")
    except Exception:
        return None
