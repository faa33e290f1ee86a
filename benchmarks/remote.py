#!/usr/bin/env python3
"""Remote sources, measured: a remote image's first and later thumbnails, a web page's first.

    python benchmarks/remote.py              # 5 pages
    python benchmarks/remote.py --pages 10

Everything is on loopback: an origin (``testsuite.harness.origin``, a thread)
serves a 2 MP JPEG and a typical page (text in a web font, a stylesheet, six
images, about 600 KB in all). restthumbs runs in this process with remote
images and web pages mounted, exactly as a worker would (``ensure_thumbnail``,
the function the view calls), and reports:

- the remote image: the first thumbnail (fetch, keep, render, store), a second
  size (no fetch), and how many times the origin was asked;
- the web page, each time a new address (so a new browser): the time to the
  first thumbnail (browser start, proxy, load, screenshot, render, store), and
  the browser's peak memory, sampled every 10 ms over all its processes (the
  sum of their PSS, and of their RSS, which counts shared pages more than once);
  then a second size of the same page (no browser).

The figures are in docs/remote.md. This is not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def configure(directory: str, origin_url: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="remote-benchmark",
        INSTALLED_APPS=["restthumbs"],
        USE_TZ=True,
        MEDIA_ROOT=f"{directory}/media",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        THUMBNAILS_SOURCES={
            "remote": "restthumbs.remote.storage.RemoteImageStorage",
            "site": "restthumbs.remote.storage.WebsiteStorage",
        },
        THUMBNAILS_REMOTE_ALLOWED_URLS=[origin_url],
        THUMBNAILS_SITE_ALLOWED_URLS=[origin_url],
        THUMBNAILS_REMOTE_ALLOWED_NETWORKS=["127.0.0.1/32"],
        THUMBNAILS_LOCK_TIMEOUT=30,
    )
    django.setup()


def serve_content(origin: object) -> None:
    from testsuite import images
    from testsuite.harness.origin import Route

    routes = origin.routes  # type: ignore[attr-defined]
    routes["/photo.jpg"] = Route(body=images.jpeg_bytes((1600, 1200)))
    for i in range(6):
        routes[f"/img{i}.jpg"] = Route(body=images.jpeg_bytes((480, 320)))
    routes["/font.ttf"] = Route(body=FONT.read_bytes() if FONT.exists() else b"\0" * 1000)
    routes["/style.css"] = Route(
        body=b"@font-face{font-family:T;src:url(/font.ttf)} body{font:18px/1.5 T;margin:40px}"
        b" img{width:30%;margin:1%} h1{font-size:48px}",
        headers={"Content-Type": "text/css"},
    )
    text = "<p>" + "Thumbnails of web pages, rendered once. " * 40 + "</p>"
    imgs = "".join(f'<img src="/img{i}.jpg">' for i in range(6))
    html = f'<!DOCTYPE html><link rel=stylesheet href="/style.css"><h1>A page</h1>{text}{imgs}'
    routes["/page"] = Route(body=html.encode(), headers={"Content-Type": "text/html"})


def ensure(source_path: str, size: str, ext: str = ".jpg") -> float:
    """Seconds for ``ensure_thumbnail`` of a new thumbnail, as the view would run it."""
    from restthumbs.api import thumbnail_url
    from restthumbs.ensure import ensure_thumbnail
    from restthumbs.spec import parse_name

    spec, secret = parse_name(unquote(thumbnail_url(source_path, size, "crop", ext)).lstrip("/"))
    start = time.perf_counter()
    result = ensure_thumbnail(spec, secret)
    assert result.rendered, result
    return time.perf_counter() - start


class BrowserMemory:
    """Samples every 10 ms the processes of restthumbs' browsers; keeps the peaks (MiB)."""

    def __init__(self) -> None:
        self.pss = 0.0
        self.rss = 0.0
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> BrowserMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pss = rss = 0.0
            count = 0
            for pid in (p.name for p in Path("/proc").iterdir() if p.name.isdigit()):
                try:
                    if b"restthumbs-page-" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                        continue
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                except OSError:
                    continue
                count += 1
                for line in rollup.splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) / 1024
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1]) / 1024
            self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
            self.processes = max(self.processes, count)
            time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5, help="pages to render (default 5)")
    args = parser.parse_args(argv)
    from testsuite.harness.origin import origin_server

    with tempfile.TemporaryDirectory() as directory, origin_server() as origin:
        serve_content(origin)
        configure(directory, origin.url("/"))
        from restthumbs.remote import remote_source
        from restthumbs.remote.browser import find_browser

        image = remote_source(origin.url("/photo.jpg"))
        first, second = ensure(image, "400x300"), ensure(image, "200x")
        print(
            f"remote image (1600x1200 JPEG): first thumbnail {first * 1000:.0f} ms, "
            f"a second size {second * 1000:.0f} ms, fetches {origin.count('/photo.jpg')}"
        )
        print(f"browser: {find_browser(None)}")
        times, pss, rss, processes = [], [], [], []
        for run in range(args.pages):
            origin.routes[f"/page?run={run}"] = origin.routes["/page"]  # a new address
            page = remote_source(origin.url(f"/page?run={run}"), "site")
            with BrowserMemory() as memory:
                times.append(ensure(page, "400x250"))
            pss.append(memory.pss)
            rss.append(memory.rss)
            processes.append(memory.processes)
            later = ensure(page, "200x125", ".webp")
            print(
                f"page {run + 1}: first thumbnail {times[-1] * 1000:.0f} ms, browser peak "
                f"PSS {memory.pss:.0f} MiB (RSS {memory.rss:.0f} MiB, {memory.processes} "
                f"processes); a second size {later * 1000:.0f} ms"
            )
        print(
            f"web page, {args.pages} runs: first thumbnail median "
            f"{statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, max "
            f"{max(times) * 1000:.0f}); browser peak PSS median {statistics.median(pss):.0f} "
            f"MiB (max {max(pss):.0f}), RSS sum max {max(rss):.0f} MiB, up to "
            f"{max(processes)} processes"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
