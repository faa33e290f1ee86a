"""Real servers for the integration tests: redis-server, memcached, gunicorn and nginx.

Each context manager starts one server on a loopback port picked at random (a
socket bound to port 0 tells a free one), with its files in a directory the
test owns, waits until the port answers (bounded), and stops the server by its
PID on exit: ``SIGTERM``, a bounded wait, then ``SIGKILL``. Nothing is started
as a daemon, nothing touches the system's own services or their ports.

gunicorn runs ``deploy/gunicorn.conf.py`` and nginx runs ``deploy/nginx.conf``
(a few example values substituted), so the shipped files are what is tested.

A missing binary skips the test, except under ``CI=true``, where it fails: CI
installs the servers (``.ci/run``), so a missing one there is a broken setup,
not a reason to pass quietly.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn, TypeVar

import pytest

REPO = Path(__file__).resolve().parent.parent
DEPLOY_NGINX = REPO / "deploy" / "nginx.conf"
DEPLOY_GUNICORN = REPO / "deploy" / "gunicorn.conf.py"

START_TIMEOUT = 30.0  # seconds until a server's port answers
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
POLL = 0.05

#: Where distributions put nginx when /usr/sbin is not on a user's PATH.
EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/local/nginx/sbin")
MIME_TYPES = (
    "/etc/nginx/mime.types",
    "/usr/local/nginx/conf/mime.types",
    "/usr/local/etc/nginx/mime.types",
)

#: urllib without proxies from the environment: requests stay on 127.0.0.1.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

#: Capabilities that let root ignore file permissions; dropped to make chmod bite.
DAC_CAPS = "-dac_override,-dac_read_search"


# -- finding binaries ---------------------------------------------------------


def missing(what: str) -> NoReturn:
    """Skip (locally) or fail (``CI=true``) because ``what`` is not available."""
    message = (
        f"{what} is needed by the integration tests and was not found. Install it "
        "(Debian: apt-get install nginx-light redis-server memcached) or deselect "
        "them with -m 'not integration'."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


def find_binary(name: str) -> str:
    """The path of ``name`` on PATH or in the usual sbin directories."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(EXTRA_BIN_DIRS))
    if found is None:
        missing(f"`{name}`")
    return found


def require_module(name: str) -> ModuleType:
    """Import a package the tests need (the ``test`` extra installs them), or :func:`missing`.

    Usable at module level, in place of ``pytest.importorskip``, which would
    skip even under ``CI=true``.
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"the Python package `{name}` (pip install -e '.[test]')")


# -- ports and processes ------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} is not readable)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Server:
    """One started process, its port, and where its own output goes."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    directory: Path
    output: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def describe(self) -> str:
        """The server's last lines of output, for assertion messages."""
        return f"--- {self.name} (pid {self.pid}) {self.output}:\n{tail(self.output)}"

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Poll the port until it accepts connections; fail early if the process died."""
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}\n{self.describe()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not listen within {timeout} s\n{self.describe()}"
                )
            time.sleep(POLL)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would, and reap the process."""
        if self.alive():
            self.process.kill()
        self.process.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL: never leave a server behind."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait(STOP_TIMEOUT)


