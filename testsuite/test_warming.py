"""``thumbnails_warm``'s newer half (:mod:`restthumbs.warming`): several specs in one
pass, ``--since``, ``--resume``, the progress display, and ``--enqueue`` on the
in-process (immediate) task backend. ``test_commands.py`` has the single-spec
behaviour; ``test_warm_tasks.py`` the real task workers.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from PIL import Image

from restthumbs import engine
from restthumbs.exceptions import InvalidSpec
from restthumbs.signing import sign
from restthumbs.spec import build_spec
from restthumbs.warming import passes, progress, specs, state
from restthumbs.warming.passes import warm_source
from restthumbs.warming.specs import WarmSpec, parse_specs

from . import harness, images
from .utils import files_under, later, other_worker_lock, write_like_a_worker

TRIPLES = [("40x30", "crop", "jpg"), ("20x", "scale", "webp"), ("16x16", "smart", "png")]
WORDS = [word for triple in TRIPLES for word in triple]
PRESETS = {"avatar": {"size": "16x16", "method": "smart", "ext": "png"}}


def run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("thumbnails_warm", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def name_of(path: str, size: str, method: str, ext: str) -> str:
    spec = build_spec(path, size, method, ext)
    return spec.name(sign(spec))


def names_of(path: str, triples: list[tuple[str, str, str]] = TRIPLES) -> list[str]:
    return [name_of(path, *triple) for triple in triples]


@pytest.fixture
def library(write_source: Callable[..., Path]) -> list[str]:
    paths = ["a.jpg", "b.png", "sub/c.jpg"]
    for seed, path in enumerate(paths):
        write_source(path, images.photo((320, 240), seed=seed))
    return paths


# -- specs ------------------------------------------------------------------------------


@override_settings(THUMBNAILS_PRESETS=PRESETS)
def test_specs_are_triples_and_presets_in_order_without_duplicates() -> None:
    assert parse_specs(["40x30", "crop", ".jpg", "avatar", "40x30", "crop", "jpg"]) == [
        WarmSpec("40x30", "crop", "jpg"),
        WarmSpec("16x16", "smart", "png"),
    ]


@override_settings(THUMBNAILS_PRESETS=PRESETS)
@pytest.mark.parametrize(
    "words, message",
    [
        ([], "Give SIZE METHOD EXT"),
        (["40x30", "crop", "jpg", "20x"], "Give SIZE METHOD EXT"),
        (["40x30", "crop", "jpg", "avatar", "crop"], "A preset stands alone"),
        (["40x30", "crop", "jpg", "avtar"], "no preset 'avtar'"),
        (["40x30", "crop", "jpg", "20x", "fit", "jpg"], "method"),
        (["40x30", "crop", "jpg", "5000x", "scale", "jpg"], "THUMBNAILS_MAX_SIZE"),
    ],
)
def test_specs_refused_with_a_reason(words: list[str], message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        parse_specs(words)


def test_specs_from_json_are_checked_again() -> None:
    assert specs.from_json([["40x30", "crop", "jpg"]]) == [WarmSpec("40x30", "crop", "jpg")]
    with pytest.raises(InvalidSpec):
        specs.from_json([["40x30", "crop", "exe"]])


# -- several specs in one pass ------------------------------------------------------------


def test_several_specs_are_rendered_from_one_decode(
    library: list[str], thumbs_dir: Path, renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    render_many = engine.render_many
    monkeypatch.setattr(
        passes, "render_many", lambda fp, s, **kw: calls.append(len(s)) or render_many(fp, s, **kw)
    )

    stdout, stderr = run(*WORDS)

    assert calls == [3, 3, 3]  # one decode per source, for its three thumbnails
    expected = sorted(name for path in library for name in names_of(path))
    assert sorted(renders) == expected == files_under(thumbs_dir)
    assert stdout.splitlines()[-1] == "Rendered 9, skipped 0, failed 0."
    assert stderr == ""
    # What the view would serve: the same name, size and format (the pixels:
    # test_engine_multi.py).
    with Image.open(thumbs_dir / name_of("a.jpg", "20x", "scale", "webp")) as im:
        assert (im.format, im.size) == ("WEBP", (20, 15))


def test_a_second_pass_renders_only_the_missing_specs(
    library: list[str], thumbs_dir: Path, renders: list[str]
) -> None:
    run("40x30", "crop", "jpg")
    renders.clear()
    stdout, _ = run(*WORDS, verbosity=2)
    assert sorted(renders) == sorted(n for p in library for n in names_of(p, TRIPLES[1:]))
    assert "[1] a.jpg: rendered 2, skipped 1 (" in stdout
    assert stdout.splitlines()[-1] == "Rendered 6, skipped 3, failed 0."


@override_settings(THUMBNAILS_PRESETS=PRESETS)
def test_presets_and_triples_mix(library: list[str], thumbs_dir: Path) -> None:
    stdout, _ = run("40x30", "crop", "jpg", "avatar")
    assert stdout.splitlines()[-1] == "Rendered 6, skipped 0, failed 0."
    assert name_of("a.jpg", "16x16", "smart", "png") in files_under(thumbs_dir)


def test_one_spec_a_source_cannot_have_fails_alone(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    # 4 px wide, 20,000 tall: "4x" keeps it 20,000 tall, more than WebP can hold.
    write_source("tall.png", Image.new("RGB", (4, 20_000), (10, 200, 10)))
    stdout, stderr = run("4x", "scale", "webp", "4x4", "crop", "jpg")
    assert stdout.splitlines()[-1] == "Rendered 1, skipped 0, failed 1."
    assert stderr.startswith("tall.png: ")
    assert files_under(thumbs_dir) == [name_of("tall.png", "4x4", "crop", "jpg")]


def test_a_thumbnail_another_worker_is_rendering_is_left_to_it(
    library: list[str], thumbs_dir: Path, renders: list[str]
) -> None:
    busy = name_of("a.jpg", *TRIPLES[1])
    lock = other_worker_lock(busy)
    data = images.encode(images.photo((20, 15)), "WEBP")

    def finish() -> None:
        write_like_a_worker(thumbs_dir / busy, data)
        lock.release()

    later(0.3, finish)
    outcome = warm_source("a.jpg", [WarmSpec(*t) for t in TRIPLES])
    assert (outcome.rendered, outcome.skipped, outcome.failed) == (2, 1, 0)
    assert busy not in renders and len(renders) == 2
    assert (thumbs_dir / busy).read_bytes() == data


# -- --since and --resume ------------------------------------------------------------------


def test_since_warms_only_sources_modified_after_a_date(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    old = write_source("old.jpg", images.photo((64, 48)))
    write_source("new.jpg", images.photo((64, 48)))
    long_ago = time.time() - 30 * 86400
    os.utime(old, (long_ago, long_ago))
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))

    stdout, _ = run("40x30", "crop", "jpg", "--since", day)

    assert stdout.splitlines()[-1] == "Rendered 1, skipped 0, failed 0."
    assert files_under(thumbs_dir) == [name_of("new.jpg", "40x30", "crop", "jpg")]
    with pytest.raises(CommandError, match="not a date"):
        run("40x30", "crop", "jpg", since="last tuesday")


def test_an_interrupted_run_resumes_where_it_stopped(
    write_source: Callable[..., Path],
    thumbs_dir: Path,
    tmp_path: Path,
    renders: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = [f"{i:02d}.jpg" for i in range(6)]
    for path in paths:
        write_source(path, images.photo((64, 48)))
    resume = tmp_path / "state" / "warm.json"
    real = passes.warm_source

    def interrupted(
        path: str, specs: list[WarmSpec], version: str | None = None
    ) -> passes.SourceOutcome:
        if path == "03.jpg":
            raise KeyboardInterrupt
        return real(path, specs, version)

    monkeypatch.setattr("restthumbs.warming.runner.warm_source", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run("40x30", "crop", "jpg", "--resume", str(resume))
    saved = json.loads(resume.read_text())
    assert saved["after"] == "02.jpg" and saved["done"] == 3
    assert saved["run"] == {"specs": [["40x30", "crop", "jpg"]], "prefix": "", "since": None}

    monkeypatch.undo()
    renders.clear()
    with pytest.raises(CommandError, match="records another run"):
        run("40x30", "crop", "png", "--resume", str(resume))
    stdout, _ = run("40x30", "crop", "jpg", "--resume", str(resume), verbosity=2)

    # The walk starts after 02.jpg. 04.jpg and 05.jpg may have been rendered by the
    # thread that went on taking queued sources while the first run was stopping
    # (the executor cancels only what no thread has started): they are then skipped.
    assert [line.split(" ")[1] for line in stdout.splitlines()[:3]] == [
        "03.jpg:",
        "04.jpg:",
        "05.jpg:",
    ]
    assert name_of("03.jpg", "40x30", "crop", "jpg") in renders
    assert files_under(thumbs_dir) == sorted(name_of(p, "40x30", "crop", "jpg") for p in paths)
    assert not resume.exists()  # finished: the next run starts over


def test_a_state_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text("[1, 2]")
    with pytest.raises(CommandError, match="not a thumbnails_warm state file"):
        run("40x30", "crop", "jpg", "--resume", str(bogus))
    assert state.ResumeState(tmp_path / "none.json", {}).load() == ""


# -- progress --------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_plain_progress_lines_are_periodic() -> None:
    out, clock = io.StringIO(), Clock()
    shown = progress.Progress(out, tty=False, clock=clock)
    for _ in range(5):
        clock.now += 1
        shown.add(1, 0, 0)
    assert out.getvalue() == ""  # 5 s < PLAIN_EVERY
    shown.total = 20
    clock.now += 6
    shown.add(0, 1, 1)
    assert out.getvalue() == (
        "Warmed 6 of 20 sources (30%): rendered 5, skipped 1, failed 1; 0.5 sources/s, 0:26 left.\n"
    )


def test_a_terminal_gets_a_bar_with_rate_and_eta() -> None:
    out, clock = io.StringIO(), Clock()
    shown = progress.Progress(out, tty=True, clock=clock)
    clock.now += 1
    shown.add(1, 0, 0)
    assert out.getvalue() == "\r\x1b[K1 sources (counting...) 1.0/s"
    shown.total = 4
    clock.now += 1
    shown.add(1, 0, 0)
    assert out.getvalue().endswith("\r\x1b[K[############............]  50% 2/4 1.0/s ETA 0:02")
    err = io.StringIO()
    shown.note("x.jpg: broken", err)
    assert out.getvalue().endswith("\r\x1b[K") and err.getvalue() == "x.jpg: broken\n"


def test_the_command_shows_a_bar_on_a_terminal(
    library: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(progress, "REDRAW_EVERY", 0.0)
    out = Terminal()
    call_command("thumbnails_warm", "40x30", "crop", "jpg", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert re.search(r"\r\x1b\[K(\[[#.]+\] +\d+% \d/3|\d sources \(counting\.\.\.\)) ", text)
    assert text.endswith("\r\x1b[KRendered 3, skipped 0, failed 0.\n")


def test_the_counter_sets_the_total(library: list[str]) -> None:
    shown = progress.Progress(io.StringIO(), tty=False)
    counter = progress.Counter(shown, lambda: iter(library))
    counter.start()
    counter.join(5)
    assert shown.total == 3


def test_durations() -> None:
    assert [progress.duration(s) for s in (0, 59.6, 61, 3725)] == [
        "0:00",
        "1:00",
        "1:01",
        "1:02:05",
    ]


# -- --enqueue, on the immediate backend --------------------------------------------------


def require_tasks_framework() -> None:
    """Django 6's ``django.tasks``, or the backport (the test extra): else skip, or fail in CI."""
    if importlib.util.find_spec("django.tasks") is None:
        harness.require_module("django_tasks")


