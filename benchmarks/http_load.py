#!/usr/bin/env python3
"""HTTP benchmark: the production stack on loopback, driven by wrk, in one run.

    python benchmarks/http_load.py [--duration S] [--connections N] [--mixed-duration S]

It starts redis-server (the render lock), gunicorn with ``deploy/gunicorn.conf.py``
(2 gthread workers, ``THUMBNAILS_RESPONSE_BACKEND`` nginx, ``DEBUG = False``) and
nginx with ``deploy/nginx.conf``, all on random loopback ports in a temporary
workspace, generates 200 JPEG sources of 1600x1200 with Pillow, and measures
with ``wrk`` (2 threads):

1. a hit through ``try_files`` (deploy/nginx.conf as shipped: nginx serves the file);
2. the same file from a plain ``root`` location (no ``try_files``, no headers added);
3. the same URL sent straight to Django's ``@backend`` (an nginx server whose
   ``location /`` hands every request to the shipped ``@backend``): the view
   checks the signature and that the file exists, answers ``X-Accel-Redirect``,
   and nginx sends the file;
4. the ceiling of (3): a trivial view in the same gunicorn that answers the
   same ``X-Accel-Redirect`` with no work at all (written into the workspace);
5. cold misses: pre-signed URLs never requested before, each sent once
   (``benchmarks/lua/thumbnails.lua``) through ``try_files`` -> gunicorn ->
   render -> ``X-Accel-Redirect``: renders per second.

Scenarios 1-4 run in interleaved rounds (``--rounds``, each warmed up for
``--warmup`` seconds, then measured for ``--duration``) and report medians, so a
burst of load from another process on a shared machine hits all four alike.
Then a mixed phase (``--mixed-duration``, 64 connections): 90% hits, 10%
distinct cold misses, with both workers sharing one Redis for locks; it reports
statuses, 5xx and socket errors, and afterwards every thumbnail on disk is
opened with Pillow (``verify()``, then a full decode).

Needs ``wrk`` (``apt-get install wrk``), nginx, redis-server, gunicorn and
redis-py (``pip install -e '.[test]'``). The servers come from
``testsuite.harness`` (as the integration tests' do) and are stopped by PID at
the end. This file parses the options and runs the phases; ``benchmarks/load/``
holds the stack, wrk, the signed URLs, the scenarios and the report. This is
not a test and does not run in CI.
"""

from __future__ import annotations

import os
import sys

# The repository goes first on sys.path (for `testsuite`, `benchmarks` and
# `restthumbs`), instead of this script's directory.
HERE = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(HERE)
sys.path[:] = [REPO_DIR] + [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

import argparse  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

from benchmarks.load.report import (  # noqa: E402
    describe_setup,
    ratios,
    report_cold,
    report_hits,
    report_mixed,
    verdict,
)
from benchmarks.load.scenarios import (  # noqa: E402
    cold_misses,
    hit_rounds,
    mixed,
    prepare_hit,
    verify_files,
)
from benchmarks.load.stack import make_corpus, stack  # noqa: E402
from benchmarks.load.urls import Pool, configure_django  # noqa: E402
from benchmarks.load.wrk import Wrk  # noqa: E402
from testsuite.harness import Missing  # noqa: E402


def run_all(options: argparse.Namespace, wrk_binary: str) -> list[tuple[str, bool]]:
    configure_django()
    with stack(options.open_file_cache) as s:
        started = time.monotonic()
        sources = make_corpus(s.sources)
        print(f"corpus: {len(sources)} sources written in {time.monotonic() - started:.1f} s")
        describe_setup(options, s, wrk_binary)
        url, data = prepare_hit(s, sources[0])
        print(f"  hit URL: {url} ({len(data)} bytes); every route checked to serve these bytes\n")
        wrk = Wrk(wrk_binary, s, options.timeout)
        print("== (1)-(4), rounds as they run")
        runs = hit_rounds(options, wrk, s, url)
        pool = Pool(sources)
        print("== (5) cold misses: running", flush=True)
        cold, written = cold_misses(options, wrk, s, pool)
        rps = report_hits(runs)
        report_cold(cold, written)
        targets = ratios(rps, runs)
        print(f"\n== mixed: running for {options.mixed_duration:g} s", flush=True)
        mixed_run = mixed(options, wrk, s, pool)
        checked, invalid, parts = verify_files(s.thumbnails)
        targets += report_mixed(mixed_run, checked, invalid, parts)
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds measured per scenario (default 10)"
    )
    parser.add_argument(
        "--connections", type=int, default=64, help="wrk connections for (1)-(5) (default 64)"
    )
    parser.add_argument(
        "--mixed-duration", type=float, default=30, help="seconds of mixed load (default 30)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=3,
        help="seconds of warm-up before each measurement (default 3)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds of (1)-(4); medians reported (default 3)",
    )
    parser.add_argument(
        "--open-file-cache",
        action="store_true",
        help="add nginx's open_file_cache to every server (not shipped)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10, help="wrk request timeout in seconds (default 10)"
    )
    options = parser.parse_args(argv)
    wrk_binary = shutil.which("wrk")
    if wrk_binary is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    try:
        targets = run_all(options, wrk_binary)
    except Missing as e:  # a server binary or Python package is not installed
        print(f"cannot start the servers: {e}", file=sys.stderr)
        return 2
    print("\n== targets")
    for label, ok in targets:
        print(f"  {label:40s} {verdict(ok)}")
    return 0 if all(ok for _, ok in targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