def launch(
    name: str,
    argv: Sequence[str],
    directory: Path,
    port: int,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Server:
    """Start ``argv`` with stdout and stderr in ``directory/<name>.out``."""
    output = directory / f"{name}.out"
    with open(output, "wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
        )
    return Server(name, process, port, directory, output)


S = TypeVar("S", bound="Server")


@contextmanager
def running(server: S) -> Iterator[S]:
    """Wait for ``server`` to listen, yield it, and stop it whatever happens."""
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@contextmanager
def workspace(prefix: str = "restthumbs-e2e-") -> Iterator[Path]:
    """A fresh directory that other users can traverse (mode 0755).

    pytest's ``tmp_path`` lives under a 0700 directory, but nginx's workers run
    as an unprivileged user when nginx is started by root and must reach the
    thumbnails, as in production.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for root, dirs, _ in os.walk(path):  # a test may have left a read-only dir
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(path, ignore_errors=True)


def make_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    return path


# -- lock caches --------------------------------------------------------------


@dataclass
class CacheServer(Server):
    """A lock cache, with the ``CACHES`` entry that points Django at it."""

    cache: dict[str, Any] = field(default_factory=dict)


@contextmanager
def redis_server(directory: Path) -> Iterator[CacheServer]:
    """redis-server without persistence: a lock cache, nothing to keep."""
    binary = find_binary("redis-server")
    require_module("redis")
    port = free_port()
    home = make_dir(directory / f"redis-{port}")
    argv = [
        binary,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(home),
        "--daemonize", "no",
        "--protected-mode", "yes",
    ]  # fmt: skip
    server = launch("redis", argv, home, port)
    cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
    }
    with running(CacheServer(**vars(server), cache=cache)) as ready:
        yield ready


@contextmanager
def memcached_server(directory: Path) -> Iterator[CacheServer]:
    """memcached on TCP only (``-U 0``: no UDP port to collide on)."""
    binary = find_binary("memcached")
    require_module("pymemcache")
    port = free_port()
    home = make_dir(directory / f"memcached-{port}")
    argv = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]  # memcached refuses to run as root without naming a user
    server = launch("memcached", argv, home, port)
    cache = {
        "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
        "LOCATION": f"127.0.0.1:{port}",
    }
    with running(CacheServer(**vars(server), cache=cache)) as ready:
        yield ready


# -- gunicorn -----------------------------------------------------------------


@dataclass
class Gunicorn(Server):
    """A gunicorn master; its workers are the children it forked."""

    restthumbs_log: Path = Path()
    access_log: Path = Path()
    pidfile: Path = Path()

    def worker_pids(self) -> list[int]:
        """The master's children, from /proc (the master's PID is in the pid file)."""
        master = int(self.pidfile.read_text().strip())
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def worker_serving(self, client_port: int) -> int:
        """The worker PID that holds the accepted end of the client's connection."""
        inode = connection_inode(self.port, client_port)
        for pid in self.worker_pids():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except FileNotFoundError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
                except FileNotFoundError:
                    continue
        raise LookupError(f"no worker of {self.name} holds the connection from port {client_port}")

    def log_lines(self) -> list[str]:
        return self.restthumbs_log.read_text().splitlines() if self.restthumbs_log.exists() else []

    def access_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def describe(self) -> str:
        return "\n".join(
            [
                super().describe(),
                f"--- restthumbs log:\n{tail(self.restthumbs_log)}",
                f"--- access log:\n{tail(self.access_log)}",
            ]
        )


def connection_inode(server_port: int, client_port: int) -> str:
    """The socket inode of the server side of a loopback connection (/proc/net/tcp)."""
    wanted_local, wanted_remote = f"{server_port:04X}", f"{client_port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if local.endswith(":" + wanted_local) and remote.endswith(":" + wanted_remote):
                return inode
    raise LookupError(f"no connection from port {client_port} to port {server_port}")


