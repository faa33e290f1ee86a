"""What is measured: the setup check, hits (1)-(4) in rounds, cold misses (5), the mixed load."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

from testsuite.harness.http import request

from .stack import Stack
from .urls import Pool, thumbnail_url, write_lines
from .wrk import Run, Wrk, cpu_seconds

HIT_SIZE = "200x200"
MIXED_CONNECTIONS = 64
MIXED_MISS_EVERY = 10  # one request in ten is a cold miss
#: No render here is faster than ~2 ms of CPU on one core: pools sized for this
#: many misses per second can not run dry (the Lua script says so if one does).
MAX_MISS_RATE = 1000
QUIET_TIMEOUT = 60.0

SCENARIOS = {
    "1": "nginx try_files hit",
    "2": "nginx plain root (same file)",
    "3": "Django hit -> X-Accel-Redirect",
    "4": "Django ceiling view -> X-Accel",
}


# -- checks before measuring ---------------------------------------------------


def expect(condition: bool, message: str, stack: Stack) -> None:
    if not condition:
        raise SystemExit(f"setup check failed: {message}\n{stack.describe()}")


def prepare_hit(stack: Stack, source: str) -> tuple[str, bytes]:
    """Render the hit thumbnail once (a real miss) and check every route serves its bytes."""
    url = thumbnail_url(source, HIT_SIZE)
    first = request(stack.url(stack.nginx.port, url))
    expect(
        first.status == 200 and bool(first.body), f"first render of {url}: {first.status}", stack
    )
    path = stack.thumbnails / url.lstrip("/")
    expect(path.is_file(), f"{path} not written by the render", stack)
    data = path.read_bytes()
    routes = {
        "try_files": (stack.nginx.port, url),
        "plain root": (stack.plain_port, url),
        "django": (stack.django_port, url),
        "ceiling": (stack.django_port, "/__ceiling__" + url),
    }
    for label, (port, path_) in routes.items():
        reply = request(stack.url(port, path_))
        expect(
            reply.status == 200
            and reply.body == data
            and reply.headers["Content-Type"] == "image/jpeg",
            f"{label} route: {reply.status} {reply.headers['Content-Type']}, {len(reply.body)} bytes",
            stack,
        )
    # A wrong signature that nginx would serve if it looked at the disk must reach Django: 401.
    forged = url[: url.rindex("/") + 1] + "0" * 64 + ".jpg"
    (stack.thumbnails / forged.lstrip("/")).write_bytes(data)
    reply = request(stack.url(stack.django_port, forged))
    expect(
        reply.status == 401,
        f"django route served a file without asking Django: {reply.status}",
        stack,
    )
    (stack.thumbnails / forged.lstrip("/")).unlink()
    return url, data


# -- scenarios -----------------------------------------------------------------


def wait_quiet(stack: Stack) -> None:
    """Until renders left in flight by wrk's last connections are written (bounded)."""
    deadline = time.monotonic() + QUIET_TIMEOUT
    pids = stack.gunicorn.worker_pids()
    last = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pids)
        busy, last = now - last > 0.05, now
        if not busy and not any(stack.thumbnails.rglob(".tmp-*.part")):
            return


def hit_rounds(
    options: argparse.Namespace, wrk: Wrk, stack: Stack, url: str
) -> dict[str, list[Run]]:
    urls = {
        "1": stack.url(stack.nginx.port, url),
        "2": stack.url(stack.plain_port, url),
        "3": stack.url(stack.django_port, url),
        "4": stack.url(stack.django_port, "/__ceiling__" + url),
    }
    runs: dict[str, list[Run]] = {key: [] for key in urls}
    for round_ in range(1, options.rounds + 1):
        for key, target in urls.items():
            if options.warmup:
                wrk.run(target, connections=options.connections, duration=options.warmup)
            run = wrk.run(target, connections=options.connections, duration=options.duration)
            runs[key].append(run)
            print(
                f"  round {round_}/{options.rounds} ({key}) {SCENARIOS[key]:32s} "
                f"{run.rps:10.0f} req/s  p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  "
                f"CPU steal {run.steal:4.0%}",
                flush=True,
            )
    return runs


def cold_misses(options: argparse.Namespace, wrk: Wrk, stack: Stack, pool: Pool) -> tuple[Run, int]:
    """Warm up on one set of fresh URLs, measure on another; each URL requested once."""
    target = stack.url(stack.nginx.port, "/")
    if options.warmup:
        warm = write_lines(
            stack.scratch / "cold-warmup.txt", pool.take(int(MAX_MISS_RATE * options.warmup))
        )
        wrk.run(
            target,
            connections=options.connections,
            duration=options.warmup,
            script_args=[str(warm), "-", "1"],
        )
        wait_quiet(stack)
    misses = write_lines(
        stack.scratch / "cold.txt", pool.take(int(MAX_MISS_RATE * options.duration))
    )
    before = count_thumbnails(stack.thumbnails)
    run = wrk.run(
        target,
        connections=options.connections,
        duration=options.duration,
        script_args=[str(misses), "-", "1"],
    )
    wait_quiet(stack)
    return run, count_thumbnails(stack.thumbnails) - before


def mixed(options: argparse.Namespace, wrk: Wrk, stack: Stack, pool: Pool) -> Run:
    """90% hits on thumbnails rendered so far, 10% distinct cold misses."""
    existing = sorted(thumbnail_files(stack.thumbnails))[:5000]
    hits = write_lines(
        stack.scratch / "mixed-hits.txt",
        ["/" + str(p.relative_to(stack.thumbnails)) for p in existing],
    )
    misses = write_lines(
        stack.scratch / "mixed-misses.txt", pool.take(int(MAX_MISS_RATE * options.mixed_duration))
    )
    target = stack.url(stack.nginx.port, "/")
    run = wrk.run(
        target,
        connections=MIXED_CONNECTIONS,
        duration=options.mixed_duration,
        script_args=[str(misses), str(hits), str(MIXED_MISS_EVERY)],
    )
    wait_quiet(stack)
    return run


# -- the files written ---------------------------------------------------------


def thumbnail_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file() and not path.name.startswith(".tmp-"):
            yield path


def count_thumbnails(root: Path) -> int:
    return sum(1 for _ in thumbnail_files(root))


def verify_files(root: Path) -> tuple[int, list[str], int]:
    """Every stored thumbnail opens (``verify()``) and decodes; also count stray temp files."""
    from PIL import Image

    checked, invalid = 0, []
    for path in thumbnail_files(root):
        checked += 1
        try:
            with Image.open(path) as im:
                im.verify()
            with Image.open(path) as im:
                im.load()
        except Exception as e:
            invalid.append(f"{path.relative_to(root)}: {e}")
    parts = sum(1 for _ in root.rglob(".tmp-*.part"))
    return checked, invalid, parts
