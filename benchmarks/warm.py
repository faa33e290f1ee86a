#!/usr/bin/env python3
"""Warm benchmark: ``thumbnails_warm`` on a library of 12 MP photos, in one run.

    pip install -e ".[bench,test]"        # sorl-thumbnail, django-tasks-rq, redis
    python benchmarks/warm.py             # 40 photos, 3 repeats (a few minutes)
    python benchmarks/warm.py --sources 8 --repeat 1    # a quick look

It generates a corpus of photo-like 12 MP JPEGs (4240x2832, smooth colour
fields and fine grain, as ``benchmarks/systems.py`` makes them; cached in
``benchmarks/.corpus/warm``), starts a redis-server with the test harness and
measures in ``--repeat`` rounds, with the thumbnails deleted before every run.
Each round measures every figure below once, one after the other, so that a
slower minute on this shared machine slows both sides of a ratio alike; the
figures printed are medians of the rounds' times, and ratios medians of the
rounds' ratios:

1. ``--enqueue --wait`` on 1 and then 2 RQ worker processes (django-tasks-rq,
   ``SimpleWorker``), 200x200 crops, ``--batch-size`` sources per task (default:
   the command's own default, 10), timed from the start of the command to the
   last thumbnail written: thumbnails per second, and the ratio of 2 workers to 1
   (target: >= 1.8 on 2 cores). The enqueuing command shares the 2 cores with the
   workers: each task costs it about 5 ms of CPU (django-tasks-rq's enqueue and
   our reads of the result, each opening Redis connections), which ``--batch-size
   1`` pays 40 times and takes from the 2 workers (about 1.65-1.85x here);
2. a run in this process (one thread) of one size (200x200 crop) and of three
   sizes in one pass (200x200 crop, 400x400 crop, 800x800 fit): the ratio of
   their times (target: <= 1.4);
3. the bare-Pillow floor of the same work in this process, one thread: one decode
   at the DCT scale the largest output needs, a LANCZOS resize and a JPEG encode
   (restthumbs' encoder options) per output, in memory; and the decode alone. It
   says how far restthumbs is from the least Pillow can do, and what one thread
   can reach at all;
4. sorl-thumbnail's ``get_thumbnail`` in a loop over the same corpus (200x200,
   crop centre, its cached_db key-value store on SQLite), in a process of its own
   kept for the run (a warm-up pass, then one timed pass a round):
   restthumbs' one-size warm against it in thumbnails per second (target: >= 5),
   and the ceiling one thread has (sorl's time over the floor's).

Also reported: the peak RSS of each RQ worker (VmHWM), and the load average
before and after, since the machine may be shared: read the ratios, and rerun
when the load was high. This is not a test and does not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script: benchmarks/ is on sys.path, not its parent
    sys.path.insert(0, str(ROOT))

from benchmarks.systems import CORPUS, make_photo  # noqa: E402
from restthumbs.warming.options import DEFAULT_BATCH_SIZE  # noqa: E402

WARM_CORPUS = CORPUS / "warm"
PHOTO_SIZE = (4240, 2832)  # 12 MP
QUALITY = 85
ONE = ["200x200", "crop", "jpg"]
THREE = [*ONE, "400x400", "crop", "jpg", "800x800", "scale", "jpg"]
SECRET = "benchmark-secret-key-0123456789-0123456789-0123456789"


def ensure_corpus(count: int) -> Path:
    """A source root whose ``photos/`` holds ``count`` photos (links to the cached ones)."""
    cache = WARM_CORPUS / "photos"
    cache.mkdir(parents=True, exist_ok=True)
    root = WARM_CORPUS / f"first-{count}"
    view = root / "photos"
    view.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = cache / f"photo-{i:02d}.jpg"
        if not path.exists():
            print(f"generating {path.name} {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}...", file=sys.stderr)
            tmp = path.with_suffix(".tmp")
            make_photo(PHOTO_SIZE, seed=100 + i).save(tmp, "JPEG", quality=92)
            tmp.rename(path)
        link = view / path.name
        if not link.is_symlink():
            link.symlink_to(path)
    return root


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed_warm(thumbnails: Path, *args: str) -> float:
    """Seconds one ``thumbnails_warm`` takes in this process, from an empty thumbnail root.

    With ``--enqueue --wait``: until the last thumbnail is written (its mtime), which
    leaves out how soon the command notices (it looks at the results now and then).
    """
    from django.core.management import call_command

    shutil.rmtree(thumbnails, ignore_errors=True)
    thumbnails.mkdir()
    out = StringIO()
    start, wall = time.perf_counter(), time.time()
    call_command("thumbnails_warm", *args, "--prefix", "photos", stdout=out, stderr=StringIO())
    elapsed = time.perf_counter() - start
    summary = out.getvalue().strip().splitlines()[-1]
    if ", failed 0." not in summary or summary.startswith("Rendered 0,"):
        raise SystemExit(f"unexpected summary: {summary}")
    if "--enqueue" in args:
        last = max(p.stat().st_mtime for p in thumbnails.rglob("*.jpg"))
        return last - wall
    return elapsed


# -- the bare-Pillow floor, in this process ------------------------------------------------

#: The thumbnails of ONE and THREE as (width, height, method), for the floor.
FLOOR_ONE = [(200, 200, "crop")]
FLOOR_THREE = [(200, 200, "crop"), (400, 400, "crop"), (800, 800, "scale")]


def floor_pass(path: Path, outputs: list[tuple[int, int, str]], encode: bool = True) -> None:
    """The least Pillow can do for ``outputs`` of one photo: one decode at the DCT scale
    the largest needs (``draft``), then per output one LANCZOS ``resize`` of the centred
    crop box (or the whole image) and a JPEG encode with restthumbs' encoder options, in
    memory. No EXIF, colour management, storage, lock or name: what restthumbs adds."""
    import io
    import math

    from PIL import Image

    from restthumbs.engine.encoding import ENCODER_OPTIONS

    im = Image.open(path)
    w, h = im.size
    plans = []
    for ow, oh, method in outputs:
        if method == "crop":
            s = max(ow / w, oh / h)
            cw, ch = ow / s, oh / s
            box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
            size = (ow, oh)
        else:
            s = min(ow / w, oh / h)
            box, size = (0.0, 0.0, float(w), float(h)), (round(w * s), round(h * s))
        plans.append((size, box, (math.ceil(w * s), math.ceil(h * s))))
    im.draft("RGB", (max(p[2][0] for p in plans), max(p[2][1] for p in plans)))
    im.load()
    if not encode:
        return
    fx, fy = im.width / w, im.height / h
    for size, box, _need in plans:
        scaled = (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy)
        out = im.resize(size, Image.Resampling.LANCZOS, box=scaled, reducing_gap=2.0)
        out.save(io.BytesIO(), "JPEG", quality=QUALITY, **ENCODER_OPTIONS["JPEG"])  # type: ignore[arg-type]


def floor_seconds(
    photos: list[Path], repeat: int, outputs: list[tuple[int, int, str]], encode: bool = True
) -> float:
    """Median seconds of ``floor_pass`` over every photo, after one warm-up pass."""
    for path in photos[:2]:
        floor_pass(path, outputs, encode)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for path in photos:
            floor_pass(path, outputs, encode)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


# -- sorl-thumbnail, in its own process -------------------------------------------------


def sorl_worker(corpus: Path) -> None:
    """Serve timed loops: one line on stdin, one pass timed, its seconds on stdout.

    A process of its own (sorl's Django settings are not restthumbs'), kept for the
    whole run so that its passes interleave with restthumbs' (see ``main``). The
    first pass, untimed, is a warm-up: imports, caches.
    """
    import django
    from django.conf import settings

    tmp = Path(tempfile.mkdtemp(prefix="restthumbs-bench-sorl-"))
    settings.configure(
        SECRET_KEY=SECRET,
        INSTALLED_APPS=["django.contrib.contenttypes", "sorl.thumbnail"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp / "db")}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        MEDIA_ROOT=str(tmp / "media"),
        USE_TZ=True,
        THUMBNAIL_QUALITY=QUALITY,
    )
    django.setup()
    from django.core.management import call_command
    from sorl.thumbnail import get_thumbnail

    call_command("migrate", verbosity=0)
    media = tmp / "media"
    media.mkdir()
    (media / "photos").symlink_to(corpus / "photos")  # sorl reads from the default storage
    photos = sorted((corpus / "photos").glob("photo-*.jpg"))

    def one_pass() -> float:
        shutil.rmtree(media / "cache", ignore_errors=True)
        call_command("thumbnail", "clear", verbosity=0)
        start = time.perf_counter()
        for path in photos:
            thumb = get_thumbnail(f"photos/{path.name}", "200x200", crop="center")
            assert thumb.width == 200, thumb.width
        return time.perf_counter() - start

    try:
        one_pass()
        print(json.dumps({"ready": len(photos)}), flush=True)
        for _line in sys.stdin:
            print(json.dumps({"seconds": one_pass()}), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Sorl:
    """The sorl worker process: ``timed()`` runs one pass there and returns its seconds."""

    def __init__(self, corpus: Path) -> None:
        argv = [sys.executable, __file__, "--sorl-worker", str(corpus)]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.count = int(self._read()["ready"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the sorl worker stopped (exit {self.process.wait()})")
        result: dict[str, Any] = json.loads(line)
        return result

    def timed(self) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return float(self._read()["seconds"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


# -- the run ------------------------------------------------------------------------------


def one_round(thumbnails: Path, photos: list[Path], sorl: Sorl) -> dict[str, float]:
    """Every one-thread measurement once, in seconds for the whole corpus."""
    return {
        "one": timed_warm(thumbnails, *ONE),
        "three": timed_warm(thumbnails, *THREE),
        "alone_400": timed_warm(thumbnails, *THREE[3:6]),
        "alone_800": timed_warm(thumbnails, *THREE[6:9]),
        "one_two_threads": timed_warm(thumbnails, *ONE, "--workers", "2"),
        "floor_decode_one": floor_seconds(photos, 1, FLOOR_ONE, encode=False),
        "floor_one": floor_seconds(photos, 1, FLOOR_ONE),
        "floor_decode_three": floor_seconds(photos, 1, FLOOR_THREE, encode=False),
        "floor_three": floor_seconds(photos, 1, FLOOR_THREE),
        "sorl": sorl.timed(),
    }


def report_rounds(rounds: list[dict[str, float]], n: int, results: dict[str, Any]) -> None:
    """Print the medians of the rounds' times, and of their ratios, round by round."""

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    def ratio(top: str, bottom: str) -> float:
        return statistics.median(r[top] / r[bottom] for r in rounds)

    results["rounds"] = rounds
    one, three = median("one"), median("three")
    print(f"one size (200x200 crop): {one:.2f} s, {n / one:.1f} thumbnails/s")
    two = median("one_two_threads")
    print(f"  the same, --workers 2: {two:.2f} s, {n / two:.1f} thumbnails/s")
    print(
        f"one size alone: 400x400 crop {median('alone_400'):.2f} s, 800x800 fit "
        f"{median('alone_800'):.2f} s"
    )
    print(f"three sizes in one pass: {three:.2f} s, {3 * n / three:.1f} thumbnails/s")
    print(f"three sizes / one size (200x200 crop): {ratio('three', 'one'):.2f}x (target <= 1.4)")
    print(f"three sizes / one size (400x400 crop): {ratio('three', 'alone_400'):.2f}x")
    print(f"three sizes / one size (800x800 fit): {ratio('three', 'alone_800'):.2f}x")
    by_one = statistics.median(
        r["three"] / (r["one"] + r["alone_400"] + r["alone_800"]) for r in rounds
    )
    print(f"three sizes / the three one by one: {by_one:.2f}x")
    ms = {k: 1000 * median(k) / n for k in rounds[0] if k.startswith("floor")}
    print(
        f"bare-Pillow floor, per photo: decode at 1/8 {ms['floor_decode_one']:.1f} ms, one size "
        f"{ms['floor_one']:.1f} ms; decode at 1/4 {ms['floor_decode_three']:.1f} ms, three "
        f"sizes {ms['floor_three']:.1f} ms"
    )
    print(f"  floor three sizes / floor one size: {ratio('floor_three', 'floor_one'):.2f}x")
    print(
        f"  restthumbs / floor: one size {ratio('one', 'floor_one'):.2f}x, three sizes "
        f"{ratio('three', 'floor_three'):.2f}x"
    )
    sorl = median("sorl")
    print(f"sorl-thumbnail get_thumbnail loop: {sorl:.2f} s, {n / sorl:.1f} thumbnails/s")
    print(f"restthumbs warm, one thread / sorl: {ratio('sorl', 'one'):.2f}x (target >= 5)")
    print(f"restthumbs warm, --workers 2 / sorl: {ratio('sorl', 'one_two_threads'):.2f}x")
    print(
        f"  one thread's ceiling: sorl / the floor's decode alone "
        f"{ratio('sorl', 'floor_decode_one'):.2f}x, / the floor's one size "
        f"{ratio('sorl', 'floor_one'):.2f}x"
    )
    for key in ("sorl", "one", "floor_one"):
        print(f"  rounds, {key}: " + " ".join(f"{r[key]:.2f}" for r in rounds) + " s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=40, help="photos in the corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="sources per task"
    )
    parser.add_argument("--sorl-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sorl_worker:
        sorl_worker(Path(args.sorl_worker))
        return

    from testsuite import harness
    from testsuite.harness import tasks as task_harness

    corpus = ensure_corpus(args.sources)
    n = args.sources
    print(f"corpus: {n} JPEGs of {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}; load before: {load()}")
    results: dict[str, Any] = {"sources": n, "repeat": args.repeat, "load_before": load()}
    with harness.workspace("restthumbs-bench-warm-") as directory:
        thumbnails = harness.make_dir(directory / "thumbnails")
        with harness.redis_server(directory) as redis:
            project = task_harness.task_project(
                directory,
                redis,
                sources=corpus,
                thumbnails=thumbnails,
                secret_key=SECRET,
                settings={"THUMBNAILS_QUALITY": QUALITY, "THUMBNAILS_LOCK_TIMEOUT": 60},
            )
            sys.path.insert(0, str(project.directory))
            os.environ["DJANGO_SETTINGS_MODULE"] = "harness_settings"
            import django

            django.setup()

            # 1. one and two RQ worker processes, alternately, started afresh each round
            enqueue = ["--enqueue", "--wait", "--batch-size", str(args.batch_size)]
            times: dict[int, list[float]] = {1: [], 2: []}
            rss: dict[int, list[float]] = {}
            for _ in range(args.repeat):
                for workers in (1, 2):
                    with task_harness.rq_workers(project, workers) as started:
                        timed_warm(thumbnails, "64x64", "crop", "jpg", *enqueue)  # warm-up
                        times[workers].append(timed_warm(thumbnails, *ONE, *enqueue))
                        rss[workers] = [round(vm_hwm_mb(w.pid), 1) for w in started]
            for workers in (1, 2):
                seconds = statistics.median(times[workers])
                print(
                    f"{workers} worker(s): {seconds:.2f} s, {n / seconds:.1f} thumbnails/s "
                    f"(rounds: {' '.join(f'{t:.2f}' for t in times[workers])} s); "
                    f"peak RSS per worker {rss[workers]} MB"
                )
                results[f"workers_{workers}"] = {"seconds": times[workers], "rss_mb": rss[workers]}
            ratio = statistics.median(a / b for a, b in zip(times[1], times[2], strict=True))
            results["workers_ratio"] = ratio
            print(f"2 workers / 1 worker: {ratio:.2f}x (target >= 1.8; median of the rounds)")

            # 2-4. In rounds: each round measures every one-thread figure once, and
            # sorl's loop once in its own process, so that a slower minute on this
            # shared machine slows both sides of a ratio alike. Medians of the rounds.
            timed_warm(thumbnails, "64x64", "crop", "jpg")  # warm-up
            photos = sorted((corpus / "photos").glob("photo-*.jpg"))
            sorl = Sorl(corpus)
            rounds: list[dict[str, float]] = []
            try:
                for _ in range(args.repeat):
                    rounds.append(one_round(thumbnails, photos, sorl))
            finally:
                sorl.close()
    report_rounds(rounds, n, results)
    print(f"load after: {load()}")
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