def django_settings(
    *,
    secret_key: str,
    cache: dict[str, Any],
    sources: Path,
    thumbnails: Path,
    log: Path,
    extra: dict[str, Any],
) -> str:
    """The text of a settings module for one gunicorn instance (repr of plain values)."""
    values: dict[str, Any] = {
        "SECRET_KEY": secret_key,
        "DEBUG": False,
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
        "USE_TZ": True,
        "INSTALLED_APPS": ["restthumbs"],
        "MIDDLEWARE": ["django.middleware.security.SecurityMiddleware"],
        "ROOT_URLCONF": "e2e_urls",
        "DATABASES": {},
        "CACHES": {"default": cache},
        "MEDIA_ROOT": str(sources),
        "THUMBNAILS_SOURCE_ROOT": str(sources),
        "THUMBNAILS_STORAGE_ROOT": str(thumbnails),
        "THUMBNAILS_STORAGE_BASE_PATH": "/thumbnails/",
        "THUMBNAILS_RESPONSE_BACKEND": "restthumbs.responses.nginx.sendfile",
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "line": {
                    "format": "%(asctime)s %(levelname)s pid=%(process)d %(name)s: %(message)s"
                }
            },
            "handlers": {
                "file": {"class": "logging.FileHandler", "filename": str(log), "formatter": "line"}
            },
            "loggers": {"restthumbs": {"handlers": ["file"], "level": "INFO", "propagate": False}},
        },
        **extra,
    }
    lines = ['"""Generated by testsuite/servers.py for one gunicorn instance."""']
    lines += [f"{name} = {value!r}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


URLS_MODULE = """\
from django.urls import include, path

urlpatterns = [path("", include("restthumbs.urls"))]
"""

WSGI_MODULE = """\
import os

os.environ["DJANGO_SETTINGS_MODULE"] = "e2e_settings"

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
"""


def drop_dac_prefix() -> list[str]:
    """Run as root without CAP_DAC_OVERRIDE, so a 0555 directory refuses writes.

    gunicorn's ``--user nobody`` would do the same, but its workers import
    Django after switching user, and an interpreter under /root (pyenv, a
    virtualenv there) is unreadable to nobody. Without these two capabilities
    root is an ordinary owner: mode bits apply, its own 0700 files stay readable.
    """
    if os.geteuid() != 0:
        return []  # an ordinary user is refused by the mode bits already
    return [find_binary("setpriv"), f"--bounding-set={DAC_CAPS}", f"--inh-caps={DAC_CAPS}", "--"]


@contextmanager
def gunicorn_server(
    directory: Path,
    name: str,
    *,
    cache: dict[str, Any],
    sources: Path,
    thumbnails: Path,
    secret_key: str,
    workers: int = 2,
    threads: int = 4,
    settings: dict[str, Any] | None = None,
    respect_permissions: bool = False,
) -> Iterator[Gunicorn]:
    """gunicorn with ``deploy/gunicorn.conf.py``, serving restthumbs on a generated project.

    ``respect_permissions`` runs it so that file modes apply even when the tests
    run as root (see :func:`drop_dac_prefix`).
    """
    require_module("gunicorn")
    port = free_port()
    home = make_dir(directory / name)
    project = make_dir(home / "project")
    log, access, pidfile = home / "restthumbs.log", home / "access.log", home / "gunicorn.pid"
    (project / "e2e_settings.py").write_text(
        django_settings(
            secret_key=secret_key,
            cache=cache,
            sources=sources,
            thumbnails=thumbnails,
            log=log,
            extra=settings or {},
        )
    )
    (project / "e2e_urls.py").write_text(URLS_MODULE)
    (project / "e2e_wsgi.py").write_text(WSGI_MODULE)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(project), str(REPO), env.get("PYTHONPATH", "")]),
        DJANGO_SETTINGS_MODULE="e2e_settings",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    argv = [
        *(drop_dac_prefix() if respect_permissions else []),
        sys.executable, "-m", "gunicorn",
        "--config", str(DEPLOY_GUNICORN),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--pid", str(pidfile),
        "--access-logfile", str(access),
        "--error-logfile", "-",
        "--graceful-timeout", "3",
        "--max-requests", "0",  # no recycling mid-test: worker PIDs must stay put
        *gunicorn_private_options(),
        "e2e_wsgi:application",
    ]  # fmt: skip
    server = launch(name, argv, home, port, env=env, cwd=project)
    gunicorn = Gunicorn(**vars(server), restthumbs_log=log, access_log=access, pidfile=pidfile)
    with running(gunicorn):
        wait_for_workers(gunicorn, workers)
        yield gunicorn


