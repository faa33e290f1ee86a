"""Warming as tasks of Django's Tasks framework: ``thumbnails_warm --enqueue``.

:data:`warm_batch` is a task that warms a batch of sources (every spec of each,
one decode per source: :func:`.passes.warm_source`) and returns its counts and
failures as JSON. ``thumbnails_warm --enqueue`` walks the sources and enqueues
one task per batch on the configured backend (``TASKS``), so any number of
task workers, on any number of machines sharing the storages and the lock
cache, render the library. Warm tasks and live requests share the render lock:
a thumbnail is rendered once whoever asks first.

The framework is ``django.tasks`` on Django 6.0 and later, and the
``django-tasks`` backport on Django 5.2 and earlier (``pip install
restthumbs[tasks]``). This module is imported only by ``--enqueue`` and by the
task workers: defining a task validates it against the ``TASKS`` backend, so
it is the one module of restthumbs that reads a setting when it is imported.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from .passes import warm_source
from .sources import Source
from .specs import WarmSpec, from_json

if TYPE_CHECKING:
    from django_tasks import TaskResult


def _task_decorator() -> Any:
    try:
        from django.tasks import task  # Django >= 6.0
    except ImportError:
        try:
            from django_tasks import task  # the backport (Django 5.2 and earlier)
        except ImportError as e:
            raise ImproperlyConfigured(
                "thumbnails_warm --enqueue needs Django's Tasks framework: Django 6.0 or "
                "later, or the django-tasks backport (pip install 'restthumbs[tasks]'), "
                "and a TASKS backend that runs in worker processes."
            ) from e
    return task


def _finished(status: Any) -> bool:
    return str(getattr(status, "value", status)) in ("SUCCESSFUL", "FAILED")


@_task_decorator()  # type: ignore[untyped-decorator, misc, unused-ignore]
def warm_batch(
    paths: list[str], specs: list[list[str]], versions: list[str | None] | None = None
) -> dict[str, Any]:
    """Warm every source of ``paths`` in every spec; return counts and failures (JSON).

    ``versions``, when given, holds the version of each path's thumbnails (``None``
    for none); a batch enqueued without it (by an earlier release) warms unversioned.
    """
    checked = from_json(specs)
    result: dict[str, Any] = {"sources": 0, "rendered": 0, "skipped": 0, "failed": 0}
    failures: list[list[str]] = []
    if versions is None or len(versions) != len(paths):
        versions = [None] * len(paths)
    for path, version in zip(paths, versions, strict=True):
        outcome = warm_source(str(path), checked, None if version is None else str(version))
        result["sources"] += 1
        result["rendered"] += outcome.rendered
        result["skipped"] += outcome.skipped
        result["failed"] += outcome.failed
        if outcome.failed:
            failures.append([outcome.path, outcome.message])
    result["failures"] = failures
    return result


def enqueue(
    sources: Sequence[Source], specs: Sequence[WarmSpec], *, queue: str | None, backend: str | None
) -> TaskResult[dict[str, Any]]:
    """Enqueue one batch; the task's arguments are plain JSON (lists of strings).

    The versions go along only when some source has one: an unversioned batch keeps
    the arguments an earlier release's workers take.
    """
    task: Any = warm_batch
    changes: dict[str, str] = {}
    if queue:
        changes["queue_name"] = queue
    if backend:
        changes["backend"] = backend
    if changes:
        task = task.using(**changes)
    args: list[Any] = [[source.path for source in sources], [list(s) for s in specs]]
    if any(source.version is not None for source in sources):
        args.append([source.version for source in sources])
    result: TaskResult[dict[str, Any]] = task.enqueue(*args)
    return result


class CannotWait(Exception):
    """``--wait``, but the backend gives no results back and the task is still queued."""


def can_wait(backend: str | None) -> bool:
    """Whether results can be read back from the backend (from another process)."""
    task: Any = warm_batch.using(backend=backend) if backend else warm_batch
    return bool(task.get_backend().supports_get_result)


def outcome_of(result: Any) -> dict[str, Any] | None:
    """The counts of a finished task result; ``None`` while it is queued or running.

    A task that failed as a whole (a worker killed, an error outside
    :func:`.passes.warm_source`) counts every source of its batch as failed.
    """
    if not _finished(result.status):
        return None
    if str(getattr(result.status, "value", result.status)) == "SUCCESSFUL":
        value: dict[str, Any] = result.return_value
        return value
    paths = list(result.args[0]) if result.args else []
    errors = getattr(result, "errors", None) or []
    reason = errors[-1].exception_class_path if errors else "the task failed"
    return {
        "sources": len(paths),
        "rendered": 0,
        "skipped": 0,
        "failed": len(paths) * len(result.args[1]) if len(result.args) > 1 else len(paths),
        "failures": [[path, f"task failed: {reason}"] for path in paths],
    }


def refreshed(result_id: str, backend: str | None) -> Any:
    """The current state of the task result ``result_id``."""
    task: Any = warm_batch.using(backend=backend) if backend else warm_batch
    return task.get_result(result_id)


def batches(sources: Iterator[Source], size: int) -> Iterator[list[Source]]:
    """``sources`` in lists of ``size`` (the last one shorter), lazily."""
    batch: list[Source] = []
    for source in sources:
        batch.append(source)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
