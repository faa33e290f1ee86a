"""Remote sources: images fetched by URL and screenshots of web pages (docs/remote.md).

- :mod:`.naming`: a remote URL <-> a source path (:func:`remote_source`);
- :mod:`.policy`: the URL prefixes and address rules every request is held to;
- :mod:`.net`: resolve once, check every address, connect to that address;
- :mod:`.fetch`: the HTTP client of remote images, bounded in size and time;
- :mod:`.keep`: originals kept with a time to live, produced once under a lock;
- :mod:`.storage`: the read-only Django storages ``THUMBNAILS_SOURCES`` mounts;
- :mod:`.browser`, :mod:`.devtools`, :mod:`.proxy`: web pages in headless
  Chromium, every request of the browser through a filtering proxy;
- :mod:`.conf`: their settings, mixed into ``restthumbs.conf.app_settings``.

Importing this package imports nothing that needs Django's settings.
"""

from __future__ import annotations

from .naming import RemoteURL, parse_url, to_source_path, url_of

__all__ = ["RemoteURL", "parse_url", "remote_source", "url_of"]


def remote_source(url: str, segment: str = "remote") -> str:
    """The source path of the remote ``url`` under ``segment`` (``"remote"``, ``"site"``...).

    Does no I/O: the rules are applied when the thumbnail is first requested.
    Raises :class:`~restthumbs.exceptions.RemoteRefused` for a URL that has no
    source path (another scheme, credentials, an empty path segment).
    """
    return to_source_path(url, segment)
