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
redis-py (``pip install -e '.[test]'``). Everything is stopped by PID at the end.
This is not a test and does not run in CI.
"""

from __future__ import annotations

import os
import sys

# The repository goes first on sys.path (for `testsuite` and `restthumbs`),
# instead of this script's directory.
HERE = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(HERE)
sys.path[:] = [REPO_DIR] + [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

import argparse  # noqa: E402
import http.client  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402  # testsuite.servers reports a missing binary with pytest.skip

from testsuite import images, servers  # noqa: E402

LUA_SCRIPT = Path(HERE) / "lua" / "thumbnails.lua"
SECRET_KEY = "restthumbs-http-benchmark-not-secret-0123456789abcdef"
WRK_THREADS = 2
GUNICORN_WORKERS = 2
MIXED_CONNECTIONS = 64
MIXED_MISS_EVERY = 10  # one request in ten is a cold miss
SOURCES = 200
SOURCE_SIZE = (1600, 1200)
HIT_SIZE = "200x200"
#: No render here is faster than ~2 ms of CPU on one core: pools sized for this
#: many misses per second can not run dry (the Lua script says so if one does).
MAX_MISS_RATE = 1000
#: Distinct thumbnail sizes of the cold pools: widths 120-359, then the next height.
POOL_WIDTHS = 240
TARGET_TRY_FILES = 0.95
TARGET_DJANGO = 0.8
QUIET_TIMEOUT = 60.0


# -- servers the harness lacks -------------------------------------------------
#
# testsuite.servers.gunicorn_server always writes an access log and mounts only
# restthumbs.urls; nginx_server runs deploy/nginx.conf alone, with an access log.
# The two helpers below build on the same pieces (launch, running, site_config,
# django_settings, wait_for_workers) with what a benchmark needs instead.

GUNICORN_CONF = '''\
"""deploy/gunicorn.conf.py for the benchmark: the same settings, minus two."""
_deploy = {deploy!r}
exec(compile(open(_deploy).read(), _deploy, "exec"))
accesslog = None  # no line per request in the hot path (the shipped default is stdout)
max_requests = 0  # no worker recycling in the middle of a measurement
'''

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

WSGI = """\
import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
"""


@contextmanager
def bench_gunicorn(
    directory: Path, *, cache: dict[str, Any], sources: Path, thumbnails: Path
) -> Iterator[servers.Gunicorn]:
    """gunicorn on deploy/gunicorn.conf.py, without the access log, plus the ceiling view."""
    servers.require_module("gunicorn")
    port = servers.free_port()
    home = servers.make_dir(directory / "gunicorn")
    project = servers.make_dir(home / "project")
    log, pidfile = home / "restthumbs.log", home / "gunicorn.pid"
    settings = servers.django_settings(
        secret_key=SECRET_KEY,
        cache=cache,
        sources=sources,
        thumbnails=thumbnails,
        log=log,
        extra={"ROOT_URLCONF": "bench_urls"},
    )
    (project / "bench_settings.py").write_text(settings)
    (project / "bench_urls.py").write_text(URLS)
    (project / "bench_views.py").write_text(CEILING_VIEW)
    (project / "bench_wsgi.py").write_text(WSGI)
    conf = home / "gunicorn.conf.py"
    conf.write_text(GUNICORN_CONF.format(deploy=str(servers.DEPLOY_GUNICORN)))
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(project), str(servers.REPO), env.get("PYTHONPATH", "")]),
        DJANGO_SETTINGS_MODULE="bench_settings",
    )
    argv = [
        sys.executable, "-m", "gunicorn",
        "--config", str(conf),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(GUNICORN_WORKERS),
        "--pid", str(pidfile),
        "bench_wsgi:application",
    ]  # fmt: skip
    server = servers.launch("gunicorn", argv, home, port, env=env, cwd=project)
    gunicorn = servers.Gunicorn(
        **vars(server), restthumbs_log=log, access_log=home / "no-access-log", pidfile=pidfile
    )
    with servers.running(gunicorn):
        servers.wait_for_workers(gunicorn, GUNICORN_WORKERS)
        yield gunicorn


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


@dataclass
class Nginx(servers.Nginx):
    """nginx with three servers: shipped (try_files), plain static, straight to Django."""

    plain_port: int = 0
    django_port: int = 0

    def worker_pids(self) -> list[int]:
        master = self.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return sorted(int(pid) for pid in children)


def django_server(site: str, listen: int, port: int) -> str:
    """The shipped server block with ``location /`` handing every request to ``@backend``."""
    block = site[site.index("\nserver {") :]
    for anchor in (TRY_FILES, f"listen 127.0.0.1:{listen};"):
        if anchor not in block:
            raise AssertionError(
                f"deploy/nginx.conf no longer contains {anchor!r}; update benchmarks/http_load.py"
            )
    block = block.replace(f"listen 127.0.0.1:{listen};", f"listen 127.0.0.1:{port};")
    return block.replace(TRY_FILES, TO_BACKEND)


@contextmanager
def bench_nginx(
    directory: Path, backend: int, thumbnails: Path, *, open_file_cache: bool = False
) -> Iterator[Nginx]:
    """nginx running deploy/nginx.conf, plus servers (2) and (3)/(4); no access log."""
    binary = servers.find_binary("nginx")
    port, plain_port, django_port = (servers.free_port() for _ in range(3))
    home = servers.make_dir(directory / "nginx")
    servers.make_dir(home / "tmp")
    site = servers.site_config(servers.DEPLOY_NGINX.read_text(), port, [backend], thumbnails)
    (home / "restthumbs.conf").write_text(site)
    (home / "plain.conf").write_text(PLAIN_SERVER.format(port=plain_port, root=thumbnails))
    (home / "django.conf").write_text(django_server(site, port, django_port))
    (home / "nginx.conf").write_text(
        servers.nginx_main(
            home,
            ["restthumbs.conf", "plain.conf", "django.conf"],
            generator="benchmarks/http_load.py",
            workers="auto",
            connections=4096,
            error_level="warn",
            access_log=False,
            extra=OPEN_FILE_CACHE if open_file_cache else "",
        )
    )
    error_log = home / "error.log"
    argv = [binary, "-p", str(home), "-c", str(home / "nginx.conf"), "-e", str(error_log)]
    server = servers.launch("nginx", argv, home, port)
    nginx = Nginx(
        **vars(server),
        access_log=home / "no-access-log",
        error_log=error_log,
        plain_port=plain_port,
        django_port=django_port,
    )
    with servers.running(nginx):
        for other in (plain_port, django_port):
            wait_port(other, nginx)
        yield nginx


def wait_port(port: int, server: servers.Server) -> None:
    deadline = time.monotonic() + servers.START_TIMEOUT
    while not servers.port_open(port):
        if time.monotonic() > deadline or not server.alive():
            raise RuntimeError(f"port {port} of {server.name} never answered\n{server.describe()}")
        time.sleep(servers.POLL)


# -- the stack -----------------------------------------------------------------


@dataclass
class Stack:
    sources: Path
    thumbnails: Path
    redis: servers.CacheServer
    gunicorn: servers.Gunicorn
    nginx: Nginx
    scratch: Path

    def url(self, port: int, path: str) -> str:
        return f"http://127.0.0.1:{port}{path}"

    def gunicorn_pids(self) -> list[int]:
        return [self.gunicorn.pid, *self.gunicorn.worker_pids()]

    def nginx_pids(self) -> list[int]:
        return [self.nginx.pid, *self.nginx.worker_pids()]


@contextmanager
def stack(open_file_cache: bool) -> Iterator[Stack]:
    with ExitStack() as stop:
        root = stop.enter_context(servers.workspace("restthumbs-http-bench-"))
        sources = servers.make_dir(root / "media")
        thumbnails = servers.make_dir(root / "thumbnails")
        scratch = servers.make_dir(root / "wrk")
        redis = stop.enter_context(servers.redis_server(root))
        gunicorn = stop.enter_context(
            bench_gunicorn(root, cache=redis.cache, sources=sources, thumbnails=thumbnails)
        )
        nginx = stop.enter_context(
            bench_nginx(root, gunicorn.port, thumbnails, open_file_cache=open_file_cache)
        )
        yield Stack(sources, thumbnails, redis, gunicorn, nginx, scratch)


def make_corpus(sources: Path) -> list[str]:
    """``SOURCES`` JPEGs of ``SOURCE_SIZE``; returns their source paths."""
    names = []
    directory = servers.make_dir(sources / "photos")
    for i in range(SOURCES):
        name = f"photos/{i:04d}.jpg"
        (directory / f"{i:04d}.jpg").write_bytes(
            images.encode(images.photo(SOURCE_SIZE, seed=i), "JPEG", quality=90)
        )
        names.append(name)
    return names


# -- signed URLs ---------------------------------------------------------------


def configure_django() -> None:
    """Just enough Django in this process to sign URLs with the servers' key."""
    import django
    from django.conf import settings

    settings.configure(SECRET_KEY=SECRET_KEY, INSTALLED_APPS=["restthumbs"], USE_TZ=True)
    django.setup()


