"""Response backends: each module's ``sendfile`` turns a stored thumbnail into a response.

The signature is ``sendfile(request, storage, name, content_type) -> HttpResponseBase``
(an ``HttpResponse``, or a streaming ``FileResponse``).
The view adds ``Cache-Control: public, max-age=THUMBNAILS_CACHE_MAX_AGE``
unless the backend set ``Cache-Control`` itself (the redirect backend does, for
an expiring URL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..conf import app_settings

if TYPE_CHECKING:
    from django.core.files.storage import Storage
    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

    SendFile = Callable[[HttpRequest, Storage, str, str], HttpResponseBase]


def get_backend(path: str | None = None) -> SendFile:
    """Import the backend named by ``THUMBNAILS_RESPONSE_BACKEND`` (or ``path``).

    The configured one is imported once per process (and after ``setting_changed``).
    """
    if path is None:
        return app_settings.derived(
            "response_backend", lambda: _import_backend(app_settings.RESPONSE_BACKEND)
        )
    return _import_backend(path)


def _import_backend(path: str) -> SendFile:
    try:
        backend = import_string(path)
    except ImportError as e:
        raise ImproperlyConfigured(
            f"THUMBNAILS_RESPONSE_BACKEND={path!r} cannot be imported: {e}"
        ) from e
    if not callable(backend):
        raise ImproperlyConfigured(f"THUMBNAILS_RESPONSE_BACKEND={path!r} is not callable.")
    return backend  # type: ignore[no-any-return]
