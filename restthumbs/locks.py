"""A render lock in a shared Django cache, with an owner token.

``cache.add`` is atomic on every shared backend Django ships (Redis, memcached,
database) and on the local-memory cache, so exactly one worker acquires the
lock; it expires after ``THUMBNAILS_LOCK_TIMEOUT`` so a worker that dies
mid-render blocks the others no longer than that.

Cache failures are raised as :class:`LockUnavailable`; the caller decides to
render without the lock (the contract: an unreachable cache never fails a request).
"""

from __future__ import annotations

import hashlib
import math
import secrets

from django.core.cache import caches


class LockUnavailable(Exception):
    """The lock cache could not be reached."""


class CacheLock:
    def __init__(self, cache_alias: str, key: str, timeout: float) -> None:
        self.cache_alias = cache_alias
        self.key = key
        # Cache timeouts are whole seconds on memcached; never round down to 0 (= forever).
        self.timeout = max(1, math.ceil(timeout))
        self.token = secrets.token_hex(16)
        self.held = False

    def acquire(self) -> bool:
        """Try to take the lock, without waiting; ``True`` if this instance now holds it.

        Some clients report an unreachable server as a failed ``add`` instead of
        raising (pymemcache with ``ignore_exc``, or while it waits to retry a
        failed server). So a failed ``add`` must show a holder: if the key still
        cannot be read after a second ``add``, the cache is treated as unreachable.
        """
        self.held = False
        try:
            cache = caches[self.cache_alias]
            for _ in range(2):
                if cache.add(self.key, self.token, self.timeout):
                    self.held = True
                    return True
                if cache.get(self.key) is not None:
                    return False
        except Exception as e:  # every cache client raises its own connection errors
            raise LockUnavailable(f"{type(e).__name__}: {e}") from e
        raise LockUnavailable("the cache neither stores the lock nor shows its holder")

    def is_free(self) -> bool:
        try:
            return caches[self.cache_alias].get(self.key) is None
        except Exception as e:
            raise LockUnavailable(f"{type(e).__name__}: {e}") from e

    def release(self) -> None:
        """Delete the key if this instance still owns it (best effort).

        Get-then-delete is not atomic, but the window only matters when the
        lock expired during the render, and then the render took longer than
        the timeout the operator chose.
        """
        if not self.held:
            return
        self.held = False
        try:
            cache = caches[self.cache_alias]
            if cache.get(self.key) == self.token:
                cache.delete(self.key)
        except Exception:
            pass


def lock_key(prefix: str, thumbnail_name: str) -> str:
    """A cache key safe for memcached (no spaces, bounded length) for a thumbnail name."""
    digest = hashlib.sha256(thumbnail_name.encode("utf-8")).hexdigest()
    return f"{prefix}:lock:{digest}"
