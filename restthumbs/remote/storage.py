"""Read-only Django storages whose files are remote images and web pages.

Mounted by ``THUMBNAILS_SOURCES`` under a first path segment, they make a
remote source a source like any other: the URL shape, the signing, the render
lock and nginx's ``try_files`` are unchanged, and a thumbnail of
``remote/https/example.com/cat.jpg`` is stored under
``remote/https/example.com/cat.jpg/<size>/<method>/<secret>.<ext>``. A name is
the rest of the source path: ``https/example.com/cat.jpg`` (:mod:`.naming`).

- :class:`RemoteImageStorage` fetches the image (:mod:`.fetch`) under
  ``THUMBNAILS_REMOTE_ALLOWED_URLS`` and keeps it ``THUMBNAILS_REMOTE_TTL`` seconds;
- :class:`WebsiteStorage` renders the page in headless Chromium
  (:mod:`.browser`) under ``THUMBNAILS_SITE_ALLOWED_URLS`` and keeps its PNG
  screenshot ``THUMBNAILS_SITE_TTL`` seconds.

Both keep what they produce through :mod:`.keep` (one fetch per source, also
under concurrency). ``exists()`` answers from the rules alone, without a
request: an allowed URL may still turn out missing (a 404 then). Nothing can
be saved or deleted through them, and ``listdir()`` is empty: there is nothing
to warm.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.files.base import File
from django.core.files.storage import Storage

from ..conf import app_settings
from ..exceptions import ThumbnailError
from ..spec import parse_size
from .keep import kept_name, kept_storage, obtain
from .naming import RemoteURL, url_of
from .policy import Policy, image_policy, site_policy


class RemoteStorage(Storage):
    """What both remote storages share; subclasses say what to fetch and how."""

    #: The directory of the kept copies in the remote storage.
    kind = "remote"

    def policy(self) -> Policy:
        raise NotImplementedError

    def ttl(self) -> float:
        raise NotImplementedError

    def time_limit(self) -> float:
        """Seconds producing one source may take (waiting for it included)."""
        raise NotImplementedError

    def produce(self, url: RemoteURL) -> tuple[bytes, str]:
        """Fetch or render ``url``: its bytes and their content type."""
        raise NotImplementedError

    def identity(self, url: RemoteURL) -> str:
        """What the kept copy depends on: the URL (and, for pages, the viewport)."""
        return str(url)

    def locate(self, name: str) -> RemoteURL:
        """The URL ``name`` stands for, if the rules allow it (no request made)."""
        url = url_of(name)
        self.policy().check_url(url)
        return url

    def _open(self, name: str, mode: str = "rb") -> File[bytes]:
        if mode not in ("r", "rb"):
            raise NotImplementedError(f"{type(self).__name__} is read-only")
        url = self.locate(name)
        return obtain(
            kept_name(self.kind, self.identity(url)),
            self.ttl(),
            self.time_limit(),
            lambda: self.produce(url),
        )

    def exists(self, name: str) -> bool:
        try:
            self.locate(name)
        except ThumbnailError:
            return False
        return True

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return [], []

    def size(self, name: str) -> int:
        with self.open(name) as f:
            return int(f.size)

    def url(self, name: str | None) -> str:
        return str(url_of(name or ""))

    def get_modified_time(self, name: str) -> datetime:
        kept = kept_name(self.kind, self.identity(self.locate(name)))
        return kept_storage().get_modified_time(kept)

    def _save(self, name: str, content: Any) -> str:
        raise NotImplementedError(f"{type(self).__name__} is read-only")

    def delete(self, name: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} is read-only")


class RemoteImageStorage(RemoteStorage):
    """Images fetched over HTTP(S) on first use, kept ``THUMBNAILS_REMOTE_TTL`` seconds."""

    kind = "images"

    def policy(self) -> Policy:
        return image_policy()

    def ttl(self) -> float:
        return float(app_settings.REMOTE_TTL)

    def time_limit(self) -> float:
        return float(app_settings.REMOTE_TIMEOUT)

    def produce(self, url: RemoteURL) -> tuple[bytes, str]:
        from .fetch import Limits, fetch_image

        fetched = fetch_image(url, self.policy(), Limits.from_settings())
        return fetched.data, fetched.content_type


class WebsiteStorage(RemoteStorage):
    """Screenshots of web pages (PNG, ``THUMBNAILS_SITE_VIEWPORT``), kept ``THUMBNAILS_SITE_TTL``."""

    kind = "sites"

    def policy(self) -> Policy:
        return site_policy()

    def ttl(self) -> float:
        return float(app_settings.SITE_TTL)

    def time_limit(self) -> float:
        # A page waits for a browser slot up to its time limit, then has as long to load.
        return 2 * float(app_settings.SITE_TIMEOUT)

    def identity(self, url: RemoteURL) -> str:
        return f"{app_settings.SITE_VIEWPORT} {url}"

    def produce(self, url: RemoteURL) -> tuple[bytes, str]:
        from .browser import Page, screenshot

        width, height = parse_size(app_settings.SITE_VIEWPORT)
        page = Page.from_settings(url, width or 1280, height or 800)
        return screenshot(page, self.policy()), "image/png"
