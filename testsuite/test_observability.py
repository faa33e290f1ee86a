"""Observability: structured logs (:mod:`restthumbs.log`), ``Server-Timing``, Prometheus metrics.

Logs are read as an operator would: a ``JSONFormatter`` handler on the
``restthumbs`` logger, one JSON object per line. Another worker is played as in
``test_ensure.py``: this test takes the same :class:`~restthumbs.locks.CacheLock`
and a thread writes the file or releases the lock. Metrics are read from
``prometheus_client``'s default registry before and after, so the assertions are
deltas, whatever earlier tests recorded. Multi-process mode runs real processes.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from django.urls import include, path

from restthumbs import metrics as metrics_module
from restthumbs.api import thumbnail
from restthumbs.log import FIELDS, JSONFormatter
from restthumbs.metrics import known_reasons, metrics_view
from restthumbs.signing import sign
from restthumbs.spec import build_spec

from . import images
from .utils import body, files_under, later, other_worker_lock, write_like_a_worker

try:
    import prometheus_client
    import prometheus_client.parser
except ImportError:  # the optional extra "metrics" is not installed
    prometheus_client = None  # type: ignore[assignment]

needs_prometheus = pytest.mark.skipif(
    prometheus_client is None, reason="needs prometheus-client (restthumbs[metrics])"
)

SOURCE = "animals/kitten.jpg"
WRONG_SECRET = "0" * 64

#: Mounted as the docs say (used through ROOT_URLCONF="testsuite.test_observability").
urlpatterns = [
    path("metrics", metrics_view),
    path("", include("restthumbs.urls")),
]


@pytest.fixture(autouse=True)
def kitten(write_source: Callable[..., Path]) -> str:
    write_source(SOURCE)
    return SOURCE


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The ``restthumbs`` logger at INFO through a JSONFormatter; returns a line parser."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("restthumbs")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def lines() -> list[dict[str, Any]]:
        text = stream.getvalue()
        assert text.isascii()  # non-ASCII is escaped: valid in any log encoding
        return [json.loads(line) for line in text.splitlines()]

    yield lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def events(lines: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == event]


def url_with_secret(url: str, secret: str) -> str:
    head, _, filename = url.rpartition("/")
    return f"{head}/{secret}.{filename.rpartition('.')[2]}"


# -- another worker ----------------------------------------------------------


def dead_lock_cache() -> dict[str, Any]:
    """A memcached lock cache on a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "locks": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": f"127.0.0.1:{port}",
        },
    }


# -- logs: renders and hits ----------------------------------------------------


