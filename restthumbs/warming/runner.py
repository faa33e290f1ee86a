"""Running a warm: in this process (threads), or as tasks for workers elsewhere.

:func:`run_here` warms the sources in threads and yields each source's
:class:`~.passes.SourceOutcome` in walk order, whatever order the threads
finish in, with at most a few sources in flight (a walk of millions holds no
list of them). :func:`enqueue_all` hands the sources to the task backend in
batches and, when asked to wait, yields each batch's counts as it finishes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .passes import SourceOutcome, warm_source
from .sources import Source
from .specs import WarmSpec

T = TypeVar("T")
S = TypeVar("S")

#: Seconds between two looks at a batch's task result while waiting for it: the
#: first look soon (a batch may take milliseconds), then less often, up to POLL_MAX.
#: A look costs this process and the backend a few milliseconds of CPU, taken from
#: the workers when they share the machine: not more often than every 50 ms.
POLL_START = 0.05
POLL_MAX = 0.5
#: While enqueuing with ``--wait``, seconds between two looks at the finished batches.
LOOK_EVERY = 1.0

#: Failures listed in the summary; the rest are counted (each is on stderr as it happens).
MAX_LISTED_FAILURES = 1000


@dataclass
class Batch:
    """What one task did: how many sources, counts by thumbnail status, failures."""

    sources: int
    last: str
    rendered: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def ordered_results(
    executor: ThreadPoolExecutor, fn: Callable[[S], T], items: Iterable[S], window: int
) -> Iterator[T]:
    """Like ``executor.map`` (results in input order) with at most ``window`` tasks queued."""
    pending: deque[Future[T]] = deque()
    for item in items:
        pending.append(executor.submit(fn, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def run_here(
    sources: Iterable[Source], specs: list[WarmSpec], workers: int
) -> Iterator[SourceOutcome]:
    """Warm ``sources`` in ``workers`` threads; outcomes in walk order."""
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbnails_warm")

    def warm(source: Source) -> SourceOutcome:
        return warm_source(source.path, specs, source.version)

    try:
        yield from ordered_results(executor, warm, sources, workers * 4)
    finally:
        # On Ctrl-C or a configuration error, drop the queue but let the
        # renders in progress finish (their writes are atomic anyway).
        executor.shutdown(wait=True, cancel_futures=True)


def enqueue_all(
    batches: Iterable[list[Source]],
    specs: list[WarmSpec],
    *,
    queue: str | None,
    backend: str | None,
    wait: bool,
    on_enqueued: Callable[[list[Source]], None],
) -> Iterator[Batch]:
    """Enqueue every batch; with ``wait``, yield each one's counts as it finishes.

    Results are read back in the order the batches were enqueued; only the ids
    of the batches not read back yet are kept.
    """
    from . import tasks

    waiting: deque[tuple[str, str, int]] = deque()
    looked = time.monotonic()
    for sources in batches:
        result = tasks.enqueue(sources, specs, queue=queue, backend=backend)
        on_enqueued(sources)
        if not wait:
            continue
        last = sources[-1].path
        counts = tasks.outcome_of(result)  # an immediate backend has run it already
        if counts is not None:
            yield _batch(counts, last, len(sources))
            continue
        if not waiting and not tasks.can_wait(backend):
            raise tasks.CannotWait(
                "--wait: this task backend gives no results back; enqueue without --wait."
            )
        waiting.append((result.id, last, len(sources)))
        if time.monotonic() - looked < LOOK_EVERY:
            continue  # reading a result back costs the workers' Redis a few requests
        looked = time.monotonic()
        while waiting:
            batch = _finished_batch(waiting[0], backend, block=False)
            if batch is None:
                break
            waiting.popleft()
            yield batch
    while waiting:
        batch = _finished_batch(waiting.popleft(), backend, block=True)
        assert batch is not None
        yield batch


def _finished_batch(item: tuple[str, str, int], backend: str | None, block: bool) -> Batch | None:
    from . import tasks

    result_id, last, count = item
    pause = POLL_START
    while True:
        counts = tasks.outcome_of(tasks.refreshed(result_id, backend))
        if counts is not None:
            return _batch(counts, last, count)
        if not block:
            return None
        time.sleep(pause)
        pause = min(pause * 1.5, POLL_MAX)


def _batch(counts: dict[str, Any], last: str, count: int) -> Batch:
    return Batch(
        sources=int(counts.get("sources", count)),
        last=last,
        rendered=int(counts.get("rendered", 0)),
        skipped=int(counts.get("skipped", 0)),
        failed=int(counts.get("failed", 0)),
        failures=[(str(p), str(m)) for p, m in counts.get("failures", [])],
    )
