#!/usr/bin/env python3
"""Cold-render benchmark: restthumbs against its peers, in one run.

    pip install -e ".[bench]"
    python benchmarks/render.py                 # full run (a few minutes)
    python benchmarks/render.py --quick         # fewer repeats, smaller corpus

It generates a deterministic photographic-like corpus (1, 12 and 24 MP JPEGs
and a large PNG with alpha; cached in ``benchmarks/.corpus``), then, for each
workload (200x200 crop, 200x200 smart crop, 800x800 fit) and source, times:

- ``restthumbs-view``: the full miss path (Django view, streaming backend,
  a fresh thumbnail name every time, so every request renders and stores);
- ``restthumbs``: the renderer alone (``restthumbs.engine.render``);
- ``pillow-floor``: a bare Pillow pipeline with ``draft()`` + ``reduce()``;
- ``pillow-naive``: decode at full size, ``ImageOps.fit``/``thumbnail``
  without draft, the pipeline most hand-written code uses;
- ``sorl``: sorl-thumbnail's PIL engine (get_image, create, encode);
- ``easy``: easy-thumbnails (generate_source_image, process_image, save);
- ``vips``: libvips' ``thumbnail`` via pyvips, when installed.

Each system runs in its own subprocess, so imports and peak RSS do not leak
between them. Reported: the median of the repeats (ms), each peer's ratio to
restthumbs' renderer (>1 means restthumbs is faster), and the peak RSS
increase over the process's baseline after imports (MB). The machine is
shared and noisy: read medians and ratios, not single numbers. This is not a
test and does not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script: benchmarks/ is on sys.path, not its parent
    sys.path.insert(0, str(ROOT))

from benchmarks.systems import (  # noqa: E402
    SOURCES,
    SYSTEMS,
    WORKLOADS,
    ensure_corpus,
    has_module,
    worker,
)

# -- driver -------------------------------------------------------------------


def available(system: str) -> bool:
    module = {"sorl": "sorl", "easy": "easy_thumbnails", "vips": "pyvips"}.get(system)
    if module is None:
        return True
    if not has_module(module):
        return False
    if system == "vips":
        try:
            import pyvips  # noqa: F401
        except Exception:
            return False
    return True


def measure(system: str, source: str, workload: str, repeat: int) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--worker", system, source, workload, "--repeat", str(repeat)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        print(f"  {system} failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--worker", nargs=3, metavar=("SYSTEM", "SOURCE", "WORKLOAD"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="renders per measurement (default 9, quick 5)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="skip the 12 MP source and repeat less"
    )
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated subset of " + ",".join(SYSTEMS),
    )
    parser.add_argument(
        "--sources", default=None, help="comma-separated subset of " + ",".join(SOURCES)
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help="comma-separated subset of " + ",".join(WORKLOADS),
    )
    parser.add_argument("--big", action="store_true", help="add a 100 MP JPEG (the memory target)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    args = parser.parse_args(argv)

    if args.worker:
        system, source, workload = args.worker
        print(json.dumps(worker(system, source, workload, args.repeat or 9)))
        return 0

    repeat = args.repeat or (5 if args.quick else 9)
    corpus = ensure_corpus(args.quick, args.big)
    sources = [s for s in (args.sources.split(",") if args.sources else corpus) if s in corpus]
    systems = [s for s in args.systems.split(",") if available(s)]
    missing = [s for s in args.systems.split(",") if s not in systems]
    if missing:
        print(f"not installed, skipped: {', '.join(missing)} (pip install -e '.[bench]')")
    results: dict[str, Any] = {}
    print(
        f"repeats: {repeat}; median ms / peak RSS increase MB / output KB; ratio = system / restthumbs"
    )
    for workload in args.workloads.split(","):
        for source in sources:
            print(f"\n== {workload} {WORKLOADS[workload][0]} {WORKLOADS[workload][1]} on {source}")
            row: dict[str, Any] = {}
            for system in systems:
                row[system] = measure(system, source, workload, repeat)
            base = (row.get("restthumbs") or {}).get("median_ms")
            for system, r in row.items():
                if r is None:
                    continue
                ratio = f"{r['median_ms'] / base:5.2f}x" if base else "  -  "
                print(
                    f"  {system:16s} {r['median_ms']:8.1f} ms  {ratio}  "
                    f"rss +{r['rss_increase_mb']:6.1f} MB (total {r['rss_total_mb']:6.1f})  "
                    f"{r['bytes'] / 1024:7.1f} KB"
                )
            results[f"{workload}/{source}"] = row
    print_targets(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def print_targets(results: dict[str, Any]) -> None:
    """The issue's targets, computed from this run's medians."""

    def get(key: str, system: str, field: str = "median_ms") -> float | None:
        r = (results.get(key) or {}).get(system)
        return None if r is None else float(r[field])

    checks: list[tuple[str, float | None, str, float]] = []
    crop, fit = "crop200/24mp.jpg", "fit800/24mp.jpg"
    rt = get(crop, "restthumbs")
    if rt:
        floor = get(crop, "pillow-floor")
        sorl = get(crop, "sorl")
        easy = get(crop, "easy")
        checks.append(("24MP crop: restthumbs / pillow-floor", floor and rt / floor, "<=", 1.1))
        checks.append(("24MP crop: sorl / restthumbs", sorl and sorl / rt, ">=", 4.0))
        checks.append(("24MP crop: easy / restthumbs", easy and easy / rt, ">=", 4.0))
        view = get(crop, "restthumbs-view")
        checks.append(("24MP crop: view - renderer (ms)", view and view - rt, "<=", 5.0))
        checks.append(
            ("24MP crop: RSS increase (MB)", get(crop, "restthumbs", "rss_increase_mb"), "<", 30.0)
        )
    rt_fit = get(fit, "restthumbs")
    if rt_fit:
        vips = get(fit, "vips")
        checks.append(("24MP fit: restthumbs / vips", vips and rt_fit / vips, "<=", 1.1))
        checks.append(
            ("24MP fit: RSS increase (MB)", get(fit, "restthumbs", "rss_increase_mb"), "<", 60.0)
        )
    big = get("crop200/100mp.jpg", "restthumbs", "rss_total_mb")
    if big is not None:
        checks.append(("100MP crop: total RSS (MB)", big, "<", 250.0))
    if not checks:
        return
    print("\n== targets")
    for label, value, op, target in checks:
        if value is None:
            print(f"  {label:40s}     n/a")
            continue
        ok = {"<=": value <= target, ">=": value >= target, "<": value < target}[op]
        print(f"  {label:40s} {value:8.2f}  (target {op} {target})  {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    raise SystemExit(main())
