"""Response backends: one module each, turning a stored thumbnail into a response.

``THUMBNAILS_RESPONSE_BACKEND`` names a :class:`~.base.ResponseBackend`
instance (``restthumbs.responses.nginx.sendfile``), a subclass (instantiated
with no arguments), or a plain function ``sendfile(request, storage, name,
content_type)`` in the style backends were first written in (wrapped in a
:class:`~.base.FunctionBackend`).

The view adds ``Cache-Control: public, max-age=THUMBNAILS_CACHE_MAX_AGE``
unless the backend set ``Cache-Control`` itself (the redirect backend does, for
an expiring URL).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..conf import app_settings
from .base import FunctionBackend, ResponseBackend

__all__ = ["FunctionBackend", "ResponseBackend", "get_backend"]


def get_backend(path: str | None = None) -> ResponseBackend:
    """The backend named by ``THUMBNAILS_RESPONSE_BACKEND`` (or ``path``).

    The configured one is imported once per process (and after ``setting_changed``).
    """
    if path is None:
        return app_settings.derived(
            "response_backend", lambda: _import_backend(app_settings.RESPONSE_BACKEND)
        )
    return _import_backend(path)


def _import_backend(path: str) -> ResponseBackend:
    try:
        backend = import_string(path)
    except ImportError as e:
        backend = _module_or_none(path)
        if backend is None:
            raise ImproperlyConfigured(
                f"THUMBNAILS_RESPONSE_BACKEND={path!r} cannot be imported: {e}"
            ) from e
    if isinstance(backend, ModuleType):
        raise ImproperlyConfigured(
            f"THUMBNAILS_RESPONSE_BACKEND={path!r} names a module, not a backend: "
            f"name the backend in it, {path + '.sendfile'!r}."
        )
    if isinstance(backend, ResponseBackend):
        return backend
    if isinstance(backend, type) and issubclass(backend, ResponseBackend):
        return backend()
    if not callable(backend):
        raise ImproperlyConfigured(f"THUMBNAILS_RESPONSE_BACKEND={path!r} is not callable.")
    return FunctionBackend(backend)


def _module_or_none(path: str) -> ModuleType | None:
    """The module ``path`` names, if it is one (``import_string`` only finds attributes)."""
    try:
        return importlib.import_module(path)
    except ImportError:
        return None
