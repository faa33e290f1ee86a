"""The settings of remote sources, mixed into :class:`restthumbs.conf.AppSettings`.

Read like every other setting (``app_settings.REMOTE_TIMEOUT``, at call time,
remembered until ``setting_changed``); kept here so that ``conf.py`` stays the
size of one screenful per concern. Documented in docs/settings.md and
docs/remote.md. Nothing here imports Django's settings: :meth:`_get` is
``AppSettings``' own.
"""

from __future__ import annotations

import os
from typing import TypeVar

_T = TypeVar("_T")

DEFAULT_STORAGE_CLASS = "django.core.files.storage.FileSystemStorage"
#: Where fetched remote originals and page screenshots are kept.
DEFAULT_REMOTE_ROOT = "%(MEDIA_ROOT)s/../remote-sources/"


class RemoteSettings:
    """``THUMBNAILS_SOURCES``, ``THUMBNAILS_REMOTE_*`` and ``THUMBNAILS_SITE_*``."""

    def _get(self, name: str, default: _T) -> _T:  # pragma: no cover - AppSettings' own
        raise NotImplementedError

    @property
    def SOURCES(self) -> dict[str, str]:
        """First segment of a source path -> a ``STORAGES`` alias or a storage class path."""
        return dict(self._get("THUMBNAILS_SOURCES", {}))

    @property
    def REMOTE_ALLOWED_URLS(self) -> list[str]:
        """URL prefixes a remote image may be fetched from (none: every one refused)."""
        return list(self._get("THUMBNAILS_REMOTE_ALLOWED_URLS", []))

    @property
    def SITE_ALLOWED_URLS(self) -> list[str]:
        """URL prefixes of the web pages a thumbnail may be made of."""
        return list(self._get("THUMBNAILS_SITE_ALLOWED_URLS", []))

    @property
    def REMOTE_ALLOWED_NETWORKS(self) -> list[str]:
        """Networks (CIDR) allowed although not public: ``["10.1.2.3/32"]``."""
        return list(self._get("THUMBNAILS_REMOTE_ALLOWED_NETWORKS", []))

    @property
    def REMOTE_DENIED_NETWORKS(self) -> list[str]:
        """Networks (CIDR) refused although public; they win over the allowed ones."""
        return list(self._get("THUMBNAILS_REMOTE_DENIED_NETWORKS", []))

    @property
    def REMOTE_HOSTS(self) -> dict[str, list[str]]:
        """Host name -> addresses, used instead of DNS for those names (as /etc/hosts)."""
        return dict(self._get("THUMBNAILS_REMOTE_HOSTS", {}))

    @property
    def REMOTE_CONNECT_TIMEOUT(self) -> float:
        return self._get("THUMBNAILS_REMOTE_CONNECT_TIMEOUT", 5)

    @property
    def REMOTE_TIMEOUT(self) -> float:
        """Seconds for a whole fetch, redirects and body included."""
        return self._get("THUMBNAILS_REMOTE_TIMEOUT", 20)

    @property
    def REMOTE_MAX_BYTES(self) -> int:
        """Bytes one remote source may download: an image, or all that a page loads."""
        return self._get("THUMBNAILS_REMOTE_MAX_BYTES", 20_971_520)

    @property
    def REMOTE_MAX_REDIRECTS(self) -> int:
        return self._get("THUMBNAILS_REMOTE_MAX_REDIRECTS", 5)

    @property
    def REMOTE_TTL(self) -> int:
        """Seconds a fetched original is kept and used before it is fetched again."""
        return self._get("THUMBNAILS_REMOTE_TTL", 604_800)

    @property
    def REMOTE_STORAGE_BACKEND(self) -> str:
        """Where fetched originals and page screenshots are kept."""
        return self._get("THUMBNAILS_REMOTE_STORAGE_BACKEND", DEFAULT_STORAGE_CLASS)

    @property
    def REMOTE_ROOT(self) -> str:
        """The root of a filesystem ``REMOTE_STORAGE_BACKEND``; ``%(MEDIA_ROOT)s`` interpolated."""
        value = os.fspath(self._get("THUMBNAILS_REMOTE_ROOT", DEFAULT_REMOTE_ROOT))
        value = value.replace("%(MEDIA_ROOT)s", os.fspath(self._get("MEDIA_ROOT", "")))
        return os.path.normpath(value) if value else value

    @property
    def SITE_VIEWPORT(self) -> str:
        """The browser window a web page is rendered in, ``"WxH"`` CSS pixels."""
        return self._get("THUMBNAILS_SITE_VIEWPORT", "1280x800")

    @property
    def SITE_TIMEOUT(self) -> float:
        """Seconds a page has to load; then its browser is killed."""
        return self._get("THUMBNAILS_SITE_TIMEOUT", 20)

    @property
    def SITE_MAX_PAGES(self) -> int:
        """Browser pages rendering at once in one process; more wait (up to SITE_TIMEOUT)."""
        return self._get("THUMBNAILS_SITE_MAX_PAGES", 2)

    @property
    def SITE_TTL(self) -> int:
        """Seconds a page's screenshot is kept and used before the page is rendered again."""
        return self._get("THUMBNAILS_SITE_TTL", 86_400)

    @property
    def SITE_BROWSER(self) -> str | None:
        """The Chromium executable; ``None``: ``chromium`` (or ``chromium-browser``) on PATH."""
        return self._get("THUMBNAILS_SITE_BROWSER", None)
