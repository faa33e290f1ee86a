"""Make sure a thumbnail exists: exists, lock, render, save.

Shared by the view and the management commands; knows nothing of requests or
responses. (The image itself is rendered by :func:`restthumbs.engine.render`.)
:func:`ensure_thumbnail` looks first; the view, whose response backend has just
looked, calls :func:`render_missing`. The flow for a name that is not stored yet:

- take the cache lock (``cache.add``); if the cache is down, log and render
  without it (an unreachable cache must never fail a request);
- if another worker holds the lock, poll the storage (bounded by
  ``THUMBNAILS_LOCK_TIMEOUT``) until the file appears, taking over the lock if
  it is released without a file; give up with :class:`ThumbnailBusy`;
- read the source once, render, write atomically, send ``thumbnail_rendered``.

A thumbnail found or stored is remembered in the shared cache where that spares
storage requests (:mod:`restthumbs.stored`); the memory is recalled before the
look or render, so a purge that races it leaves nothing stale.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.core.files.base import File
from django.core.files.storage import Storage

from . import log, metrics
from .conf import app_settings
from .engine import AnimationPolicy
from .engine import render as render_image
from .exceptions import SourceNotFound, StorageWriteError, ThumbnailBusy
from .locks import CacheLock, LockUnavailable, lock_key
from .signals import thumbnail_rendered
from .spec import ThumbnailSpec
from .storage import (
    is_stored,
    open_source,
    save_atomically,
    source_storage,
    thumbnail_storage,
)
from .stored import recall

logger = logging.getLogger("restthumbs")

#: First and largest pause between two looks at the storage while another worker renders.
POLL_START = 0.02
POLL_MAX = 0.25


@dataclass(frozen=True)
class Result:
    """Where the thumbnail is, and whether this call rendered it."""

    name: str
    storage: Storage
    rendered: bool
    duration: float = 0.0
    waited: float = 0.0


def ensure_thumbnail(spec: ThumbnailSpec, secret: str) -> Result:
    """Return the stored thumbnail for ``spec``, rendering it if it is missing."""
    storage = thumbnail_storage()
    name = spec.name(secret)
    memory = recall(name)
    if memory.stored:
        return Result(name, storage, rendered=False)
    if is_stored(storage, name):
        memory.remember()
        return Result(name, storage, rendered=False)
    return render_missing(spec, secret)


def render_missing(spec: ThumbnailSpec, secret: str) -> Result:
    """Render the thumbnail the caller has just found missing, under the render lock.

    Another worker may have stored it meanwhile: once the lock is ours (or the
    other worker's render is done), the storage is looked at again.
    """
    storage = thumbnail_storage()
    name = spec.name(secret)
    memory = recall(name)  # before the render: a purge from now on makes it worthless
    timeout = float(app_settings.LOCK_TIMEOUT)
    lock = CacheLock(app_settings.CACHE, lock_key(app_settings.KEY_PREFIX, name), timeout)
    waited = 0.0
    try:
        if not _acquire(lock, name):
            waited = _observed_wait(spec, lock, storage, name, timeout)
            if not lock.held:
                return Result(name, storage, rendered=False, waited=waited)
            if is_stored(storage, name):  # rendered between our last look and the takeover
                lock.release()
                return Result(name, storage, rendered=False, waited=waited)
        elif is_stored(storage, name):  # another worker rendered and unlocked since our first look
            return Result(name, storage, rendered=False)
        duration = _render_and_save(spec, storage, name)
        memory.remember()
    finally:
        lock.release()
    return Result(name, storage, rendered=True, duration=duration, waited=waited)


def _acquire(lock: CacheLock, name: str) -> bool:
    """Take the lock; ``True`` also when the cache is down (render unlocked)."""
    try:
        return lock.acquire()
    except LockUnavailable as e:
        _log_unavailable(lock, name, e)
        return True


def _observed_wait(
    spec: ThumbnailSpec, lock: CacheLock, storage: Storage, name: str, timeout: float
) -> float:
    """:func:`_wait_for`, logged and counted, also when it ends in :class:`ThumbnailBusy`."""
    start = time.monotonic()
    try:
        return _wait_for(lock, storage, name, timeout)
    finally:
        waited = time.monotonic() - start
        metrics.record_lock_wait(waited)
        logger.info(
            "Waited %.1f ms for another worker's render of %s",
            waited * 1000,
            name,
            extra=log.fields(log.LOCK_WAIT, spec, thumbnail=name, seconds=waited),
        )


def _log_unavailable(lock: CacheLock, name: str, error: LockUnavailable) -> None:
    metrics.record_lock_unavailable()
    logger.warning(
        "Lock cache %r unreachable (%s); rendering %s without the lock.",
        lock.cache_alias,
        error,
        name,
        extra=log.fields(log.LOCK_UNAVAILABLE, thumbnail=name, reason="lock_unavailable"),
    )


def _wait_for(lock: CacheLock, storage: Storage, name: str, timeout: float) -> float:
    """Poll until the file appears (return) or the lock is free and ours (return)."""
    start = time.monotonic()
    deadline = start + timeout
    pause = POLL_START
    while True:
        time.sleep(pause)
        pause = min(pause * 1.5, POLL_MAX)
        if is_stored(storage, name):
            return time.monotonic() - start
        try:
            if lock.acquire():  # the holder finished without a file, failed, or expired
                return time.monotonic() - start
        except LockUnavailable as e:
            lock.held = True  # the cache went away: render unlocked, as on first try
            _log_unavailable(lock, name, e)
            return time.monotonic() - start
        if time.monotonic() >= deadline:
            raise ThumbnailBusy(retry_after=max(1, math.ceil(timeout / 2)))


def render_options() -> dict[str, Any]:
    """The engine's options from the settings, for every render (the view's, warming's)."""
    return {
        "upscale": app_settings.UPSCALE,
        "max_pixels": app_settings.MAX_SOURCE_PIXELS,
        "max_memory": app_settings.MAX_RENDER_MEMORY,
        "animation": AnimationPolicy(
            keep=app_settings.KEEP_ANIMATION,
            max_frames=app_settings.MAX_ANIMATION_FRAMES,
            max_pixels=app_settings.MAX_ANIMATION_PIXELS,
        ),
    }


def open_spec_source(spec: ThumbnailSpec) -> File[bytes]:
    """Open the source of ``spec`` within THUMBNAILS_MAX_SOURCE_BYTES, or :class:`SourceNotFound`."""
    source = source_storage()
    try:
        # Refused over THUMBNAILS_MAX_SOURCE_BYTES before a byte is read (on S3: one GET).
        return open_source(source, spec.source_path, app_settings.MAX_SOURCE_BYTES)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as e:
        raise SourceNotFound() from e
    except OSError as e:
        # Storages raise OSError subclasses for a missing key too (and
        # SuspiciousFileOperation is not an OSError: the spec already refused escapes).
        raise SourceNotFound() from e


def _render_and_save(spec: ThumbnailSpec, storage: Storage, name: str) -> float:
    start = time.perf_counter()
    fp = open_spec_source(spec)
    with fp:
        data = render_image(
            fp, spec, quality=app_settings.quality_for(spec.format), **render_options()
        )
    return store_rendered(spec, storage, name, data, start)


def store_rendered(
    spec: ThumbnailSpec, storage: Storage, name: str, data: bytes, start: float
) -> float:
    """Write a rendered thumbnail atomically, then signal, count and log the render.

    ``start`` is the ``time.perf_counter()`` the render began at; returns its duration.
    """
    try:
        save_atomically(storage, name, data, spec.content_type)
    except OSError as e:
        detail = f"The thumbnail could not be stored: {e.strerror or e}"
        raise StorageWriteError(detail=detail) from e
    duration = time.perf_counter() - start
    thumbnail_rendered.send(
        sender=ThumbnailSpec,
        spec=spec,
        source_path=spec.source_path,
        thumbnail_path=name,
        duration=duration,
    )
    metrics.record_render(duration)
    logger.info(
        "Rendered %s in %.1f ms",
        name,
        duration * 1000,
        extra=log.fields(log.RENDER, spec, thumbnail=name, seconds=duration),
    )
    return duration
