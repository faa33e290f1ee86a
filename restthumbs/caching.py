"""HTTP cache policy: what ``Cache-Control`` every answer and every stored object carries.

- A thumbnail (a response, or an object in a bucket behind a CDN) is
  ``public, max-age=THUMBNAILS_CACHE_MAX_AGE``: its URL names its content.
- An error is ``no-store``: no CDN or proxy may keep a transient failure.
- Anything reached through an expiring (presigned) URL is ``private``: a
  private thumbnail never gets a permanent public copy. A redirect to such a
  URL is cached for half its validity at most, so a browser following a cached
  redirect still gets there with half the time to spare (clock skew, slow links).
"""

from __future__ import annotations

from .conf import app_settings

NO_STORE = "no-store"


def public() -> str:
    return f"public, max-age={app_settings.CACHE_MAX_AGE}"


def object_cache_control(url_expiry: int | None) -> str:
    """The ``Cache-Control`` stored with a thumbnail object, sent by the bucket and CDNs.

    ``public`` when the storage's URLs are permanent (a public bucket or CDN);
    ``private`` when they expire (``url_expiry`` seconds): no shared cache keeps it.
    """
    scope = "private" if url_expiry is not None else "public"
    return f"{scope}, max-age={app_settings.CACHE_MAX_AGE}"


def redirect_cache_control(url_expiry: int | None) -> str | None:
    """For a redirect to a URL valid ``url_expiry`` seconds: ``None`` (the default, public)
    for a permanent URL, else ``private`` for half its validity."""
    if url_expiry is None:
        return None
    max_age = max(0, min(url_expiry // 2, app_settings.CACHE_MAX_AGE))
    return f"private, max-age={max_age}"