def gunicorn_private_options() -> list[str]:
    """Options that keep an instance to itself, where this gunicorn has them.

    gunicorn 25.1+ opens a control socket at a fixed path ($HOME/.gunicorn);
    several instances would fight over it, and it would outlive the test.
    """
    from gunicorn.config import KNOWN_SETTINGS

    names = {setting.name for setting in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def wait_for_workers(server: Gunicorn, count: int, timeout: float = START_TIMEOUT) -> None:
    """Until ``count`` workers exist and one of them answers HTTP (Django is loaded)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if len(server.worker_pids()) >= count and http_answers(server.url("/__e2e_ready__")):
                return
        except (FileNotFoundError, ValueError):
            pass  # the pid file is not written yet
        if not server.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} workers not ready\n{server.describe()}")
        time.sleep(POLL)


def http_answers(url: str) -> bool:
    """Whether anything answers HTTP at ``url`` (any status counts)."""
    try:
        with OPENER.open(url, timeout=5):
            return True
    except urllib.error.HTTPError as e:
        e.close()
        return True
    except OSError:
        return False


# -- nginx --------------------------------------------------------------------

#: Example values in deploy/nginx.conf and what the tests put in their place.
NGINX_EXAMPLE_LISTEN = "listen 80;"
NGINX_EXAMPLE_UPSTREAM = "server 127.0.0.1:8000;"
NGINX_EXAMPLE_ROOT = "/srv/app/thumbnails"

NGINX_MAIN = """\
# Generated by {generator}: a foreground nginx whose files all live in {home}.
daemon off;
master_process on;
worker_processes {workers};
pid {home}/nginx.pid;
error_log {home}/error.log {error_level};

events {{
    worker_connections {connections};
}}

http {{
    {types}
    default_type application/octet-stream;
    {logging}
    {extra}
    client_body_temp_path {home}/tmp/body;
    proxy_temp_path {home}/tmp/proxy;
    fastcgi_temp_path {home}/tmp/fastcgi;
    uwsgi_temp_path {home}/tmp/uwsgi;
    scgi_temp_path {home}/tmp/scgi;

{includes}
}}
"""

#: The access log of the e2e tests: enough to tell who answered, and with what caching.
E2E_LOG_FORMAT = (
    '"$request" $status upstream=$upstream_addr cache_control="$sent_http_cache_control"'
)


def nginx_main(
    home: Path,
    includes: Sequence[str],
    *,
    generator: str = "testsuite/servers.py",
    workers: str = "1",
    connections: int = 256,
    error_level: str = "info",
    access_log: bool = True,
    extra: str = "",
) -> str:
    """The main nginx.conf: everything in ``home``, the server blocks from ``includes``.

    ``access_log`` writes ``home/access.log`` in :data:`E2E_LOG_FORMAT`; a
    benchmark turns it off, as a log line per request would be measured too.
    """
    logging = (
        f"log_format e2e '{E2E_LOG_FORMAT}';\n    access_log {home}/access.log e2e;"
        if access_log
        else "access_log off;"
    )
    return NGINX_MAIN.format(
        generator=generator,
        home=home,
        workers=workers,
        connections=connections,
        error_level=error_level,
        types=mime_types(),
        logging=logging,
        extra=extra,
        includes="\n".join(f"    include {home}/{name};" for name in includes),
    )


FALLBACK_TYPES = (
    "types { image/jpeg jpg jpeg; image/png png; image/webp webp; image/gif gif; image/avif avif; }"
)


@dataclass
class Nginx(Server):
    access_log: Path = Path()
    error_log: Path = Path()

    def access_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def describe(self) -> str:
        return "\n".join(
            [
                super().describe(),
                f"--- error log:\n{tail(self.error_log)}",
                f"--- access log:\n{tail(self.access_log)}",
            ]
        )


def site_config(template: str, port: int, backends: Sequence[int], thumbnails: Path) -> str:
    """deploy/nginx.conf with the listen port, upstream servers and thumbnail root replaced.

    Each example value must be there: a changed deploy file fails loudly here
    instead of leaving the tests on a configuration nobody ships.
    """
    for anchor in (NGINX_EXAMPLE_LISTEN, NGINX_EXAMPLE_UPSTREAM, NGINX_EXAMPLE_ROOT):
        if anchor not in template:
            raise AssertionError(
                f"deploy/nginx.conf no longer contains {anchor!r}; update testsuite/servers.py"
            )
    upstreams = "\n    ".join(f"server 127.0.0.1:{p};" for p in backends)
    text = template.replace(NGINX_EXAMPLE_LISTEN, f"listen 127.0.0.1:{port};")
    text = re.sub(
        r"^(\s*)" + re.escape(NGINX_EXAMPLE_UPSTREAM),
        lambda m: m.group(1) + upstreams,
        text,
        flags=re.M,
    )
    return text.replace(NGINX_EXAMPLE_ROOT, str(thumbnails))


def mime_types() -> str:
    for path in MIME_TYPES:
        if os.path.exists(path):
            return f"include {path};"
    return FALLBACK_TYPES


@contextmanager
def nginx_server(
    directory: Path, backends: Sequence[int], thumbnails: Path, name: str = "nginx"
) -> Iterator[Nginx]:
    """nginx in the foreground with deploy/nginx.conf in front of ``backends`` (ports)."""
    binary = find_binary("nginx")
    port = free_port()
    home = make_dir(directory / name)
    make_dir(home / "tmp")
    (home / "restthumbs.conf").write_text(
        site_config(DEPLOY_NGINX.read_text(), port, backends, thumbnails)
    )
    (home / "nginx.conf").write_text(nginx_main(home, ["restthumbs.conf"]))
    error_log = home / "error.log"
    argv = [binary, "-p", str(home), "-c", str(home / "nginx.conf"), "-e", str(error_log)]
    server = launch(name, argv, home, port)
    nginx = Nginx(**vars(server), access_log=home / "access.log", error_log=error_log)
    with running(nginx):
        yield nginx