def test_render_logs_one_json_render_event_with_the_spec(
    client: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    thumb = thumbnail(SOURCE, "100x80", "scale", ".webp")
    response = client.get(thumb.url)
    assert response.status_code == 200
    lines = log_lines()
    assert [line["event"] for line in lines] == ["render"]
    line = lines[0]
    assert set(line) == {
        "timestamp", "level", "logger", "message",
        "event", "source", "size", "method", "ext", "thumbnail", "duration_ms",
    }  # fmt: skip
    assert line["level"] == "INFO" and line["logger"] == "restthumbs"
    assert (line["source"], line["size"], line["method"], line["ext"]) == (
        SOURCE, "100x80", "scale", "webp",
    )  # fmt: skip
    assert line["thumbnail"] == thumb.name
    assert 0 < line["duration_ms"] < 10_000
    assert line["message"].startswith(f"Rendered {thumb.name} in ")
    stamp = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and abs(time.time() - stamp.timestamp()) < 60


def test_hit_logs_nothing(client: Any, log_lines: Callable[[], list[dict[str, Any]]]) -> None:
    url = thumbnail(SOURCE, "100x100").url
    body(client.get(url))
    assert len(events(log_lines(), "render")) == 1
    response = client.get(url)
    assert response.status_code == 200
    assert len(log_lines()) == 1  # still only the first render's line


def test_unicode_source_is_escaped_json_that_round_trips(
    client: Any, write_source: Callable[..., Path], log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    source = "фото/貓 ☕.jpg"
    write_source(source)
    assert client.get(thumbnail(source, "50x50").url).status_code == 200
    (line,) = events(log_lines(), "render")
    assert line["source"] == source
    assert line["thumbnail"].startswith(source + "/50x50/crop/")


# -- logs: refusals ------------------------------------------------------------


def refusal_cases() -> list[Any]:
    """(id, prepare(write_source) -> URL, reason, status, spec fields present?)."""

    def bad_signature(write: Callable[..., Path]) -> str:
        return url_with_secret(thumbnail(SOURCE, "100x100").url, WRONG_SECRET)

    def invalid_spec(write: Callable[..., Path]) -> str:
        return url_with_secret(f"/{SOURCE}/0x100/crop/x.jpg", WRONG_SECRET)

    def size_not_allowed(write: Callable[..., Path]) -> str:
        spec = build_spec(SOURCE, "5000x5000", "crop", "jpg")  # signed: thumbnail() refuses it
        return "/" + spec.name(sign(spec))

    def missing_source(write: Callable[..., Path]) -> str:
        return thumbnail("animals/nope.jpg", "100x100").url

    def bad_image(write: Callable[..., Path]) -> str:
        write("broken.jpg", b"this is not an image at all")
        return thumbnail("broken.jpg", "100x100").url

    return [
        pytest.param(bad_signature, "bad_signature", 401, True, id="bad-signature"),
        pytest.param(invalid_spec, "invalid_spec", 400, False, id="invalid-spec"),
        pytest.param(size_not_allowed, "size_not_allowed", 400, True, id="size-not-allowed"),
        pytest.param(missing_source, "source_missing", 404, True, id="missing-source"),
        pytest.param(bad_image, "bad_image", 422, True, id="bad-image"),
    ]


@pytest.mark.parametrize(("prepare", "reason", "status", "has_spec"), refusal_cases())
def test_each_refusal_logs_one_refuse_event(
    client: Any,
    write_source: Callable[..., Path],
    thumbs_dir: Path,
    log_lines: Callable[[], list[dict[str, Any]]],
    prepare: Callable[[Callable[..., Path]], str],
    reason: str,
    status: int,
    has_spec: bool,
) -> None:
    url = prepare(write_source)
    response = client.get(url)
    assert response.status_code == status
    assert not response.has_header("Server-Timing")
    lines = log_lines()
    assert [line["event"] for line in lines] == ["refuse"]
    line = lines[0]
    assert line["level"] == "INFO"
    assert (line["reason"], line["status"]) == (reason, status)
    assert "/" + line["thumbnail"] == url
    assert 0 <= line["duration_ms"] < 10_000
    assert line["message"].startswith(f"Refused {line['thumbnail']}: {reason} (")
    spec_fields = {"source", "size", "method", "ext"}
    if has_spec:
        assert spec_fields <= set(line)
        assert line["method"] == "crop" and line["ext"] == "jpg"
    else:
        assert not spec_fields & set(line)
    assert files_under(thumbs_dir) == []


def test_method_not_allowed_is_a_refusal(
    client: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    response = client.post(thumbnail(SOURCE, "100x100").url)
    assert response.status_code == 405
    (line,) = log_lines()
    assert (line["event"], line["reason"], line["status"]) == ("refuse", "method_not_allowed", 405)


def test_unexpected_error_is_logged_as_a_500_refusal_with_traceback(
    client: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    """A response backend that cannot be imported: refused before anything renders."""
    with override_settings(THUMBNAILS_RESPONSE_BACKEND="restthumbs.responses.nope.sendfile"):
        response = client.get(thumbnail(SOURCE, "100x100").url)
    assert response.status_code == 500
    (refuse,) = log_lines()
    assert (refuse["event"], refuse["reason"], refuse["status"]) == (
        "refuse",
        "internal_error",
        500,
    )
    assert refuse["level"] == "ERROR"
    assert "ImproperlyConfigured" in refuse["exc_info"]


# -- logs, Server-Timing and metrics around the lock ---------------------------

TIMING = r"(\d+\.\d)"


def test_server_timing_on_a_render_and_none_on_a_hit(client: Any) -> None:
    url = thumbnail(SOURCE, "100x100").url
    first = client.get(url)
    match = re.fullmatch(rf"render;dur={TIMING}, total;dur={TIMING}", first["Server-Timing"])
    assert match, first["Server-Timing"]
    render, total = map(float, match.groups())
    assert 0 < render <= total
    second = client.get(url)
    assert second.status_code == 200
    assert not second.has_header("Server-Timing")


def test_waiting_for_another_workers_file(
    client: Any, thumbs_dir: Path, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    """Lock part in Server-Timing, a lock_wait event, no render anywhere."""
    thumb = thumbnail(SOURCE, "100x100")
    lock = other_worker_lock(thumb.name)
    theirs = images.encode(images.photo((100, 100), seed=7), "JPEG")
    writer = later(0.3, lambda: write_like_a_worker(thumbs_dir / thumb.name, theirs))
    try:
        response = client.get(thumb.url)
    finally:
        writer.join()
        lock.release()
    assert response.status_code == 200 and body(response) == theirs
    match = re.fullmatch(rf"lock;dur={TIMING}, total;dur={TIMING}", response["Server-Timing"])
    assert match, response["Server-Timing"]
    waited, total = map(float, match.groups())
    assert 250 <= waited <= total
    lines = log_lines()
    assert [line["event"] for line in lines] == ["lock_wait"]
    assert lines[0]["thumbnail"] == thumb.name and lines[0]["size"] == "100x100"
    assert lines[0]["duration_ms"] >= 250


def test_taking_over_after_the_holder_left_reports_lock_and_render(
    client: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    thumb = thumbnail(SOURCE, "100x100")
    lock = other_worker_lock(thumb.name)
    releaser = later(0.3, lock.release)
    try:
        response = client.get(thumb.url)
    finally:
        releaser.join()
    assert response.status_code == 200
    timing = response["Server-Timing"]
    match = re.fullmatch(rf"lock;dur={TIMING}, render;dur={TIMING}, total;dur={TIMING}", timing)
    assert match, timing
    waited, render, total = map(float, match.groups())
    assert waited >= 250 and waited + render <= total
    assert [line["event"] for line in log_lines()] == ["lock_wait", "render"]


# -- metrics ---------------------------------------------------------------------


def sample(name: str, **labels: str) -> float:
    value = prometheus_client.REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else float(value)


class Samples:
    """Read every restthumbs sample now; ``delta()`` reads them again and subtracts."""

    NAMES = (
        "restthumbs_renders_total",
        "restthumbs_render_seconds_count",
        "restthumbs_render_seconds_sum",
        "restthumbs_lock_waits_total",
        "restthumbs_lock_wait_seconds_count",
        "restthumbs_lock_wait_seconds_sum",
        "restthumbs_lock_unavailable_total",
    )

    def __init__(self) -> None:
        self.before = self.read()

    def read(self) -> dict[str, float]:
        values = {name: sample(name) for name in self.NAMES}
        for reason in known_reasons():
            values[f"rejects:{reason}"] = sample("restthumbs_rejects_total", reason=reason)
        return values

    def delta(self) -> dict[str, float]:
        after = self.read()
        return {k: after[k] - self.before[k] for k in after if after[k] != self.before[k]}


def metrics_on() -> override_settings:
    return override_settings(THUMBNAILS_METRICS=True)


@needs_prometheus
@metrics_on()
def test_a_render_counts_once_and_a_hit_not_at_all(client: Any) -> None:
    url = thumbnail(SOURCE, "100x100").url
    samples = Samples()
    assert client.get(url).status_code == 200
    delta = samples.delta()
    assert set(delta) == {
        "restthumbs_renders_total",
        "restthumbs_render_seconds_count",
        "restthumbs_render_seconds_sum",
    }
    assert delta["restthumbs_renders_total"] == 1
    assert delta["restthumbs_render_seconds_count"] == 1
    assert 0 < delta["restthumbs_render_seconds_sum"] < 10
    samples = Samples()
    assert client.get(url).status_code == 200
    assert samples.delta() == {}


@needs_prometheus
@metrics_on()
def test_rejects_are_counted_by_reason(client: Any, write_source: Callable[..., Path]) -> None:
    samples = Samples()
    bad = url_with_secret(thumbnail(SOURCE, "100x100").url, WRONG_SECRET)
    assert client.get(bad).status_code == 401
    assert client.get(bad).status_code == 401
    assert client.get(thumbnail("nope.jpg", "100x100").url).status_code == 404
    write_source("broken.jpg", b"GIF89a but not really")
    assert client.get(thumbnail("broken.jpg", "100x100").url).status_code == 422
    assert client.get(f"/{SOURCE}/100x100/crop/.bmp").status_code == 400
    assert samples.delta() == {
        "rejects:bad_signature": 2,
        "rejects:source_missing": 1,
        "rejects:bad_image": 1,
        "rejects:invalid_spec": 1,
    }


@needs_prometheus
@metrics_on()
def test_a_lock_wait_is_counted_and_timed(client: Any, thumbs_dir: Path) -> None:
    thumb = thumbnail(SOURCE, "100x100")
    lock = other_worker_lock(thumb.name)
    data = images.encode(images.photo((100, 100)), "JPEG")
    writer = later(0.3, lambda: write_like_a_worker(thumbs_dir / thumb.name, data))
    samples = Samples()
    try:
        assert client.get(thumb.url).status_code == 200
    finally:
        writer.join()
        lock.release()
    delta = samples.delta()
    assert set(delta) == {
        "restthumbs_lock_waits_total",
        "restthumbs_lock_wait_seconds_count",
        "restthumbs_lock_wait_seconds_sum",
    }
    assert delta["restthumbs_lock_waits_total"] == 1
    assert delta["restthumbs_lock_wait_seconds_count"] == 1
    assert 0.25 <= delta["restthumbs_lock_wait_seconds_sum"] < 5


@needs_prometheus
@metrics_on()
@override_settings(THUMBNAILS_LOCK_TIMEOUT=1)
def test_busy_is_a_lock_wait_then_a_refusal(
    client: Any, thumbs_dir: Path, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    thumb = thumbnail(SOURCE, "100x100")
    lock = other_worker_lock(thumb.name, timeout=30)
    samples = Samples()
    try:
        response = client.get(thumb.url)
    finally:
        lock.release()
    assert response.status_code == 503
    assert not response.has_header("Server-Timing")
    wait, refuse = log_lines()
    assert wait["event"] == "lock_wait" and wait["duration_ms"] >= 900
    assert (refuse["event"], refuse["reason"], refuse["status"]) == ("refuse", "busy", 503)
    assert refuse["level"] == "WARNING"
    assert refuse["duration_ms"] >= wait["duration_ms"]
    delta = samples.delta()
    assert delta.pop("restthumbs_lock_wait_seconds_sum") >= 0.9
    assert delta == {
        "restthumbs_lock_waits_total": 1,
        "restthumbs_lock_wait_seconds_count": 1,
        "rejects:busy": 1,
    }
    assert files_under(thumbs_dir) == []


@needs_prometheus
@metrics_on()
def test_unreachable_lock_cache_is_logged_and_counted(
    client: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    samples = Samples()
    with override_settings(CACHES=dead_lock_cache(), THUMBNAILS_CACHE="locks"):
        response = client.get(thumbnail(SOURCE, "100x100").url)
    assert response.status_code == 200
    unavailable, render = log_lines()
    assert unavailable["event"] == "lock_unavailable" and unavailable["level"] == "WARNING"
    assert unavailable["thumbnail"] == render["thumbnail"]
    assert render["event"] == "render"
    delta = samples.delta()
    assert delta["restthumbs_lock_unavailable_total"] == 1
    assert delta["restthumbs_renders_total"] == 1


@needs_prometheus
def test_disabled_metrics_change_nothing(client: Any) -> None:
    metrics_module.get_metrics()  # registered (as after an enabled test), so deltas are readable
    samples = Samples()
    assert client.get(thumbnail(SOURCE, "100x100").url).status_code == 200
    assert client.get(thumbnail("nope.jpg", "100x100").url).status_code == 404
    assert samples.delta() == {}


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_disabled_metrics_never_import_prometheus_client(tmp_path: Path) -> None:
    """In a fresh process, renders and refusals with the default settings leave
    prometheus_client unimported: nothing is registered, nothing is paid."""
    out = run_python(
        f"""
        import sys
        import django
        django.setup()
        from django.test import Client, override_settings
        from testsuite import images
        from restthumbs import thumbnail_url
        media = {str(tmp_path / "m")!r}
        with override_settings(MEDIA_ROOT=media, THUMBNAILS_STORAGE_ROOT={str(tmp_path / "t")!r}):
            import os
            os.makedirs(media)
            with open(os.path.join(media, "a.jpg"), "wb") as f:
                f.write(images.encode(images.photo((64, 64)), "JPEG"))
            client = Client()
            for url in (thumbnail_url("a.jpg", "32x32"), thumbnail_url("b.jpg", "32x32")):
                response = client.get(url)
                print(response.status_code)
                response.close()
        print("prometheus_client" in sys.modules)
        """,
        env={"DJANGO_SETTINGS_MODULE": "testsuite.settings"},
    )
    assert out.split() == ["200", "404", "False"]


# -- the metrics view --------------------------------------------------------------


def exposition(client: Any, **headers: str) -> tuple[Any, str]:
    with override_settings(ROOT_URLCONF=__name__):
        response = client.get("/metrics", headers=headers)
    return response, response.content.decode()


def parse(text: str) -> dict[tuple[str, str | None], float]:
    """``{(sample name, reason label or None): value}`` of a text exposition."""
    return {
        (s.name, s.labels.get("reason")): s.value
        for family in prometheus_client.parser.text_string_to_metric_families(text)
        for s in family.samples
    }


METRIC_NAMES = (
    "restthumbs_renders_total",
    "restthumbs_render_seconds_bucket",
    "restthumbs_lock_waits_total",
    "restthumbs_lock_wait_seconds_bucket",
    "restthumbs_rejects_total",
    "restthumbs_lock_unavailable_total",
)


@needs_prometheus
@metrics_on()
def test_metrics_view_exposes_every_metric_as_text(client: Any) -> None:
    with override_settings(ROOT_URLCONF=__name__):
        assert client.get(thumbnail(SOURCE, "100x100").url).status_code == 200
    response, text = exposition(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"] == "no-store"
    for name in METRIC_NAMES:
        assert re.search(rf"^{name}[{{ ]", text, re.M), name
    values = parse(text)
    assert values[("restthumbs_renders_total", None)] == sample("restthumbs_renders_total") >= 1
    # Every reason is there from the start, at zero if nothing was refused for it.
    reasons = {reason for name, reason in values if name == "restthumbs_rejects_total"}
    assert reasons == set(known_reasons())


@needs_prometheus
@metrics_on()
def test_metrics_view_speaks_openmetrics_when_asked(client: Any) -> None:
    response, text = exposition(client, accept="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert text.endswith("# EOF\n")
    assert "restthumbs_renders_total" in text


def test_metrics_view_is_get_only(client: Any) -> None:
    with override_settings(ROOT_URLCONF=__name__):
        assert client.post("/metrics").status_code == 405


def test_known_reasons_are_every_reason_the_view_gives() -> None:
    assert set(known_reasons()) == {
        "malformed_url", "invalid_spec", "size_not_allowed", "invalid_path", "bad_signature",
        "source_missing", "bad_image", "source_too_large", "busy", "storage_write",
        "storage_unavailable", "output_too_large",
        "remote_refused", "remote_address_refused", "remote_redirects", "remote_too_large",
        "remote_not_image", "origin_unavailable", "origin_timeout", "browser_unavailable",
        "method_not_allowed", "internal_error",
    }  # fmt: skip


WORKER = """
    from django.conf import settings
    settings.configure(THUMBNAILS_METRICS=True)
    from restthumbs import metrics
    for _ in range({renders}):
        metrics.record_render(0.2)
    metrics.record_reject("bad_signature")
    print(metrics.get_metrics() is not None)
"""


@needs_prometheus
@metrics_on()
def test_metrics_view_adds_up_gunicorn_workers_in_multiprocess_mode(
    client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes write their samples to PROMETHEUS_MULTIPROC_DIR and exit;
    the view (in a third process, this one) reports their sum."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory)}
    assert run_python(WORKER.format(renders=2), env).strip() == "True"
    assert run_python(WORKER.format(renders=3), env).strip() == "True"
    assert len(list(directory.glob("*.db"))) >= 2  # one file per process and kind
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    response, text = exposition(client)
    assert response.status_code == 200
    values = parse(text)
    assert values[("restthumbs_renders_total", None)] == 5
    assert values[("restthumbs_render_seconds_count", None)] == 5
    assert values[("restthumbs_render_seconds_sum", None)] == pytest.approx(1.0)
    assert values[("restthumbs_rejects_total", "bad_signature")] == 2


# -- prometheus_client missing -------------------------------------------------------


@pytest.fixture
def without_prometheus(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh process where ``import prometheus_client`` fails."""
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.setitem(sys.modules, "prometheus_client.exposition", None)
    monkeypatch.setattr(metrics_module, "_metrics", None)
    monkeypatch.setattr(metrics_module, "_missing", False)


def restthumbs_check_ids() -> list[str]:
    return sorted(str(m.id) for m in run_checks() if str(m.id).startswith("restthumbs."))


def test_w003_when_metrics_are_on_but_prometheus_client_is_missing(
    without_prometheus: None,
) -> None:
    with metrics_on():
        messages = [m for m in run_checks() if str(m.id).startswith("restthumbs.")]
    assert [m.id for m in messages] == ["restthumbs.W003"]
    assert not messages[0].is_serious()
    assert "THUMBNAILS_METRICS" in messages[0].msg
    assert "restthumbs[metrics]" in str(messages[0].hint)
    assert restthumbs_check_ids() == []  # metrics off: nothing to warn about


@needs_prometheus
def test_no_w003_when_prometheus_client_is_installed() -> None:
    with metrics_on():
        assert restthumbs_check_ids() == []


def test_without_prometheus_client_hooks_do_nothing_and_the_view_says_why(
    client: Any, without_prometheus: None, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    with metrics_on():
        assert client.get(thumbnail(SOURCE, "100x100").url).status_code == 200
        assert metrics_module._missing  # tried once, remembered: no import per render
        response, text = exposition(client)
    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"
    assert "prometheus-client" in text
    assert [line["event"] for line in log_lines()] == ["render"]


# -- the formatter on its own ----------------------------------------------------------


def make_record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Boom %s", ("x",), None
    )
    record.__dict__.update(extra)
    return record


def test_formatter_prints_only_the_fields_a_record_has() -> None:
    line = json.loads(JSONFormatter().format(make_record(reason="busy", unrelated="no")))
    assert set(line) == {"timestamp", "level", "logger", "message", "reason"}
    assert (line["level"], line["logger"], line["message"]) == ("ERROR", "django.request", "Boom x")


def test_formatter_keeps_the_field_order_and_stringifies_the_rest() -> None:
    values = {name: f"v-{name}" for name in FIELDS} | {"status": Path("/x")}
    line = json.loads(JSONFormatter().format(make_record(**values)))
    assert list(line)[4:] == list(FIELDS)
    assert line["status"] == "/x"


def test_formatter_includes_the_traceback() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = make_record()
        record.exc_info = sys.exc_info()
    line = json.loads(JSONFormatter().format(record))
    assert line["exc_info"].startswith("Traceback") and "ValueError: bad" in line["exc_info"]
    assert "\n" not in JSONFormatter().format(record)  # still one line


@pytest.mark.parametrize(
    "config",
    [{"()": "restthumbs.log.JSONFormatter"}, {"class": "restthumbs.log.JSONFormatter"}],
    ids=["factory", "class"],
)
def test_formatter_is_built_by_logging_dictconfig(config: dict[str, str]) -> None:
    """The path ``LOGGING`` takes for a formatter, without replacing the test's handlers."""
    formatter = logging.config.DictConfigurator({}).configure_formatter(dict(config))
    assert isinstance(formatter, JSONFormatter)
    assert json.loads(formatter.format(make_record()))["message"] == "Boom x"


# -- the log under runserver's default logging (issue 14) -------------------------------

DEVELOPMENT = """
import django
from django.conf import settings
settings.configure(
    DEBUG={debug}, SECRET_KEY="k", ALLOWED_HOSTS=["*"], INSTALLED_APPS=["restthumbs"],
    ROOT_URLCONF="restthumbs.standalone.urls", MEDIA_ROOT={media!r},
    THUMBNAILS_STORAGE_ROOT={thumbs!r},
)
django.setup()
from django.test import Client
print(Client().get("/a.jpg/0x0/crop/.jpg").status_code)
"""


@pytest.mark.parametrize("debug", [True, False])
def test_refusals_show_under_default_logging_in_development(tmp_path: Path, debug: bool) -> None:
    """A new project's runserver shows why restthumbs answered 400; production stays quiet."""
    code = DEVELOPMENT.format(debug=debug, media=str(tmp_path / "m"), thumbs=str(tmp_path / "t"))
    process = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert process.stdout.strip() == "400"
    shown = "restthumbs: Refused a.jpg/0x0/crop/.jpg: invalid_spec" in process.stderr
    assert shown is debug, process.stderr