def thumbnail_url(source: str, size: str) -> str:
    from restthumbs.api import thumbnail_url as signed

    return signed(source, size, "crop", ".jpg")


class Pool:
    """Distinct never-requested thumbnail URLs: every source in one size, then the next size."""

    def __init__(self, sources: Sequence[str]) -> None:
        self.sources = list(sources)
        self.next = 0

    def take(self, count: int) -> list[str]:
        urls = []
        for k in range(self.next, self.next + count):
            step, source = divmod(k, len(self.sources))
            size = f"{120 + step % POOL_WIDTHS}x{90 + step // POOL_WIDTHS}"
            urls.append(thumbnail_url(self.sources[source], size))
        self.next += count
        return urls


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


# -- wrk -----------------------------------------------------------------------


@dataclass
class Run:
    """One wrk run, parsed; CPU seconds of the servers during it."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: dict[str, int]
    non_2xx_3xx: int
    statuses: dict[int, int] = field(default_factory=dict)
    misses_sent: int | None = None
    exhausted: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    steal: float = 0.0  # share of the machine's CPU time the hypervisor gave to others
    output: str = ""

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())

    def cpu_us_per_request(self, what: str) -> float:
        return self.cpu.get(what, 0.0) / max(self.requests, 1) * 1e6


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> Run:
    def find(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, output, re.M)
        if match:
            return match.group(1)
        if default is None:
            raise ValueError(f"wrk output without {pattern!r}:\n{output}")
        return default

    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, socket.groups()), strict=True))
        if socket
        else {}
    )
    statuses = {
        int(s): int(n) for s, n in re.findall(r"^restthumbs-status (\d+) (\d+)$", output, re.M)
    }
    misses = find(r"^restthumbs-misses-sent (\d+)$", "")
    return Run(
        requests=int(find(r"^\s*(\d+) requests in")),
        seconds=to_ms(find(r"requests in ([\d.]+\w+),")) / 1000,
        rps=float(find(r"^Requests/sec:\s*([\d.]+)")),
        p50_ms=to_ms(find(r"^\s*50%\s+(\S+)")),
        p99_ms=to_ms(find(r"^\s*99%\s+(\S+)")),
        socket_errors=errors,
        non_2xx_3xx=int(find(r"Non-2xx or 3xx responses: (\d+)", "0")),
        statuses=statuses,
        misses_sent=int(misses) if misses else None,
        exhausted=int(find(r"^restthumbs-exhausted (\d+)$", "0")),
        output=output,
    )


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of ``pids`` (their own, not their reaped children's)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def machine_times() -> list[int]:
    """The first line of /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal..."""
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


def steal_share(before: Sequence[int], after: Sequence[int]) -> float:
    delta = [b - a for a, b in zip(before, after, strict=True)]
    return delta[7] / max(sum(delta), 1) if len(delta) > 7 else 0.0


class Wrk:
    def __init__(self, binary: str, stack: Stack, timeout: float) -> None:
        self.binary = binary
        self.stack = stack
        self.timeout = timeout

    def run(
        self,
        url: str,
        *,
        connections: int,
        duration: float,
        script_args: Sequence[str] | None = None,
    ) -> Run:
        argv = [
            self.binary,
            f"-t{WRK_THREADS}",
            f"-c{max(connections, WRK_THREADS)}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={self.timeout:g}s",
            "--latency",
        ]
        if script_args is not None:
            argv += ["-s", str(LUA_SCRIPT), url, "--", str(WRK_THREADS), *script_args]
        else:
            argv.append(url)
        groups = {"gunicorn": self.stack.gunicorn_pids(), "nginx": self.stack.nginx_pids()}
        before = {name: cpu_seconds(pids) for name, pids in groups.items()}
        machine = machine_times()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120)
        after = {name: cpu_seconds(pids) for name, pids in groups.items()}
        steal = steal_share(machine, machine_times())
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        run = parse_wrk(done.stdout)
        run.cpu = {name: after[name] - before[name] for name in groups}
        run.steal = steal
        return run


# -- checks before measuring ---------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def get(port: int, path: str) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def expect(condition: bool, message: str, stack: Stack) -> None:
    if not condition:
        raise SystemExit(
            f"setup check failed: {message}\n{stack.nginx.describe()}\n{stack.gunicorn.describe()}"
        )


def prepare_hit(stack: Stack, source: str) -> tuple[str, bytes]:
    """Render the hit thumbnail once (a real miss) and check every route serves its bytes."""
    url = thumbnail_url(source, HIT_SIZE)
    first = get(stack.nginx.port, url)
    expect(
        first.status == 200 and bool(first.body), f"first render of {url}: {first.status}", stack
    )
    name = url.lstrip("/")
    path = stack.thumbnails / name
    expect(path.is_file(), f"{path} not written by the render", stack)
    data = path.read_bytes()
    routes = {
        "try_files": (stack.nginx.port, url),
        "plain root": (stack.nginx.plain_port, url),
        "django": (stack.nginx.django_port, url),
        "ceiling": (stack.nginx.django_port, "/__ceiling__" + url),
    }
    for label, (port, path_) in routes.items():
        reply = get(port, path_)
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
    reply = get(stack.nginx.django_port, forged)
    expect(
        reply.status == 401,
        f"django route served a file without asking Django: {reply.status}",
        stack,
    )
    (stack.thumbnails / forged.lstrip("/")).unlink()
    return url, data


# -- scenarios -----------------------------------------------------------------

SCENARIOS = {
    "1": "nginx try_files hit",
    "2": "nginx plain root (same file)",
    "3": "Django hit -> X-Accel-Redirect",
    "4": "Django ceiling view -> X-Accel",
}


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
        "2": stack.url(stack.nginx.plain_port, url),
        "3": stack.url(stack.nginx.django_port, url),
        "4": stack.url(stack.nginx.django_port, "/__ceiling__" + url),
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


# -- report --------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


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


def describe_setup(options: argparse.Namespace, stack: Stack, wrk_binary: str) -> None:
    wrk_version = subprocess.run([wrk_binary, "-v"], capture_output=True, text=True).stdout.split(
        "\n"
    )[0]
    nginx_version = subprocess.run(
        [servers.find_binary("nginx"), "-v"], capture_output=True, text=True
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
    except pytest.skip.Exception as e:  # testsuite.servers: a server binary or module is missing
        print(f"cannot start the servers: {e.msg}", file=sys.stderr)
        return 2
    print("\n== targets")
    for label, ok in targets:
        print(f"  {label:40s} {verdict(ok)}")
    return 0 if all(ok for _, ok in targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
