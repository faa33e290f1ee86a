"""Task workers: Django's Tasks framework on django-tasks-rq, RQ workers on a real Redis.

:func:`task_project` writes a Django project (the generated settings of
:mod:`.project`) whose ``TASKS`` backend is ``django_tasks_rq.RQBackend`` on a
Redis database of its own, beside the lock cache on the same server;
:func:`rq_workers` starts worker processes on it (``manage.py rqworker`` with
``django_tasks_rq.Job`` and RQ's ``SimpleWorker``: one process renders, no fork
per job) and waits until Redis lists them all; :func:`manage` runs a management
command of that project in a fresh process (``thumbnails_warm --enqueue``).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .caches import CacheServer
from .missing import Missing, missing_message
from .processes import POLL, REPO, START_TIMEOUT, Server, launch, make_dir
from .project import SETTINGS, django_settings, write_project

QUEUE = "default"


@dataclass
class TaskProject:
    """A generated project directory, its Redis queue URL and its restthumbs log."""

    directory: Path
    queue_url: str
    log: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=os.pathsep.join([str(self.directory), str(REPO), env.get("PYTHONPATH", "")]),
            DJANGO_SETTINGS_MODULE=SETTINGS,
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env


def require_installed(name: str) -> None:
    """:class:`Missing` unless ``name`` can be imported; not imported here (django_rq
    reads its settings when imported, and this process may have other ones)."""
    if importlib.util.find_spec(name) is None:
        raise Missing(missing_message(f"the Python package `{name}` (pip install -e '.[test]')"))


def task_settings(redis: CacheServer) -> dict[str, Any]:
    """The settings that point ``TASKS`` at RQ on ``redis`` (database 1; locks use 0)."""
    url = f"redis://127.0.0.1:{redis.port}/1"
    return {
        "INSTALLED_APPS": ["restthumbs", "django_tasks", "django_rq", "django_tasks_rq"],
        "TASKS": {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [QUEUE]}},
        "RQ_QUEUES": {QUEUE: {"URL": url}},
    }


def task_project(
    directory: Path,
    redis: CacheServer,
    *,
    sources: Path,
    thumbnails: Path,
    secret_key: str,
    settings: Mapping[str, Any] | None = None,
) -> TaskProject:
    """A project for the workers and the enqueuing command, locks in ``redis`` too."""
    for module in ("django_tasks", "django_tasks_rq", "django_rq", "rq", "redis"):
        require_installed(module)
    home = make_dir(directory / f"tasks-{redis.port}")
    log = home / "restthumbs.log"
    extra = {**task_settings(redis), **(settings or {})}
    text = django_settings(
        secret_key=secret_key,
        cache=redis.cache,
        sources=sources,
        thumbnails=thumbnails,
        log=log,
        extra=extra,
    )
    write_project(home, text, {})
    return TaskProject(home, extra["RQ_QUEUES"][QUEUE]["URL"], log)


def manage(
    project: TaskProject, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m django ARGS`` on the project, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=project.directory,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_manage(project: TaskProject, *args: str) -> subprocess.Popen[str]:
    """:func:`manage` without waiting: the caller reads ``communicate()``."""
    return subprocess.Popen(
        [sys.executable, "-m", "django", *args],
        cwd=project.directory,
        env=project.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def registered_workers(queue_url: str) -> list[str]:
    """The names of the RQ workers Redis knows (each registers when it starts)."""
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(queue_url)
    try:
        return sorted(w.name for w in Worker.all(connection=connection))
    finally:
        connection.close()


@contextmanager
def rq_workers(project: TaskProject, count: int = 2) -> Iterator[list[Server]]:
    """``count`` RQ worker processes on the project's queue, stopped by PID at the end."""
    with ExitStack() as stack:
        workers = []
        for i in range(count):
            name = f"rqworker-{i}-{os.getpid()}-{time.monotonic_ns()}"
            argv = [
                sys.executable, "-m", "django", "rqworker", QUEUE,
                "--job-class", "django_tasks_rq.Job",
                "--worker-class", "rq.worker.SimpleWorker",
                "--name", name,
            ]  # fmt: skip
            server = launch(
                name, argv, project.directory, 0, env=project.env(), cwd=project.directory
            )
            stack.callback(server.stop)
            workers.append(server)
        _wait_registered(project, workers)
        yield workers


def _wait_registered(project: TaskProject, workers: list[Server]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    names = sorted(w.name for w in workers)
    while True:
        dead = [w for w in workers if not w.alive()]
        if dead:
            raise RuntimeError("an RQ worker exited\n" + "\n".join(w.describe() for w in dead))
        if set(names) <= set(registered_workers(project.queue_url)):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                "RQ workers did not register\n" + "\n".join(w.describe() for w in workers)
            )
        time.sleep(POLL)


def eventually(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition`` until it holds (``True``) or ``timeout`` seconds pass (``False``)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True
