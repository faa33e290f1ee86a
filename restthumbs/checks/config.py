"""Checks of restthumbs' settings: types, ranges, storages, caches, keys."""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..conf import app_settings
from ..exceptions import InvalidSpec
from ..spec import parse_size
from ..storage.resolver import (
    SOURCE_SETTING,
    THUMBNAIL_SETTING,
    alias_backend,
    install_hint,
    is_filesystem_class,
    storage_class,
)


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@register()
def check_response_backend(**kwargs: Any) -> list[CheckMessage]:
    from ..responses import get_backend

    try:
        get_backend()
    except ImproperlyConfigured as e:
        return [
            Error(
                str(e),
                hint="Use one of restthumbs.responses.{dummy,nginx,apache,redirect}.sendfile.",
                id="restthumbs.E001",
            )
        ]
    return []


def _storage_errors(setting: str, backend: Any) -> list[CheckMessage]:
    if not isinstance(backend, str) or not backend:
        return [
            Error(f"{setting} must be a STORAGES key or a dotted class path.", id="restthumbs.E002")
        ]
    try:
        if storage_class(backend, setting) is None:  # a STORAGES alias: its BACKEND must import
            import_string(alias_backend(backend))
    except ImproperlyConfigured as e:
        return [
            Error(
                str(e),
                hint="Name a key of settings.STORAGES or a storage class such as "
                "'django.core.files.storage.FileSystemStorage'.",
                id="restthumbs.E002",
            )
        ]
    except ImportError as e:
        return [
            Error(
                f"{setting}={backend!r} names the STORAGES alias whose BACKEND "
                f"{alias_backend(backend)!r} cannot be imported: {e}{install_hint(e)}",
                id="restthumbs.E002",
            )
        ]
    return []


@register()
def check_storages(**kwargs: Any) -> list[CheckMessage]:
    errors = _storage_errors(SOURCE_SETTING, app_settings.SOURCE_STORAGE_BACKEND) + _storage_errors(
        THUMBNAIL_SETTING, app_settings.STORAGE_BACKEND
    )
    if errors:
        return errors
    return _check_roots()


def _check_roots() -> list[CheckMessage]:
    if not (
        is_filesystem_class(app_settings.SOURCE_STORAGE_BACKEND, SOURCE_SETTING)
        and is_filesystem_class(app_settings.STORAGE_BACKEND, THUMBNAIL_SETTING)
    ):
        return []
    source_root, thumb_root = app_settings.SOURCE_ROOT, app_settings.STORAGE_ROOT
    if not source_root:
        return [
            Error(
                "THUMBNAILS_SOURCE_ROOT is empty (it defaults to MEDIA_ROOT).",
                hint="Set MEDIA_ROOT or THUMBNAILS_SOURCE_ROOT to the directory of your images.",
                id="restthumbs.E003",
            )
        ]
    source = os.path.realpath(source_root)
    thumbs = os.path.realpath(thumb_root)
    if thumbs == source or thumbs.startswith(source + os.sep):
        return [
            Error(
                f"THUMBNAILS_STORAGE_ROOT ({thumbs}) is inside THUMBNAILS_SOURCE_ROOT ({source}).",
                hint="Thumbnails would become sources of their own; keep them in a sibling "
                "directory (the default is MEDIA_ROOT/../thumbnails/).",
                id="restthumbs.E004",
            )
        ]
    return []


