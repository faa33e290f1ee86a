"""The production stack on loopback for the HTTP benchmark, on testsuite.harness.

redis-server for the locks; gunicorn running deploy/gunicorn.conf.py without
an access log, with a trivial "ceiling" view beside restthumbs; nginx running
deploy/nginx.conf as shipped, plus two servers of its own: (2) the thumbnail
root as a plain static root, (3)/(4) the shipped server block with
``location /`` handing every request to ``@backend``. No access logs: a line
per request would be measured too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from testsuite import harness, images
from testsuite.harness.nginx import deploy_site, nginx_server

SECRET_KEY = "restthumbs-http-benchmark-not-secret-0123456789abcdef"
GUNICORN_WORKERS = 2
SOURCES = 200
SOURCE_SIZE = (1600, 1200)

CEILING_VIEW = '''\
"""The ceiling of the Django hit path: the same X-Accel-Redirect, and no work at all."""
from urllib.parse import quote

from django.http import HttpResponse


def ceiling(request, path):
    response = HttpResponse(content_type="image/jpeg")
    response["X-Accel-Redirect"] = "/thumbnails/" + quote(path, safe="/")
    return response
'''

URLS = """\
from django.urls import include, path, re_path

from bench_views import ceiling

urlpatterns = [
    re_path(r"^__ceiling__/(?P<path>.+)$", ceiling),
    path("", include("restthumbs.urls")),
]
"""

#: (2): the thumbnail root as a plain static root, with the shipped server's file settings.
PLAIN_SERVER = """\
server {{
    listen 127.0.0.1:{port};
    root {root};
    sendfile on;
    tcp_nopush on;
    server_tokens off;
    location / {{
    }}
}}
"""

TRY_FILES = "try_files $uri @backend;"
#: --open-file-cache: nginx keeps descriptors and stat() results of files it served
#: (not of missing files: a thumbnail rendered a moment ago is found at once).
OPEN_FILE_CACHE = (
    "open_file_cache max=10000 inactive=60s; open_file_cache_valid 60s; open_file_cache_errors off;"
)
#: (3)/(4): the shipped server block, but `location /` goes to @backend without a look at the disk.
TO_BACKEND = "error_page 418 = @backend;\n        return 418;"


def django_server(site: str, listen: int, port: int) -> str:
    """The shipped server block with ``location /`` handing every request to ``@backend``."""
    block = site[site.index("\nserver {") :]
    for anchor in (TRY_FILES, f"listen 127.0.0.1:{listen};"):
        if anchor not in block:
            raise AssertionError(
                f"deploy/nginx.conf no longer contains {anchor!r}; update benchmarks/load/stack.py"
            )
    block = block.replace(f"listen 127.0.0.1:{listen};", f"listen 127.0.0.1:{port};")
    return block.replace(TRY_FILES, TO_BACKEND)


@dataclass
class Stack:
    sources: Path
    thumbnails: Path
    redis: harness.CacheServer
    gunicorn: harness.Gunicorn
    nginx: harness.Nginx
    plain_port: int  # (2)
    django_port: int  # (3) and (4)
    scratch: Path

    def url(self, port: int, path: str) -> str:
        return f"http://127.0.0.1:{port}{path}"

    def gunicorn_pids(self) -> list[int]:
        return [self.gunicorn.pid, *self.gunicorn.worker_pids()]

    def nginx_pids(self) -> list[int]:
        return [self.nginx.pid, *self.nginx.worker_pids()]

    def describe(self) -> str:
        return f"{self.nginx.describe()}\n{self.gunicorn.describe()}"


@contextmanager
def bench_nginx(
    directory: Path, backend: int, thumbnails: Path, *, open_file_cache: bool
) -> Iterator[tuple[harness.Nginx, int, int]]:
    """nginx running deploy/nginx.conf, plus servers (2) and (3)/(4); yields it and their ports."""
    port, plain_port, django_port = (harness.free_port() for _ in range(3))
    site = deploy_site(port, [backend], thumbnails)
    sites = {
        "restthumbs.conf": site,
        "plain.conf": PLAIN_SERVER.format(port=plain_port, root=thumbnails),
        "django.conf": django_server(site, port, django_port),
    }
    with nginx_server(
        directory,
        sites,
        port,
        ports=[plain_port, django_port],
        workers="auto",
        connections=4096,
        error_level="warn",
        access_log=False,
        extra=OPEN_FILE_CACHE if open_file_cache else "",
    ) as nginx:
        yield nginx, plain_port, django_port


@contextmanager
def stack(open_file_cache: bool) -> Iterator[Stack]:
    with ExitStack() as stop:
        root = stop.enter_context(harness.workspace("restthumbs-http-bench-"))
        sources = harness.make_dir(root / "media")
        thumbnails = harness.make_dir(root / "thumbnails")
        scratch = harness.make_dir(root / "wrk")
        redis = stop.enter_context(harness.redis_server(root))
        gunicorn = stop.enter_context(
            harness.gunicorn_server(
                root,
                cache=redis.cache,
                sources=sources,
                thumbnails=thumbnails,
                secret_key=SECRET_KEY,
                workers=GUNICORN_WORKERS,
                settings={"ROOT_URLCONF": "bench_urls"},
                modules={"bench_urls": URLS, "bench_views": CEILING_VIEW},
                access_log=False,
            )
        )
        nginx, plain_port, django_port = stop.enter_context(
            bench_nginx(root, gunicorn.port, thumbnails, open_file_cache=open_file_cache)
        )
        yield Stack(sources, thumbnails, redis, gunicorn, nginx, plain_port, django_port, scratch)


def make_corpus(sources: Path) -> list[str]:
    """``SOURCES`` JPEGs of ``SOURCE_SIZE``; returns their source paths."""
    names = []
    directory = harness.make_dir(sources / "photos")
    for i in range(SOURCES):
        name = f"photos/{i:04d}.jpg"
        (directory / f"{i:04d}.jpg").write_bytes(
            images.encode(images.photo(SOURCE_SIZE, seed=i), "JPEG", quality=90)
        )
        names.append(name)
    return names
