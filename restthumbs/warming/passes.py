"""One pass over one source: every missing thumbnail of it, from one read and one decode.

:func:`warm_source` is :func:`restthumbs.ensure.ensure_thumbnail` for several
specs of one source, with the same names, signatures, render lock, atomic
writes, ``thumbnail_rendered`` signal, metrics and log lines:

1. each thumbnail already stored is skipped (one ``lstat`` or ``HeadObject``, or
   none where the shared cache remembers it: :mod:`restthumbs.stored`);
2. the render lock of each missing one is taken (``cache.add``); a thumbnail
   stored by another worker in the meantime is skipped;
3. the source is read once and decoded once for the thumbnails whose locks are
   ours (:func:`restthumbs.engine.render_many`); each is stored, remembered,
   announced and unlocked as soon as it is encoded, so that the first request
   for a warmed thumbnail costs no storage request either;
4. a thumbnail whose lock another worker holds (a live request, another warm
   worker) is left to it: :func:`restthumbs.ensure.render_missing` waits for its
   file, or renders it alone if that worker gives up.

So a warm run and live requests, in any number of processes sharing the lock
cache, render each thumbnail once. Nothing here raises for a bad source: every
thumbnail ends ``rendered``, ``skipped`` or ``failed`` with a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from ..conf import app_settings
from ..engine import render_many
from ..ensure import _acquire, open_spec_source, render_missing, render_options, store_rendered
from ..exceptions import ThumbnailError
from ..locks import CacheLock, lock_key
from ..signing import sign
from ..spec import ThumbnailSpec, build_spec
from ..storage import is_stored, thumbnail_storage
from ..stored import Memory, recall
from .specs import WarmSpec

logger = logging.getLogger("restthumbs")

RENDERED, SKIPPED, FAILED = "rendered", "skipped", "failed"


@dataclass
class SourceOutcome:
    """What happened to the thumbnails of one source (counts by status)."""

    path: str
    rendered: int = 0
    skipped: int = 0
    failed: int = 0
    duration: float = 0.0
    messages: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``failed`` if any failed, else ``rendered`` if any was rendered, else ``skipped``."""
        if self.failed:
            return FAILED
        return RENDERED if self.rendered else SKIPPED

    @property
    def message(self) -> str:
        return "; ".join(self.messages)

    def fail(self, error: BaseException) -> None:
        """Count one failed thumbnail; its message is listed once per source."""
        self.failed += 1
        if isinstance(error, ThumbnailError):
            text = f"{error.log_message} ({error.reason})"
        else:
            text = _("unexpected error: %(error)s") % {"error": f"{type(error).__name__}: {error}"}
        if text not in self.messages:
            self.messages.append(text)


def warm_source(path: str, specs: Sequence[WarmSpec], version: str | None = None) -> SourceOutcome:
    """Make sure every thumbnail of ``path`` in ``specs`` exists; never raises for a bad file.

    ``version``: the version the thumbnails' URLs carry (see :mod:`restthumbs.versions`);
    an invalid one fails the source. ``ImproperlyConfigured`` is re-raised: it would
    fail every file the same way.
    """
    outcome = SourceOutcome(path)
    start = time.perf_counter()
    try:
        built = [build_spec(path, *spec, version=version) for spec in specs]
    except ThumbnailError as e:  # the path (a backslash, a reserved name), or the version
        for _spec in specs:
            outcome.fail(e)
        return outcome
    try:
        _warm(built, outcome)
    except ImproperlyConfigured:
        raise
    except Exception as e:  # the thumbnail storage unreachable (StorageUnavailable), a bug
        if not isinstance(e, ThumbnailError):
            logger.exception("Unexpected error while warming %s", path, extra={"source": path})
        outcome.fail(e)
        outcome.failed = len(specs) - outcome.rendered - outcome.skipped  # those not done
    outcome.duration = time.perf_counter() - start
    return outcome


def _warm(specs: list[ThumbnailSpec], outcome: SourceOutcome) -> None:
    storage = thumbnail_storage()
    mine: list[Mine] = []
    busy: list[tuple[ThumbnailSpec, str]] = []
    try:
        for spec in specs:
            secret = sign(spec)
            name = spec.name(secret)
            memory = recall(name)  # before the look: a purge from now on makes it worthless
            if memory.stored:
                outcome.skipped += 1
                continue
            if is_stored(storage, name):
                memory.remember()
                outcome.skipped += 1
                continue
            lock = CacheLock(
                app_settings.CACHE, lock_key(app_settings.KEY_PREFIX, name), _timeout()
            )
            if not _acquire(lock, name):
                busy.append((spec, secret))
            elif is_stored(storage, name):  # stored by another worker since our look
                lock.release()
                outcome.skipped += 1
            else:
                mine.append(Mine(spec, name, lock, memory))
        if mine:
            _render_together(mine, outcome)
    finally:
        for item in mine:
            item.lock.release()  # those not released yet: after a failure
    for spec, secret in busy:
        try:
            result = render_missing(spec, secret)
        except ThumbnailError as e:
            outcome.fail(e)
            continue
        if result.rendered:
            outcome.rendered += 1
        else:
            outcome.skipped += 1


@dataclass
class Mine:
    """A thumbnail this pass renders: its lock is ours."""

    spec: ThumbnailSpec
    name: str
    lock: CacheLock
    memory: Memory


def _render_together(mine: list[Mine], outcome: SourceOutcome) -> None:
    """One read and one decode for every spec of ``mine``; each stored and unlocked in turn."""
    storage = thumbnail_storage()
    start = time.perf_counter()
    specs = [item.spec for item in mine]
    done = 0
    try:
        with open_spec_source(specs[0]) as fp:
            outputs = render_many(
                fp,
                specs,
                qualities=[app_settings.quality_for(spec.format) for spec in specs],
                **render_options(),
            )
            for item, output in zip(mine, outputs, strict=False):
                done += 1
                try:
                    if isinstance(output, ThumbnailError):
                        raise output
                    store_rendered(item.spec, storage, item.name, output, start)
                except ThumbnailError as e:
                    outcome.fail(e)
                else:
                    item.memory.remember()
                    outcome.rendered += 1
                finally:
                    item.lock.release()
    except ThumbnailError as e:  # the source itself: every spec not done fails alike
        for _ in mine[done:]:
            outcome.fail(e)


def _timeout() -> float:
    return float(app_settings.LOCK_TIMEOUT)
