"""Remembering, in the shared cache, which thumbnails are stored.

Where a look at the thumbnail storage is a network request (S3: a ``HeadObject``,
tens of milliseconds and a billed request), every hit that reaches Django would
pay it again. The shared cache (``THUMBNAILS_CACHE``, keys under
``THUMBNAILS_KEY_PREFIX``) remembers a thumbnail once a render stored it or a look
found it, for ``THUMBNAILS_STORED_CACHE_TIMEOUT`` seconds (an hour by default), so
a repeated hit costs no storage request at all.

Never stale after a purge. Each source has a token in the cache; a thumbnail is
remembered with the token read *before* the look or the render, and a purge
deletes the source's token *after* deleting its files. A memory written by a
request that raced the purge carries the old token and is worthless from then on;
a token that expires or is evicted forgets every thumbnail of its source (one
look more, never a stale answer). Only a thumbnail deleted behind restthumbs'
back (not by ``thumbnails_purge``, :func:`restthumbs.invalidation.purge_source` or a
watched field) can be remembered as stored, for at most the timeout.

The memory is kept only where it pays and is safe:

- ``THUMBNAILS_STORED_CACHE_TIMEOUT`` above 0;
- a cache every process shares: not ``LocMemCache`` or ``DummyCache``, where a
  purge in a command or another worker could not reach the workers' memories;
- a thumbnail storage without local paths: on a disk an ``lstat`` costs less
  than a round trip to the cache.

A cache failure never fails a request: it is logged, and the storage is looked at.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from django.core.cache import caches

from .conf import app_settings
from .spec import source_of
from .storage import local_path, thumbnail_storage

logger = logging.getLogger("restthumbs")

#: Cache backends that live in one process: a purge elsewhere cannot reach them.
PROCESS_LOCAL_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)
DEFAULT_CACHE_BACKEND = "django.core.cache.backends.locmem.LocMemCache"


class Memory:
    """What the shared cache remembers of one thumbnail.

    ``stored`` is ``True`` if it is remembered as stored under its source's
    current token; :meth:`remember` records it as stored under the token read
    when this memory was recalled (before the look or render that found it).
    """

    __slots__ = ("_cache", "_key", "_token", "stored", "timeout")

    def __init__(self, cache: Any, key: str, token: str, stored: bool, timeout: int) -> None:
        self._cache = cache
        self._key = key
        self._token = token
        self.stored = stored
        self.timeout = timeout

    def remember(self) -> None:
        try:
            self._cache.set(self._key, self._token, self.timeout)
        except Exception as e:  # every cache client raises its own connection errors
            _log_failure("remember", e)


class _Off(Memory):
    """No memory: nothing remembered, nothing recorded."""

    def __init__(self) -> None:
        self.stored = False

    def remember(self) -> None:
        pass


OFF: Memory = _Off()


def enabled() -> bool:
    """Whether thumbnails are remembered (see the module docstring), decided once per
    settings change."""
    return app_settings.derived("stored_memory", _decide)


def _decide() -> bool:
    if app_settings.STORED_CACHE_TIMEOUT <= 0:
        return False
    config = app_settings.CACHES.get(app_settings.CACHE, {})
    if config.get("BACKEND", DEFAULT_CACHE_BACKEND) in PROCESS_LOCAL_CACHES:
        return False
    return local_path(thumbnail_storage(), "") is None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def stored_key(name: str) -> str:
    """The cache key remembering the thumbnail ``name`` (memcached-safe, bounded)."""
    return f"{app_settings.KEY_PREFIX}:stored:{_digest(name)}"


def source_key(source_path: str) -> str:
    """The cache key holding the token of ``source_path``'s memories."""
    return f"{app_settings.KEY_PREFIX}:source:{_digest(source_path)}"


def recall(name: str) -> Memory:
    """What the shared cache remembers of the thumbnail ``name`` of the thumbnail storage.

    One ``get_many`` when the source has a token; its first thumbnail adds one.
    """
    if not enabled():
        return OFF
    timeout = app_settings.STORED_CACHE_TIMEOUT
    key, token_key = stored_key(name), source_key(source_of(name))
    try:
        cache = caches[app_settings.CACHE]
        values = cache.get_many([key, token_key])
        token = values.get(token_key)
        if token is None:
            token = secrets.token_hex(8)
            if not cache.add(token_key, token, timeout):
                token = cache.get(token_key)  # another worker added one first
        if token is None:
            return OFF
        return Memory(cache, key, token, values.get(key) == token, timeout)
    except Exception as e:
        _log_failure("recall", e)
        return OFF


def forget_sources(source_paths: Iterable[str]) -> bool:
    """Forget every remembered thumbnail of ``source_paths`` (after their files are
    deleted); ``False`` if the cache could not be told."""
    if not enabled():
        return True
    keys = [source_key(path) for path in set(source_paths)]
    if not keys:
        return True
    try:
        caches[app_settings.CACHE].delete_many(keys)
    except Exception as e:
        _log_failure("forget", e)
        return False
    return True


#: What a failure of each action means for the answers.
_CONSEQUENCES = {
    "recall": "the storage is looked at instead",
    "remember": "the next hit looks at the storage again",
    "forget": "hits may be answered as stored until THUMBNAILS_STORED_CACHE_TIMEOUT",
}


def _log_failure(action: str, error: Exception) -> None:
    logger.warning(
        "Cache %r unreachable to %s stored thumbnails (%s: %s): %s.",
        app_settings.CACHE,
        action,
        type(error).__name__,
        error,
        _CONSEQUENCES[action],
        extra={"reason": "stored_cache_unavailable"},
    )
