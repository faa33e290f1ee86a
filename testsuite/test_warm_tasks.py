"""``thumbnails_warm --enqueue`` with real task workers: two RQ worker processes
(django-tasks-rq) on a real Redis, with live requests to gunicorn at the same time.

The processes share what a fleet shares: the source and thumbnail directories,
and Redis (the render lock in database 0, the task queue in database 1). Every
process logs ``Rendered <name>`` for each render it performs, with its PID, so
the logs say who rendered what: each thumbnail exactly once, whoever asked.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from restthumbs.api import thumbnail_url
from restthumbs.signing import sign
from restthumbs.spec import build_spec

from . import harness, images
from .harness import tasks as task_harness

pytestmark = pytest.mark.integration

SPECS = [("240x180", "crop", "jpg"), ("96x96", "smart", "webp"), ("400x", "scale", "jpg")]
RENDERED_RE = re.compile(r" pid=(\d+) restthumbs: Rendered (\S+) in ")


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with harness.workspace("restthumbs-tasks-") as path:
        yield path


@pytest.fixture(scope="module")
def redis(workdir: Path) -> Iterator[harness.CacheServer]:
    with harness.redis_server(workdir) as server:
        yield server


@pytest.fixture(scope="module")
def dirs(workdir: Path) -> tuple[Path, Path]:
    return harness.make_dir(workdir / "media"), harness.make_dir(workdir / "thumbnails")


@pytest.fixture(scope="module")
def project(
    workdir: Path, redis: harness.CacheServer, dirs: tuple[Path, Path]
) -> task_harness.TaskProject:
    sources, thumbnails = dirs
    return task_harness.task_project(
        workdir,
        redis,
        sources=sources,
        thumbnails=thumbnails,
        secret_key=settings.SECRET_KEY,
        settings={"THUMBNAILS_LOCK_TIMEOUT": 30},
    )


@pytest.fixture(scope="module")
def workers(project: task_harness.TaskProject) -> Iterator[list[harness.Server]]:
    with task_harness.rq_workers(project, 2) as started:
        yield started


def names_of(path: str, version: str | None = None) -> list[str]:
    names = []
    for size, method, ext in SPECS:
        spec = build_spec(path, size, method, ext, version)
        names.append(spec.name(sign(spec)))
    return names


def renders(*logs: Path) -> list[tuple[int, str]]:
    """(pid, thumbnail name) of every render logged."""
    found = []
    for log in logs:
        for line in log.read_text().splitlines() if log.exists() else []:
            match = RENDERED_RE.search(line)
            if match:
                found.append((int(match[1]), match[2]))
    return found


def write_jpegs(sources: Path, paths: list[str]) -> None:
    for path in paths:
        (sources / path).parent.mkdir(parents=True, exist_ok=True)
        (sources / path).write_bytes(images.jpeg_bytes((320, 240)))


def spec_args() -> list[str]:
    return [word for spec in SPECS for word in spec]


def test_two_workers_and_live_requests_render_each_thumbnail_once(
    workdir: Path,
    redis: harness.CacheServer,
    dirs: tuple[Path, Path],
    project: task_harness.TaskProject,
    workers: list[harness.Server],
) -> None:
    sources, thumbnails = dirs
    paths = [f"burst/{i:02d}.jpg" for i in range(24)]
    for seed, path in enumerate(paths):
        target = sources / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(images.encode(images.photo((2400, 1800), seed=seed), "JPEG"))
    (sources / "burst" / "zz-broken.jpg").write_bytes(b"not a JPEG at all")
    expected = sorted(name for path in paths for name in names_of(path))

    with harness.gunicorn_server(
        workdir,
        "live",
        cache=redis.cache,
        sources=sources,
        thumbnails=thumbnails,
        secret_key=settings.SECRET_KEY,
        workers=2,
        settings={"THUMBNAILS_LOCK_TIMEOUT": 30},
    ) as live:
        urls = [live.url(thumbnail_url(p, *spec)) for p in paths for spec in SPECS]
        statuses: list[int] = []

        def burst(seed: int) -> None:
            # Two clients from the end of the walk (they meet the workers on the way),
            # two in random order.
            order = urls[::-1]
            if seed >= 2:
                random.Random(seed).shuffle(order)
            statuses.extend(harness.request(url).status for url in order)

        warm = task_harness.start_manage(
            project, "thumbnails_warm", *spec_args(), "--prefix", "burst",
            "--enqueue", "--wait", "--batch-size", "1", "--no-color",
        )  # fmt: skip
        # The burst starts once the workers have begun: both sides then race for locks.
        assert task_harness.eventually(lambda: len(renders(project.log)) >= 1, timeout=60)
        threads = [threading.Thread(target=burst, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        stdout, stderr = warm.communicate(timeout=300)
        for thread in threads:
            thread.join(timeout=120)
        live_log = live.restthumbs_log

    assert warm.returncode == 0, stderr
    assert statuses == [200] * len(urls) * 4
    done = renders(project.log, live_log)
    # Each thumbnail rendered exactly once, by whichever process took its lock first.
    assert sorted(name for _pid, name in done) == expected, Counter(n for _p, n in done)
    worker_pids = {w.pid for w in workers}
    by_workers = [name for pid, name in done if pid in worker_pids]
    assert {pid for pid, _name in done if pid in worker_pids} == worker_pids  # both worked
    assert len(by_workers) < len(expected)  # and so did the live requests
    # The summary counts the tasks' thumbnails: rendered by them, or found rendered.
    lines = stdout.splitlines()
    assert lines[-1] == (
        f"Rendered {len(by_workers)}, skipped {len(expected) - len(by_workers)}, failed 3."
    )
    assert lines[-3] == "Failed (1):", stdout
    assert lines[-2].startswith("  burst/zz-broken.jpg: ")
    assert "burst/zz-broken.jpg: " in stderr
    stored = [p for p in (thumbnails / "burst").rglob("*") if p.is_file()]
    assert sorted(str(p.relative_to(thumbnails)) for p in stored) == expected


def test_enqueue_without_waiting_hands_the_work_over(
    dirs: tuple[Path, Path], project: task_harness.TaskProject, workers: list[harness.Server]
) -> None:
    sources, thumbnails = dirs
    paths = [f"later/{i}.jpg" for i in range(5)]
    write_jpegs(sources, paths)

    done = task_harness.manage(
        project, "thumbnails_warm", *spec_args(), "--prefix", "later", "--enqueue",
        "--batch-size", "2",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.splitlines()[-1] == "Enqueued 5 sources in 3 tasks; task workers render them."
    )
    wanted = [thumbnails / name for path in paths for name in names_of(path)]
    assert task_harness.eventually(lambda: all(p.is_file() for p in wanted), timeout=60)


def test_versions_travel_to_the_workers(
    dirs: tuple[Path, Path], project: task_harness.TaskProject, workers: list[harness.Server]
) -> None:
    """``--version``: the workers render the versioned names (the version is a task argument)."""
    sources, thumbnails = dirs
    paths = [f"versioned/{i}.jpg" for i in range(4)]
    write_jpegs(sources, paths)

    done = task_harness.manage(
        project, "thumbnails_warm", *spec_args(), "--prefix", "versioned", "--version", "r9",
        "--enqueue", "--wait", "--batch-size", "2",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.splitlines()[-1] == f"Rendered {len(paths) * len(SPECS)}, skipped 0, failed 0."
    )
    wanted = sorted(name for path in paths for name in names_of(path, version="r9"))
    assert all(".vr9." in name for name in wanted)
    stored = [p for p in (thumbnails / "versioned").rglob("*") if p.is_file()]
    assert sorted(str(p.relative_to(thumbnails)) for p in stored) == wanted
