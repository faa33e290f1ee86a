#!/usr/bin/env python3
"""Cold renders over HTTP: restthumbs behind nginx against a thumbor server, in one run.

    python3 -m venv /tmp/thumbor && /tmp/thumbor/bin/pip install thumbor
    python benchmarks/thumbor_cold.py --thumbor /tmp/thumbor/bin/thumbor

thumbor pins its own Pillow, so it runs from its own virtualenv (``--thumbor``,
or ``$THUMBOR``). Both servers get the 12 MP photos of ``benchmarks/warm.py``
(generated there, in ``benchmarks/.corpus/warm``) and 2 processes:

- restthumbs: nginx with ``deploy/nginx.conf`` in front of gunicorn with
  ``deploy/gunicorn.conf.py``, 2 workers, the render lock in a redis-server,
  every URL signed and never asked for before (``try_files`` misses, gunicorn
  renders, stores, answers ``X-Accel-Redirect``, nginx sends the file);
- thumbor: ``thumbor --processes 2`` with the file loader on the corpus and no
  storage or result storage, so every request renders (``/unsafe/200x200/...``,
  centred crop; ``/unsafe/fit-in/800x800/...``), JPEG quality 85 for both.

A pool of ``--clients`` threads (4: two requests in flight a process) asks for
every photo once per round; each round of restthumbs asks for new URLs (a
version per round: the same work, never stored before). Reported:
cold renders per second, the median of ``--rounds``, for 200x200 crops and 800 px
fits, and restthumbs' ratio to thumbor. Not a test; not run in CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.warm import QUALITY, ensure_corpus, load  # noqa: E402

SECRET = "thumbor-comparison-secret-0123456789-0123456789-0123456789"
WORKLOADS = {"crop200": ("200x200", "crop"), "fit800": ("800x800", "scale")}
THUMBOR_PATHS = {"crop200": "200x200", "fit800": "fit-in/800x800"}

THUMBOR_CONF = """\
LOADER = "thumbor.loaders.file_loader"
FILE_LOADER_ROOT_PATH = {root!r}
STORAGE = "thumbor.storages.no_storage"
RESULT_STORAGE = None
ALLOW_UNSAFE_URL = True
QUALITY = {quality}
AUTO_WEBP = False
MAX_AGE = 0
"""


def rate(urls: list[str], clients: int) -> float:
    """Renders per second for one pass over ``urls`` with ``clients`` threads."""
    from testsuite import harness

    def get(url: str) -> int:
        return harness.request(url, timeout=120).status

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(get, urls))
    elapsed = time.perf_counter() - start
    if set(statuses) != {200}:
        raise SystemExit(f"statuses {sorted(set(statuses))} for {urls[0]} ...")
    return len(urls) / elapsed


def restthumbs_rates(
    directory: Path, corpus: Path, names: list[str], rounds: int, clients: int
) -> dict[str, float]:
    import django
    from django.conf import settings

    from testsuite import harness

    settings.configure(SECRET_KEY=SECRET, INSTALLED_APPS=["restthumbs"], USE_TZ=True)
    django.setup()
    from restthumbs.api import thumbnail_url

    thumbnails = harness.make_dir(directory / "thumbnails")
    results = {}
    with (
        harness.redis_server(directory) as redis,
        harness.gunicorn_server(
            directory,
            cache=redis.cache,
            sources=corpus,
            thumbnails=thumbnails,
            secret_key=SECRET,
            workers=2,
            access_log=False,
            settings={"THUMBNAILS_QUALITY": QUALITY, "THUMBNAILS_LOCK_TIMEOUT": 60},
        ) as app,
        harness.shipped_nginx(directory, [app.port], thumbnails) as nginx,
    ):
        for workload, (size, method) in WORKLOADS.items():

            def urls(version: str, size: str = size, method: str = method) -> list[str]:
                # A version per round: new URLs, as nginx's open_file_cache may still
                # hold a deleted thumbnail open; the work is the same.
                return [
                    nginx.url(thumbnail_url(name, size, method, ".jpg", version=version))
                    for name in names
                ]

            rate(urls("warmup")[:2], clients)  # imports in both workers
            rates = [rate(urls(f"r{i}"), clients) for i in range(rounds)]
            results[workload] = statistics.median(rates)
    return results


def thumbor_rates(
    directory: Path, thumbor: str, corpus: Path, names: list[str], rounds: int, clients: int
) -> dict[str, float]:
    from testsuite import harness
    from testsuite.harness.processes import free_port, launch, running

    home = harness.make_dir(directory / "thumbor")
    conf = home / "thumbor.conf"
    conf.write_text(THUMBOR_CONF.format(root=str(corpus), quality=QUALITY))
    port = free_port()
    argv = [thumbor, "--port", str(port), "--ip", "127.0.0.1", "--conf", str(conf)]
    argv += ["--processes", "2"]
    results = {}
    with running(launch("thumbor", argv, home, port)) as server:
        for workload, path in THUMBOR_PATHS.items():
            urls = [server.url(f"/unsafe/{path}/{name}") for name in names]
            rate(urls[:2], clients)
            results[workload] = statistics.median(rate(urls, clients) for _ in range(rounds))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--thumbor", default=os.environ.get("THUMBOR", ""))
    parser.add_argument("--sources", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    if not args.thumbor or not shutil.which(args.thumbor):
        raise SystemExit("give thumbor's executable: --thumbor PATH (or THUMBOR=PATH)")

    from testsuite import harness

    corpus = ensure_corpus(args.sources)
    names = [f"photos/photo-{i:02d}.jpg" for i in range(args.sources)]
    print(f"{args.sources} photos of 12 MP, {args.clients} clients; load before: {load()}")
    with harness.workspace("restthumbs-bench-thumbor-") as directory:
        ours = restthumbs_rates(directory, corpus, names, args.rounds, args.clients)
        theirs = thumbor_rates(directory, args.thumbor, corpus, names, args.rounds, args.clients)
    for workload in WORKLOADS:
        print(
            f"{workload}: restthumbs {ours[workload]:.1f} renders/s, thumbor "
            f"{theirs[workload]:.1f} renders/s: {ours[workload] / theirs[workload]:.2f}x"
        )
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
