#!/usr/bin/env python3
"""Warm benchmark: ``thumbnails_warm`` on a library of 12 MP photos, in one run.

    pip install -e ".[bench,test]"        # sorl-thumbnail, django-tasks-rq, redis
    python benchmarks/warm.py             # 40 photos, 3 repeats (a few minutes)
    python benchmarks/warm.py --sources 8 --repeat 1    # a quick look

It generates a corpus of photo-like 12 MP JPEGs (4240x2832, smooth colour
fields and fine grain, as ``benchmarks/systems.py`` makes them; cached in
``benchmarks/.corpus/warm``), starts a redis-server with the test harness and
measures, each as the median of ``--repeat`` runs with the thumbnails deleted
before every run:

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
   crop centre, its cached_db key-value store on SQLite), in its own process:
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


def median_warm(thumbnails: Path, repeat: int, *args: str) -> float:
    return statistics.median(timed_warm(thumbnails, *args) for _ in range(repeat))


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


def sorl_worker(corpus: Path, count: int, repeat: int) -> dict[str, Any]:
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
    times = []
    try:
        for run in range(repeat + 1):  # the first is a warm-up: imports, caches
            shutil.rmtree(media / "cache", ignore_errors=True)
            call_command("thumbnail", "clear", verbosity=0)
            start = time.perf_counter()
            for path in photos:
                thumb = get_thumbnail(f"photos/{path.name}", "200x200", crop="center")
                assert thumb.width == 200, thumb.width
            if run:
                times.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"seconds": statistics.median(times), "count": len(photos)}


def run_sorl(corpus: Path, count: int, repeat: int) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--sorl-worker", str(corpus), str(count), str(repeat)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"sorl worker failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the run ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=40, help="photos in the corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="sources per task"
    )
    parser.add_argument("--sorl-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sorl_worker:
        corpus, count, repeat = args.sorl_worker
        print(json.dumps(sorl_worker(Path(corpus), int(count), int(repeat))))
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

            # 1. one and two RQ worker processes
            per_second = {}
            for workers in (1, 2):
                with task_harness.rq_workers(project, workers) as started:
                    enqueue = ["--enqueue", "--wait", "--batch-size", str(args.batch_size)]
                    timed_warm(thumbnails, "64x64", "crop", "jpg", *enqueue)  # warm-up
                    seconds = median_warm(thumbnails, args.repeat, *ONE, *enqueue)
                    per_second[workers] = n / seconds
                    rss = [round(vm_hwm_mb(w.pid), 1) for w in started]
                print(
                    f"{workers} worker(s): {seconds:.2f} s, {per_second[workers]:.1f} "
                    f"thumbnails/s; peak RSS per worker {rss} MB"
                )
                results[f"workers_{workers}"] = {"seconds": seconds, "rss_mb": rss}
            ratio = per_second[2] / per_second[1]
            results["workers_ratio"] = ratio
            print(f"2 workers / 1 worker: {ratio:.2f}x (target >= 1.8)")

            # 2. one size, three sizes in one pass (this process, one thread)
            timed_warm(thumbnails, "64x64", "crop", "jpg")  # warm-up
            one = median_warm(thumbnails, args.repeat, *ONE)
            three = median_warm(thumbnails, args.repeat, *THREE)
            alone = {
                " ".join(THREE[i : i + 3]): median_warm(thumbnails, args.repeat, *THREE[i : i + 3])
                for i in (3, 6)
            }
            threads = median_warm(thumbnails, args.repeat, *ONE, "--workers", "2")
            results.update(one_size=one, three_sizes=three, alone=alone, sizes_ratio=three / one)
            results["one_size_two_threads"] = threads
            print(f"one size (200x200 crop): {one:.2f} s, {n / one:.1f} thumbnails/s")
            print(f"  the same, --workers 2: {threads:.2f} s, {n / threads:.1f} thumbnails/s")
            for spec, seconds in alone.items():
                print(f"one size ({spec}) alone: {seconds:.2f} s")
            print(f"three sizes in one pass: {three:.2f} s, {3 * n / three:.1f} thumbnails/s")
            print(f"three sizes / one size (200x200 crop): {three / one:.2f}x (target <= 1.4)")
            for spec, seconds in alone.items():
                print(f"three sizes / one size ({spec}): {three / seconds:.2f}x")
            print(f"three sizes / the three one by one: {three / (one + sum(alone.values())):.2f}x")

    # 3. the bare-Pillow floor of the same work, one thread
    photos = sorted((corpus / "photos").glob("photo-*.jpg"))
    floor = {
        "decode_one": floor_seconds(photos, args.repeat, FLOOR_ONE, encode=False),
        "one": floor_seconds(photos, args.repeat, FLOOR_ONE),
        "decode_three": floor_seconds(photos, args.repeat, FLOOR_THREE, encode=False),
        "three": floor_seconds(photos, args.repeat, FLOOR_THREE),
    }
    results["floor"] = floor
    ms = {key: 1000 * value / n for key, value in floor.items()}
    print(
        f"bare-Pillow floor, per photo: decode at 1/8 {ms['decode_one']:.1f} ms, one size "
        f"{ms['one']:.1f} ms; decode at 1/4 {ms['decode_three']:.1f} ms, three sizes "
        f"{ms['three']:.1f} ms"
    )
    print(f"  floor three sizes / floor one size: {floor['three'] / floor['one']:.2f}x")
    print(
        f"  restthumbs one size / floor: {one / floor['one']:.2f}x; "
        f"three sizes / floor: {three / floor['three']:.2f}x"
    )

    # 4. sorl-thumbnail
    sorl = run_sorl(corpus, n, args.repeat)
    sorl_rate = sorl["count"] / sorl["seconds"]
    results.update(sorl=sorl, sorl_ratio=(n / one) / sorl_rate, load_after=load())
    results["sorl_ratio_two_threads"] = (n / threads) / sorl_rate
    print(
        f"sorl-thumbnail get_thumbnail loop: {sorl['seconds']:.2f} s, {sorl_rate:.1f} thumbnails/s"
    )
    print(f"restthumbs warm, one thread / sorl: {(n / one) / sorl_rate:.1f}x (target >= 5)")
    print(f"restthumbs warm, --workers 2 / sorl: {(n / threads) / sorl_rate:.1f}x")
    print(
        f"  one thread's ceiling: sorl / the floor's decode alone "
        f"{sorl['seconds'] / floor['decode_one']:.2f}x, / the floor's one size "
        f"{sorl['seconds'] / floor['one']:.2f}x"
    )
    print(f"load after: {load()}")
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
