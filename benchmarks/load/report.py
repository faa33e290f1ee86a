"""What the HTTP benchmark prints: the setup, each scenario, the ratios and the targets."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
from collections.abc import Sequence

from testsuite.harness import find_binary

from .scenarios import HIT_SIZE, MIXED_CONNECTIONS, MIXED_MISS_EVERY, SCENARIOS
from .stack import GUNICORN_WORKERS, OPEN_FILE_CACHE, SOURCE_SIZE, SOURCES, Stack
from .wrk import WRK_THREADS, Run

TARGET_TRY_FILES = 0.95
TARGET_DJANGO = 0.8


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def describe_setup(options: argparse.Namespace, stack: Stack, wrk_binary: str) -> None:
    wrk_version = subprocess.run([wrk_binary, "-v"], capture_output=True, text=True).stdout.split(
        "\n"
    )[0]
    nginx_version = subprocess.run(
        [find_binary("nginx"), "-v"], capture_output=True, text=True
    ).stderr.strip()
    import django
    import gunicorn

    print("setup (all on 127.0.0.1, random ports, temporary workspace):")
    print(f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    print(
        f"  nginx: {nginx_version}, worker_processes auto ({len(stack.nginx.worker_pids())}), "
        "deploy/nginx.conf as shipped for (1) and (5); access_log off everywhere"
    )
    if options.open_file_cache:
        print(f"  nginx, every server (--open-file-cache): {OPEN_FILE_CACHE}")
    print(
        f"  gunicorn {gunicorn.__version__}: deploy/gunicorn.conf.py (gthread), {GUNICORN_WORKERS} workers x 4 threads, "
        "access log off, max_requests 0; Django " + django.__version__ + ", DEBUG False, "
        "THUMBNAILS_RESPONSE_BACKEND nginx, locks in one redis-server"
    )
    print(
        f"  wrk: {wrk_version.strip()}, {WRK_THREADS} threads, {options.connections} connections "
        f"(mixed: {MIXED_CONNECTIONS}), timeout {options.timeout:g} s; warm-up {options.warmup:g} s, "
        f"measure {options.duration:g} s, {options.rounds} interleaved rounds for (1)-(4)"
    )
    print(
        f"  corpus: {SOURCES} JPEGs {SOURCE_SIZE[0]}x{SOURCE_SIZE[1]}; hit file {HIT_SIZE} crop .jpg; "
        "misses: crop .jpg, a distinct size per pass over the sources"
    )


def report_hits(runs: dict[str, list[Run]]) -> dict[str, float]:
    print(f"\n== hits (median of {len(runs['1'])} rounds)")
    print(
        f"  {'scenario':40s} {'req/s':>10s} {'p50 ms':>8s} {'p99 ms':>8s}  {'non-2xx':>7s} {'sock err':>8s}  CPU us/req: nginx, gunicorn"
    )
    rps = {}
    for key, label in SCENARIOS.items():
        rs = runs[key]
        rps[key] = median([r.rps for r in rs])
        print(
            f"  ({key}) {label:36s} {rps[key]:10.0f} {median([r.p50_ms for r in rs]):8.2f} "
            f"{median([r.p99_ms for r in rs]):8.2f}  {sum(r.non_2xx_3xx for r in rs):7d} "
            f"{sum(r.errors for r in rs):8d}  "
            f"{median([r.cpu_us_per_request('nginx') for r in rs]):6.1f}, "
            f"{median([r.cpu_us_per_request('gunicorn') for r in rs]):6.1f}"
        )
    return rps


def report_cold(run: Run, written: int) -> None:
    print("\n== (5) cold misses: try_files -> gunicorn -> render -> X-Accel-Redirect")
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items())) or "none"
    print(
        f"  {run.rps:.1f} renders/s ({run.requests} in {run.seconds:.1f} s), "
        f"p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms; statuses {statuses}; "
        f"socket errors {run.errors}; CPU steal {run.steal:.0%}"
    )
    print(
        f"  files written {written} (answered {run.requests}; the rest were in flight when wrk "
        f"stopped); gunicorn CPU {run.cpu_us_per_request('gunicorn') / 1000:.1f} ms/render"
    )
    if run.exhausted:
        print("  WARNING: the URL pool ran dry; renders/s is under-reported")


def ratios(rps: dict[str, float], runs: dict[str, list[Run]]) -> list[tuple[str, bool]]:
    """The two targets on median req/s, with what tells noise from a real difference.

    On a shared machine one round can be off by far more than 5%: the ratio of
    each round (both sides measured back to back) and the CPU each server spent
    per request show whether a gap is systematic.
    """
    print("\n== ratios (of median req/s)")
    targets = []
    for top, bottom, what, label, target in (
        ("1", "2", "nginx", "try_files hit / plain static", TARGET_TRY_FILES),
        ("3", "4", "gunicorn", "Django hit / ceiling view", TARGET_DJANGO),
    ):
        ratio = rps[top] / rps[bottom]
        paired = [a.rps / b.rps for a, b in zip(runs[top], runs[bottom], strict=True)]
        cpu = {
            key: median([r.cpu_us_per_request(what) for r in runs[key]]) for key in (top, bottom)
        }
        print(
            f"  ({top})/({bottom}) {label + ':':30s} {ratio:.3f}  (target >= {target})  "
            f"{verdict(ratio >= target)}"
        )
        print(
            f"      per round: {', '.join(f'{r:.3f}' for r in paired)}; {what} CPU per request: "
            f"({top}) {cpu[top]:.1f} us, ({bottom}) {cpu[bottom]:.1f} us "
            f"(CPU ratio ({bottom})/({top}) {cpu[bottom] / cpu[top]:.3f})"
        )
        targets.append((f"({top})/({bottom}) >= {target}", ratio >= target))
    return targets


def report_mixed(run: Run, checked: int, invalid: list[str], parts: int) -> list[tuple[str, bool]]:
    print(
        f"\n== mixed: {MIXED_CONNECTIONS} connections, {run.seconds:.0f} s, "
        f"{100 - 100 // MIXED_MISS_EVERY}% hits / {100 // MIXED_MISS_EVERY}% distinct cold misses"
    )
    bad = {s: n for s, n in sorted(run.statuses.items()) if not 200 <= s < 400}
    fivexx = sum(n for s, n in run.statuses.items() if s >= 500)
    print(
        f"  requests {run.requests} ({run.rps:.0f}/s), misses sent {run.misses_sent}, "
        f"p50 {run.p50_ms:.2f} ms, p99 {run.p99_ms:.2f} ms, CPU steal {run.steal:.0%}"
    )
    print("  statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items())))
    print(f"  non-2xx/3xx: {run.non_2xx_3xx} (by status: {bad or 'none'}); 5xx: {fivexx}")
    errors = run.socket_errors or dict.fromkeys(("connect", "read", "write", "timeout"), 0)
    print("  socket errors: " + ", ".join(f"{k} {v}" for k, v in errors.items()))
    print(
        f"  thumbnails on disk checked with Pillow (verify + load): {checked}, invalid: {len(invalid)}, "
        f"stray .tmp-*.part files: {parts}"
    )
    for line in invalid[:20]:
        print(f"    invalid: {line}")
    if run.exhausted:
        print("  WARNING: the miss pool ran dry; later 'misses' were hits")
    return [
        ("mixed: zero 5xx", fivexx == 0),
        ("mixed: zero connection errors", run.errors == 0),
        ("mixed: every thumbnail file valid", not invalid and checked > 0),
    ]