@register()
def check_numbers(**kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    numbers = (
        ("THUMBNAILS_LOCK_TIMEOUT", app_settings.LOCK_TIMEOUT, _is_positive_number),
        ("THUMBNAILS_MAX_SIZE", app_settings.MAX_SIZE, _is_positive_int),
        ("THUMBNAILS_MAX_SOURCE_PIXELS", app_settings.MAX_SOURCE_PIXELS, _is_positive_int),
        ("THUMBNAILS_MAX_SOURCE_BYTES", app_settings.MAX_SOURCE_BYTES, _is_positive_int),
        ("THUMBNAILS_MAX_RENDER_MEMORY", app_settings.MAX_RENDER_MEMORY, _is_positive_int),
        ("THUMBNAILS_MAX_ANIMATION_FRAMES", app_settings.MAX_ANIMATION_FRAMES, _is_positive_int),
        ("THUMBNAILS_MAX_ANIMATION_PIXELS", app_settings.MAX_ANIMATION_PIXELS, _is_positive_int),
    )
    for name, value, valid in numbers:
        if not valid(value):
            errors.append(
                Error(f"{name} must be a positive number, not {value!r}.", id="restthumbs.E005")
            )
    max_age = app_settings.CACHE_MAX_AGE
    if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0:
        errors.append(
            Error(
                f"THUMBNAILS_CACHE_MAX_AGE must be a whole number of seconds >= 0, not {max_age!r}.",
                id="restthumbs.E005",
            )
        )
    return errors


@register()
def check_sizes(**kwargs: Any) -> list[CheckMessage]:
    allowed = app_settings.raw("THUMBNAILS_ALLOWED_SIZES")
    if allowed is None:
        return []
    if isinstance(allowed, str) or not isinstance(allowed, (list, tuple, set, frozenset)):
        return [
            Error(
                "THUMBNAILS_ALLOWED_SIZES must be None or a list of size strings.",
                hint='For example ["100x100", "64x"].',
                id="restthumbs.E006",
            )
        ]
    errors: list[CheckMessage] = []
    for size in allowed:
        try:
            parse_size(size) if isinstance(size, str) else parse_size("")
        except InvalidSpec:
            errors.append(
                Error(
                    f"THUMBNAILS_ALLOWED_SIZES contains {size!r}, not a canonical size.",
                    hint="Sizes are WxH, Wx or xH with positive integers, no leading zeros.",
                    id="restthumbs.E006",
                )
            )
    return errors


@register()
def check_quality(**kwargs: Any) -> list[CheckMessage]:
    quality = app_settings.QUALITY
    values = quality.values() if isinstance(quality, dict) else [quality]
    if isinstance(quality, dict):
        unknown = set(quality) - {"jpeg", "webp", "avif", "png", "gif"}
        if unknown:
            return [
                Error(
                    f"THUMBNAILS_QUALITY has unknown formats {sorted(unknown)}.",
                    hint='Keys are lower-case format names: "jpeg", "webp", "avif".',
                    id="restthumbs.E007",
                )
            ]
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
            return [
                Error(
                    f"THUMBNAILS_QUALITY values must be integers from 1 to 100, not {value!r}.",
                    id="restthumbs.E007",
                )
            ]
    return []


@register()
def check_cache(**kwargs: Any) -> list[CheckMessage]:
    alias = app_settings.CACHE
    caches = app_settings.CACHES
    if alias not in caches:
        return [
            Error(
                f"THUMBNAILS_CACHE={alias!r} is not a key of CACHES.",
                hint="Name the cache alias that holds the render locks (a shared cache such as "
                "Redis or memcached when several machines render).",
                id="restthumbs.E008",
            )
        ]
    backend = caches[alias].get("BACKEND", "django.core.cache.backends.locmem.LocMemCache")
    if backend.endswith(("DummyCache",)):
        return [
            Warning(
                f"THUMBNAILS_CACHE={alias!r} is a DummyCache: render locks never hold, "
                "so simultaneous requests render the same thumbnail several times.",
                id="restthumbs.W001",
            )
        ]
    return []


@register()
def check_secret(**kwargs: Any) -> list[CheckMessage]:
    fallbacks = app_settings.raw("THUMBNAILS_SECRET_KEY_FALLBACKS", [])
    if fallbacks and not app_settings.SECRET_KEY:
        return [
            Warning(
                "THUMBNAILS_SECRET_KEY_FALLBACKS is set but THUMBNAILS_SECRET_KEY is not, "
                "so the fallbacks are ignored (SECRET_KEY_FALLBACKS applies instead).",
                id="restthumbs.W002",
            )
        ]
    return []


@register()
def check_base_paths(**kwargs: Any) -> list[CheckMessage]:
    """A base without its trailing slash glues the prefix to the source path."""
    errors: list[CheckMessage] = []
    for name, value in (
        ("THUMBNAILS_PROXY_BASE_URL", app_settings.PROXY_BASE_URL),
        ("THUMBNAILS_STORAGE_BASE_PATH", app_settings.STORAGE_BASE_PATH),
    ):
        if not isinstance(value, str) or not value.endswith("/"):
            errors.append(
                Error(
                    f"{name} must end with '/', not {value!r}.",
                    hint="For example '/', '/thumbs/' or 'https://thumbs.example.com/'.",
                    id="restthumbs.E009",
                )
            )
    return errors


@register()
def check_metrics(**kwargs: Any) -> list[CheckMessage]:
    """Metrics asked for but not recordable: the hooks would silently do nothing."""
    if not app_settings.METRICS:
        return []
    try:
        import prometheus_client  # noqa: F401
    except ImportError as e:
        return [
            Warning(
                f"THUMBNAILS_METRICS is True but prometheus_client cannot be imported ({e}), "
                "so no metrics are recorded.",
                hint='Install it: pip install "restthumbs[metrics]" (or prometheus-client).',
                id="restthumbs.W003",
            )
        ]
    return []


@register()
def check_truncated_images(**kwargs: Any) -> list[CheckMessage]:
    """Pillow told to accept truncated files turns a decoding error into a stored thumbnail."""
    from PIL import ImageFile

    if not ImageFile.LOAD_TRUNCATED_IMAGES:
        return []
    return [
        Warning(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True: a truncated source renders with grey "
            "where its data is missing, and that thumbnail is stored and served.",
            hint="Remove the code that sets it (a project setting module, another app); "
            "restthumbs answers a truncated source with 422.",
            id="restthumbs.W004",
        )
    ]
