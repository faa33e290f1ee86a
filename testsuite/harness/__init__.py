"""Real servers for the integration tests and the HTTP benchmark, importable without pytest.

Each server starts in the foreground on a loopback port the kernel picked,
with its files in a directory the caller owns, is waited for (bounded) and is
stopped by its PID: ``SIGTERM``, a bounded wait, then ``SIGKILL``. Nothing is
started as a daemon, nothing touches the system's own services or their ports.
gunicorn runs ``deploy/gunicorn.conf.py`` and nginx ``deploy/nginx.conf`` or
``deploy/nginx-s3.conf``, so the shipped files are what is tested and measured.

    missing.py    Missing, find_binary, require_module: what the machine must have
    processes.py  free ports, launch with output in a file, wait, stop by PID, workspace
    caches.py     redis-server and memcached, with their CACHES entries
    project.py    the Django project a gunicorn instance serves
    gunicorn.py   gunicorn on deploy/gunicorn.conf.py; its workers, seen from /proc
    nginx.py      the main nginx.conf, the deploy files filled in, one launcher
    moto.py       an S3 endpoint (moto server mode, in a thread)
    http.py       the one HTTP client: raw paths, no proxy, every status a Reply
    browser.py    headless Chromium through Selenium: images as loaded, screenshots
    tasks.py      task workers: django-tasks-rq's RQ workers on Redis, a project for them
    bucket.py     a moto S3 server in its own process, filled with many keys

A missing binary or Python package raises :class:`Missing`; what that means is
the caller's decision (the test suite: skip, or fail under ``CI=true``).
"""

from __future__ import annotations

from .browser import Img, artifacts, chromium, images_of, screenshot
from .caches import CacheServer, memcached_server, redis_server
from .gunicorn import Gunicorn, gunicorn_server
from .http import Connection, Reply, request
from .missing import Missing, find_binary, require_module
from .moto import MotoServer, moto_server
from .nginx import Nginx, nginx_server, s3_nginx, shipped_nginx
from .processes import Server, free_port, make_dir, workspace

__all__ = [
    "CacheServer",
    "Connection",
    "Gunicorn",
    "Img",
    "Missing",
    "MotoServer",
    "Nginx",
    "Reply",
    "Server",
    "artifacts",
    "chromium",
    "find_binary",
    "free_port",
    "gunicorn_server",
    "images_of",
    "make_dir",
    "memcached_server",
    "moto_server",
    "nginx_server",
    "redis_server",
    "request",
    "require_module",
    "s3_nginx",
    "screenshot",
    "shipped_nginx",
    "workspace",
]
