"""Keep what a remote source produced, and produce it once: lock, time to live, failures.

A remote image (or a page's screenshot) is fetched on first use and kept in
the storage of ``THUMBNAILS_REMOTE_STORAGE_BACKEND`` under a name derived from
its URL (``images/<h2>/<sha256>``, ``sites/<h2>/<sha256>``), then read from
there until it is older than its time to live. Twenty sizes of one new image
asked at once are twenty renders, each under its own render lock, but one
fetch: the first takes this module's lock (the render lock's cache, its own
key), the others poll the kept storage until the original appears (bounded),
exactly as the render lock's waiters do.

A failure is remembered in the cache for its ``Retry-After`` (10 s for a
refusal), so the waiters, and the requests of that moment, answer the same
error at once instead of asking the origin again. When the origin fails and
an expired copy is kept, the expired copy is used (stale-if-error); a policy
refusal never falls back to it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable

from django.core.cache import caches
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage

from .. import exceptions as exc
from ..conf import app_settings
from ..locks import CacheLock, LockUnavailable
from ..storage import resolve_storage, save_atomically

logger = logging.getLogger("restthumbs")

REMOTE_SETTING = "THUMBNAILS_REMOTE_STORAGE_BACKEND"
#: Seconds the production lock outlives the production's own time limit.
LOCK_MARGIN = 5
#: Seconds a failure without a Retry-After of its own (a refusal) is remembered.
FAILURE_MEMORY = 10
POLL_START = 0.02
POLL_MAX = 0.25
#: The errors worth remembering, by name (the cache holds names, never pickled objects).
REMEMBERED: dict[str, type[exc.ThumbnailError]] = {
    cls.__name__: cls
    for cls in (
        exc.SourceNotFound,
        exc.RemoteRefused,
        exc.RemoteAddressRefused,
        exc.RemoteTooManyRedirects,
        exc.RemoteTooLarge,
        exc.RemoteNotAnImage,
        exc.OriginUnavailable,
        exc.OriginTimeout,
        exc.BrowserUnavailable,
    )
}

Producer = Callable[[], tuple[bytes, str]]


def kept_storage() -> Storage:
    """The storage of fetched originals and screenshots, built once per settings."""
    return app_settings.derived(
        "remote_storage",
        lambda: resolve_storage(
            app_settings.REMOTE_STORAGE_BACKEND, app_settings.REMOTE_ROOT, REMOTE_SETTING
        ),
    )


def kept_name(kind: str, identity: str) -> str:
    """``<kind>/<2 hex>/<sha256 hex>``: any URL fits, and no directory grows too large."""
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()
    return f"{kind}/{digest[:2]}/{digest}"


def open_kept(
    storage: Storage, name: str, ttl: float, *, stale: bool = False
) -> File[bytes] | None:
    """The kept copy if there is one younger than ``ttl`` (any age with ``stale``)."""
    try:
        if not storage.exists(name):
            return None
        age = time.time() - storage.get_modified_time(name).timestamp()
        if age > ttl and not stale:
            return None
        kept: File[bytes] = storage.open(name, "rb")
    except FileNotFoundError:
        return None
    return kept


def obtain(name: str, ttl: float, time_limit: float, produce: Producer) -> File[bytes]:
    """The kept copy of ``name``, produced first (once, under a lock) if missing or expired."""
    storage = kept_storage()
    found = open_kept(storage, name, ttl)
    if found is not None:
        return found
    digest = name.rsplit("/", 1)[-1]
    failure_key = f"{app_settings.KEY_PREFIX}:remote-failed:{digest}"
    _raise_remembered(failure_key)
    lock = CacheLock(
        app_settings.CACHE, f"{app_settings.KEY_PREFIX}:remote:{digest}", time_limit + LOCK_MARGIN
    )
    if not _acquire(lock):
        found = _wait(lock, storage, name, ttl, failure_key, time_limit + LOCK_MARGIN)
        if found is not None:
            return found
    try:
        found = open_kept(storage, name, ttl)  # kept by another worker since our first look
        if found is not None:
            return found
        return _produce(storage, name, produce, failure_key)
    finally:
        lock.release()


def _produce(storage: Storage, name: str, produce: Producer, failure_key: str) -> File[bytes]:
    try:
        data, content_type = produce()
    except exc.OriginUnavailable as e:
        stale = open_kept(storage, name, 0, stale=True)
        if stale is not None:
            logger.warning("Using the expired copy %s: %s", name, e.log_message)
            return stale
        _remember(failure_key, e)
        raise
    except exc.ThumbnailError as e:
        _remember(failure_key, e)
        raise
    try:
        save_atomically(storage, name, data, content_type)
    except OSError as e:  # rendering still works from memory; the next render fetches again
        logger.warning("Could not keep %s: %s", name, e)
    return ContentFile(data, name=name)


def _acquire(lock: CacheLock) -> bool:
    try:
        return lock.acquire()
    except LockUnavailable as e:
        logger.warning("Lock cache unreachable (%s); fetching without the lock.", e)
        return True


def _wait(
    lock: CacheLock, storage: Storage, name: str, ttl: float, failure_key: str, timeout: float
) -> File[bytes] | None:
    """Poll until the copy is kept (return it) or the lock is free and ours (``None``)."""
    deadline = time.monotonic() + timeout
    pause = POLL_START
    while True:
        time.sleep(pause)
        pause = min(pause * 1.5, POLL_MAX)
        found = open_kept(storage, name, ttl)
        if found is not None:
            return found
        _raise_remembered(failure_key)
        if _acquire(lock):
            return None
        if time.monotonic() >= deadline:
            raise exc.ThumbnailBusy(retry_after=max(1, math.ceil(timeout / 2)))


def _remember(key: str, error: exc.ThumbnailError) -> None:
    if type(error).__name__ not in REMEMBERED:
        return
    seconds = error.retry_after or FAILURE_MEMORY
    try:
        caches[app_settings.CACHE].set(key, (type(error).__name__, error.detail), seconds)
    except Exception:  # an unreachable cache only costs a second attempt
        pass


def _raise_remembered(key: str) -> None:
    try:
        remembered = caches[app_settings.CACHE].get(key)
    except Exception:
        return
    if remembered is None:
        return
    name, detail = remembered
    cls = REMEMBERED.get(name)
    if cls is not None:
        raise cls(detail=f"{detail} (remembered)" if detail else None)
