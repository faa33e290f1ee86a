"""Small helpers for assertions in tests, and for playing another worker."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from restthumbs.conf import app_settings
from restthumbs.locks import CacheLock, lock_key


def files_under(directory: Path) -> list[str]:
    """Every file below ``directory`` (relative paths), temporary files included, but the
    ``.gitignore`` restthumbs writes into a thumbnail root it creates."""
    if not directory.exists():
        return []
    return sorted(
        path
        for root, _, names in os.walk(directory)
        for f in names
        if (path := os.path.relpath(os.path.join(root, f), directory)) != ".gitignore"
    )


def body(response: object) -> bytes:
    """The whole body of a (possibly streaming) response."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content  # type: ignore[attr-defined,no-any-return]


def other_worker_lock(name: str, timeout: float = 30) -> CacheLock:
    """The lock another worker would take for the thumbnail ``name``, taken."""
    lock = CacheLock(app_settings.CACHE, lock_key(app_settings.KEY_PREFIX, name), timeout)
    assert lock.acquire()
    return lock


def later(delay: float, action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` in a daemon thread after ``delay`` seconds."""

    def run() -> None:
        time.sleep(delay)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def write_like_a_worker(path: Path, data: bytes) -> None:
    """Publish ``data`` at ``path`` the way a worker does: temporary file, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / ".other-worker.part"
    tmp.write_bytes(data)
    os.replace(tmp, path)


def assert_falls_through(response: object, thumbs_dir: Path) -> None:
    """Not a thumbnail-shaped path: restthumbs' view never saw it (Django's own 404,
    without the ``no-store`` every restthumbs answer carries), and nothing was written."""
    assert response.status_code == 404, response.status_code  # type: ignore[attr-defined]
    assert not response.has_header("Cache-Control"), response["Cache-Control"]  # type: ignore[attr-defined]
    assert files_under(thumbs_dir) == []