def test_enqueue_and_wait_on_the_immediate_backend(
    library: list[str], thumbs_dir: Path, renders: list[str], write_source: Callable[..., Path]
) -> None:
    require_tasks_framework()
    write_source("zz.jpg", b"junk")
    stdout, _ = run(*WORDS, "--enqueue", "--wait", "--batch-size", "2")
    assert stdout.splitlines()[-3:] == [
        "Failed (1):",
        stdout.splitlines()[-2],
        "Rendered 9, skipped 0, failed 3.",
    ]
    assert stdout.splitlines()[-2].startswith("  zz.jpg: ")
    assert sorted(renders) == files_under(thumbs_dir)

    stdout, _ = run(*WORDS, "--enqueue", "--batch-size", "3")
    assert stdout.splitlines()[-1] == "Enqueued 4 sources in 2 tasks; task workers render them."


@pytest.mark.parametrize(
    "args, message",
    [
        (["--enqueue", "--workers", "2"], "--workers is for a run in this process"),
        (["--wait"], "--wait goes with --enqueue"),
        (["--enqueue", "--backend", "nowhere"], "nowhere"),
    ],
)
def test_enqueue_options_refused(library: list[str], args: list[str], message: str) -> None:
    require_tasks_framework()
    with pytest.raises(CommandError, match=message):
        run("40x30", "crop", "jpg", *args)
