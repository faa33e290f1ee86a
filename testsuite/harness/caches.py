"""Lock caches for the servers under test: redis-server and memcached on loopback.

Each yields a :class:`CacheServer` whose ``cache`` is the ``CACHES`` entry that
points Django at it. Nothing is persisted: a lock cache has nothing to keep.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .missing import find_binary, require_module
from .processes import Server, free_port, launch, make_dir, running


@dataclass
class CacheServer(Server):
    """A lock cache, with the ``CACHES`` entry that points Django at it."""

    cache: dict[str, Any] = field(default_factory=dict)


@contextmanager
def redis_server(directory: Path) -> Iterator[CacheServer]:
    """redis-server without persistence, in ``directory/redis-<port>``."""
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
