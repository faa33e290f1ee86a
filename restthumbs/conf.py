"""Every ``THUMBNAILS_*`` setting with its default, read at call time.

Nothing here is evaluated at import: each property looks the setting up on
``django.conf.settings`` when it is used, so ``override_settings`` works
everywhere and importing restthumbs never requires configured settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.signals import setting_changed

from .invalidation.conf import InvalidationSettings
from .remote.conf import RemoteSettings

DEFAULT_STORAGE_CLASS = "django.core.files.storage.FileSystemStorage"
DEFAULT_STORAGE_ROOT = "%(MEDIA_ROOT)s/../thumbnails/"
#: The encoder quality of each lossy format when ``THUMBNAILS_QUALITY`` is unset:
#: WebP and AVIF at the lowest quality that reaches the SSIM of JPEG 85, less 0.005, on
#: a 24 MP photo fitted to 800 px (``benchmarks/formats.py``, docs/settings.md).
DEFAULT_QUALITIES: dict[str, int] = {"jpeg": 85, "webp": 80, "avif": 62}
#: A format missing from both the setting's dict and the table above (lossless ones).
DEFAULT_QUALITY = 85


_MISSING = object()
#: ``django.conf.settings``' own attributes: ``override_settings`` replaces the holder
#: in it (``_wrapped``), and Django clears this dict in place, never replaces it.
_SETTINGS_DICT: dict[str, Any] = object.__getattribute__(settings, "__dict__")
_T = TypeVar("_T")


class AppSettings(RemoteSettings, InvalidationSettings):
    """Typed, lazy access to restthumbs' settings.

    Each ``THUMBNAILS_*`` lookup is remembered until Django's ``setting_changed``
    (sent by ``override_settings``) clears it: an unset setting costs Django an
    ``AttributeError`` per read, and a hit reads about ten of them.

    What is remembered also belongs to one settings holder: ``override_settings``
    swaps ``settings._wrapped`` for a new holder, and a change of holder forgets
    everything too. That catches what sends no ``setting_changed``:
    pytest-django's ``del settings.THUMBNAILS_X`` (an empty ``override_settings()``
    and a ``delattr``) and the restore at the end of that test.
    """

    #: Properties below that read the project's own settings rather than a
    #: ``THUMBNAILS_*`` one: read here too, so no other module touches ``settings``.
    PROJECT_SETTINGS = frozenset({"STORAGES", "CACHES", "PROJECT_DEBUG", "DEMO_SAMPLES"})

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}
        self._derived: dict[str, Any] = {}
        self._holder: object = None

    def _current(self) -> None:
        """Forget everything if the settings holder is not the one it was read from.

        ``settings._wrapped`` is read from the instance's ``__dict__``: through the
        lazy object's own attribute lookup it costs about 0.2 us, and a hit reads
        about ten settings.
        """
        holder = _SETTINGS_DICT.get("_wrapped")
        if holder is not self._holder:
            self.clear()
            self._holder = holder

    def _get(self, name: str, default: _T) -> _T:
        """``settings.<name>``, or ``default`` if unset: typed as the default is."""
        self._current()
        try:
            value = self._cache[name]
        except KeyError:
            value = self._cache[name] = getattr(settings, name, _MISSING)
        return default if value is _MISSING else value

    def raw(self, name: str, default: Any = None) -> Any:
        """``settings.<name>`` exactly as written, or ``default``: for the system checks,
        which must see a wrong type before anything converts it."""
        return self._get(name, default)

    def derived(self, key: str, compute: Callable[[], _T]) -> _T:
        """``compute()``, remembered under ``key`` until ``setting_changed``.

        For what is built from settings and needed on every request (the
        storage, the response backend, the signing keys): built once per
        process, rebuilt after ``override_settings``. Two threads may both
        compute it the first time; both results are equivalent.
        """
        self._current()
        try:
            return self._derived[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._derived[key] = compute()
            return value

    def clear(self) -> None:
        """Forget every remembered value (on ``setting_changed``)."""
        self._cache.clear()
        self._derived.clear()

    @property
    def SOURCE_STORAGE_BACKEND(self) -> str:
        return self._get("THUMBNAILS_SOURCE_STORAGE_BACKEND", DEFAULT_STORAGE_CLASS)

    @property
    def SOURCE_ROOT(self) -> str:
        value: str | os.PathLike[str] | None = self._get("THUMBNAILS_SOURCE_ROOT", None)
        root: str | os.PathLike[str] = settings.MEDIA_ROOT if value is None else value
        return os.fspath(root)

    @property
    def STORAGE_BACKEND(self) -> str:
        return self._get("THUMBNAILS_STORAGE_BACKEND", DEFAULT_STORAGE_CLASS)

    @property
    def STORAGE_ROOT(self) -> str:
        """The thumbnail root; ``%(MEDIA_ROOT)s`` is interpolated, then normalised."""
        value = os.fspath(self._get("THUMBNAILS_STORAGE_ROOT", DEFAULT_STORAGE_ROOT))
        # str.replace, not %-formatting: a literal "%" elsewhere in the path must survive.
        value = value.replace("%(MEDIA_ROOT)s", os.fspath(settings.MEDIA_ROOT))
        return os.path.normpath(value) if value else value

    @property
    def STORAGE_BASE_PATH(self) -> str:
        return self._get("THUMBNAILS_STORAGE_BASE_PATH", "/thumbnails/")

    @property
    def PROXY_BASE_URL(self) -> str:
        return self._get("THUMBNAILS_PROXY_BASE_URL", "/")

    @property
    def RESPONSE_BACKEND(self) -> str:
        return self._get("THUMBNAILS_RESPONSE_BACKEND", "restthumbs.responses.dummy.sendfile")

    @property
    def LOCK_TIMEOUT(self) -> float:
        return self._get("THUMBNAILS_LOCK_TIMEOUT", 10)

    @property
    def CACHE(self) -> str:
        return self._get("THUMBNAILS_CACHE", "default")

    @property
    def KEY_PREFIX(self) -> str:
        return self._get("THUMBNAILS_KEY_PREFIX", "restthumbs")

    @property
    def SECRET_KEY(self) -> str | bytes | None:
        return self._get("THUMBNAILS_SECRET_KEY", None)

    @property
    def SECRET_KEY_FALLBACKS(self) -> list[str | bytes]:
        return list(self._get("THUMBNAILS_SECRET_KEY_FALLBACKS", []))

    @property
    def MAX_SIZE(self) -> int:
        return self._get("THUMBNAILS_MAX_SIZE", 4096)

    @property
    def MAX_SOURCE_PIXELS(self) -> int:
        return self._get("THUMBNAILS_MAX_SOURCE_PIXELS", 120_000_000)

    @property
    def MAX_SOURCE_BYTES(self) -> int:
        return self._get("THUMBNAILS_MAX_SOURCE_BYTES", 104_857_600)

    @property
    def MAX_RENDER_MEMORY(self) -> int:
        """Bytes of image buffers one render may use, estimated before decoding."""
        return self._get("THUMBNAILS_MAX_RENDER_MEMORY", 402_653_184)

    @property
    def ALLOWED_SIZES(self) -> list[str] | None:
        value = self._get("THUMBNAILS_ALLOWED_SIZES", None)
        return None if value is None else list(value)

    @property
    def PRESETS(self) -> dict[str, dict[str, str]]:
        """Named specs, ``{"avatar": {"size": "64x64", "method": "smart", "ext": ".webp"}}``
        (read through :mod:`restthumbs.presets`, which validates them)."""
        return self._get("THUMBNAILS_PRESETS", {})

    @property
    def ONLY_PRESETS(self) -> bool:
        """Refuse any size and method that no preset has (in URLs built and served)."""
        return bool(self._get("THUMBNAILS_ONLY_PRESETS", False))

    @property
    def CACHE_MAX_AGE(self) -> int:
        return self._get("THUMBNAILS_CACHE_MAX_AGE", 2_592_000)

    @property
    def QUALITY(self) -> int | dict[str, int]:
        return self._get("THUMBNAILS_QUALITY", dict(DEFAULT_QUALITIES))

    @property
    def UPSCALE(self) -> bool:
        return bool(self._get("THUMBNAILS_UPSCALE", False))

    @property
    def KEEP_ANIMATION(self) -> bool:
        """Keep animated GIF/WebP sources animated (GIF/WebP output only)."""
        return bool(self._get("THUMBNAILS_KEEP_ANIMATION", False))

    @property
    def MAX_ANIMATION_FRAMES(self) -> int:
        return self._get("THUMBNAILS_MAX_ANIMATION_FRAMES", 100)

    @property
    def MAX_ANIMATION_PIXELS(self) -> int:
        """Budget of decoded pixels (frames x source pixels) for keeping an animation."""
        return self._get("THUMBNAILS_MAX_ANIMATION_PIXELS", 50_000_000)

    @property
    def DEBUG(self) -> bool:
        """Whether a bad tag argument raises (else: an empty URL and a logged warning).

        Unset (``None``), it follows Django's ``DEBUG``: loud in development, and a
        page never fails because of a thumbnail in production.
        """
        value = self._get("THUMBNAILS_DEBUG", None)
        return self.PROJECT_DEBUG if value is None else bool(value)

    @property
    def PLACEHOLDER(self) -> bool:
        """Answer a missing source with a grey placeholder (never stored, never cached)."""
        return bool(self._get("THUMBNAILS_PLACEHOLDER", False))

    @property
    def METRICS(self) -> bool:
        """Record Prometheus metrics (needs ``prometheus-client``)."""
        return bool(self._get("THUMBNAILS_METRICS", False))

    # -- Django's own settings that restthumbs reads (read here, like the rest) --

    @property
    def STORAGES(self) -> dict[str, Any]:
        return self._get("STORAGES", None) or {}

    @property
    def CACHES(self) -> dict[str, Any]:
        return self._get("CACHES", None) or {"default": {}}

    @property
    def PROJECT_DEBUG(self) -> bool:
        """Django's own ``DEBUG``."""
        return bool(self._get("DEBUG", False))

    @property
    def DEMO_SAMPLES(self) -> list[dict[str, Any]]:
        """The samples of ``restthumbs serve --demo`` (set by its embedded settings)."""
        return list(self._get("RESTTHUMBS_DEMO_SAMPLES", []))

    def signing_keys(self) -> list[str | bytes]:
        """The key URLs are signed with, then the fallbacks that still verify.

        ``THUMBNAILS_SECRET_KEY`` and its fallbacks when it is set, else
        ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``.
        """
        key = self.SECRET_KEY
        if key:
            return [key, *self.SECRET_KEY_FALLBACKS]
        return [settings.SECRET_KEY, *self._get("SECRET_KEY_FALLBACKS", [])]

    def quality_for(self, format_name: str) -> int:
        """The encoder quality for a Pillow format name (``"JPEG"``, ``"WEBP"``...).

        An int setting applies to every format; a dict gives each format its own, and a
        format missing from it keeps its default (:data:`DEFAULT_QUALITIES`).
        """
        value: Any = self.QUALITY
        if isinstance(value, dict):
            name = format_name.lower()
            return int(value.get(name, DEFAULT_QUALITIES.get(name, DEFAULT_QUALITY)))
        return int(value)


app_settings = AppSettings()


def _setting_changed(**kwargs: Any) -> None:
    app_settings.clear()


setting_changed.connect(_setting_changed, dispatch_uid="restthumbs.conf")
