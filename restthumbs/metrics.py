"""Opt-in Prometheus metrics (``THUMBNAILS_METRICS = True`` and ``prometheus-client``).

The ``record_*`` hooks are called by the renderer and the view. Disabled (the
default) they cost one settings lookup and never import ``prometheus_client``.
Enabled, the metric objects are created once, on first use, in
``prometheus_client``'s default registry (never at import: importing restthumbs
registers nothing), so they appear next to the process metrics and any other
metrics of the site:

- ``restthumbs_renders_total`` and ``restthumbs_render_seconds`` (histogram);
- ``restthumbs_lock_waits_total`` and ``restthumbs_lock_wait_seconds`` (histogram):
  requests that found another worker rendering their thumbnail, and how long they waited;
- ``restthumbs_rejects_total{reason}``: refusals, by ``ThumbnailError.reason``;
- ``restthumbs_lock_unavailable_total``: renders done without the lock (cache unreachable).

:func:`metrics_view` exposes them (and ``prometheus_client``'s multi-process mode
when ``PROMETHEUS_MULTIPROC_DIR`` is set, as under gunicorn).
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any, NamedTuple

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from .conf import app_settings

#: Renders take milliseconds (small JPEG) to seconds (a cold 100-megapixel source).
RENDER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: A wait ends when the other render does, or at ``THUMBNAILS_LOCK_TIMEOUT`` (10 s by default).
LOCK_WAIT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics(NamedTuple):
    renders: Any
    render_seconds: Any
    lock_waits: Any
    lock_wait_seconds: Any
    rejects: Any
    lock_unavailable: Any


_lock = threading.Lock()
_metrics: Metrics | None = None
_missing = False  # prometheus_client could not be imported: do not retry at every render


def get_metrics() -> Metrics | None:
    """The metric objects, created on first call; ``None`` without ``prometheus_client``.

    Created under a lock: two threads registering the same name in the default
    registry would make the second one fail with "Duplicated timeseries".
    """
    global _metrics, _missing
    if _metrics is not None or _missing:
        return _metrics
    with _lock:
        if _metrics is None and not _missing:
            try:
                import prometheus_client
            except ImportError:
                _missing = True
                return None
            _metrics = _create(prometheus_client)
    return _metrics


def _create(prom: Any) -> Metrics:
    rejects = prom.Counter(
        "restthumbs_rejects_total",
        "Thumbnail requests refused, by reason.",
        ["reason"],
    )
    for reason in known_reasons():  # zeros from the start, so rate() sees the first one
        rejects.labels(reason)
    return Metrics(
        renders=prom.Counter("restthumbs_renders_total", "Thumbnails rendered."),
        render_seconds=prom.Histogram(
            "restthumbs_render_seconds",
            "Time to read the source, render and store a thumbnail.",
            buckets=RENDER_BUCKETS,
        ),
        lock_waits=prom.Counter(
            "restthumbs_lock_waits_total",
            "Requests that waited for another worker rendering the same thumbnail.",
        ),
        lock_wait_seconds=prom.Histogram(
            "restthumbs_lock_wait_seconds",
            "Time spent waiting for another worker's render.",
            buckets=LOCK_WAIT_BUCKETS,
        ),
        rejects=rejects,
        lock_unavailable=prom.Counter(
            "restthumbs_lock_unavailable_total",
            "Renders done without the lock because the lock cache was unreachable.",
        ),
    )


def known_reasons() -> list[str]:
    """Every ``reason`` the view can give: the domain errors' and the view's own."""
    from .exceptions import ThumbnailError

    reasons, pending = set(), [ThumbnailError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        reasons.add(cls.reason)
    reasons.discard(ThumbnailError.reason)  # the abstract base, never raised as such
    return sorted(reasons | {"method_not_allowed", "internal_error"})


def _active() -> Metrics | None:
    if not app_settings.METRICS:
        return None
    return get_metrics()


def record_render(seconds: float) -> None:
    metrics = _active()
    if metrics is not None:
        metrics.renders.inc()
        metrics.render_seconds.observe(seconds)


def record_lock_wait(seconds: float) -> None:
    metrics = _active()
    if metrics is not None:
        metrics.lock_waits.inc()
        metrics.lock_wait_seconds.observe(seconds)


def record_reject(reason: str) -> None:
    metrics = _active()
    if metrics is not None:
        metrics.rejects.labels(reason).inc()


def record_lock_unavailable() -> None:
    metrics = _active()
    if metrics is not None:
        metrics.lock_unavailable.inc()


def _multiprocess_dir() -> str | None:
    # The lower-case name is prometheus_client's deprecated spelling; it still honours it.
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def _registry(prom: Any) -> Any:
    """The default registry, or one reading every worker's files in multi-process mode."""
    path = _multiprocess_dir()
    if not path:
        return prom.REGISTRY
    multiprocess: Any = importlib.import_module("prometheus_client.multiprocess")
    registry = prom.CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    return registry


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition: mount with ``path("metrics", metrics_view)``.

    Answers ``503`` when ``prometheus_client`` is not installed. Restrict who can
    reach it (nginx ``allow``/``deny``, or an internal port): it is not signed.
    """
    try:
        import prometheus_client
        from prometheus_client.exposition import choose_encoder
    except ImportError:
        response = HttpResponse(
            _('Metrics need prometheus-client: pip install "restthumbs[metrics]".') + "\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    else:
        if app_settings.METRICS:
            get_metrics()  # the families show, at zero, before the first render
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = HttpResponse(encoder(_registry(prometheus_client)), content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
