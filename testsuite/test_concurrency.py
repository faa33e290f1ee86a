"""Many simultaneous requests for one cold thumbnail through a real, threaded HTTP server.

Django's threaded live server runs in this process, so the render lock (the
local-memory cache) and the ``thumbnail_rendered`` receiver are shared with the test. The source is large
and the thumbnail big enough that one render takes long enough for the other
requests to arrive while it runs; the control test proves that they do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.test.testcases import LiveServerThread

from restthumbs import thumbnail_url
from restthumbs.api import thumbnail
from restthumbs.signals import thumbnail_rendered

from . import images
from .harness.http import Reply, request
from .utils import files_under

WORKERS = 8
SOURCE = "big/photo.jpg"
#: Large enough that JPEG draft decoding cannot shortcut it: a full decode, resample, encode.
SIZE = "1500x1000"
NGINX = "restthumbs.responses.nginx.sendfile"


def _no_static_files(application: Any) -> Any:
    return application


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """A threaded real HTTP server running Django in this process; yields its base URL.

    It is Django's ``LiveServerThread``, the server pytest-django's ``live_server``
    fixture runs, started here without a database: that fixture opens the test
    database (and needs STATIC_URL), and an open test database makes the shared
    ``client`` fixture's response close (``close_old_connections``) fail in every
    later test.
    """
    thread = LiveServerThread("localhost", _no_static_files)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait(timeout=10)
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()


@pytest.fixture
def renders() -> Iterator[list[str]]:
    """The thumbnail names rendered, from whichever server thread rendered them."""
    names: list[str] = []
    guard = threading.Lock()

    def receiver(sender: object, thumbnail_path: str, **kwargs: Any) -> None:
        with guard:
            names.append(thumbnail_path)

    thumbnail_rendered.connect(receiver, weak=False)
    yield names
    thumbnail_rendered.disconnect(receiver)


@pytest.fixture
def big_source(write_source: Callable[..., Path]) -> str:
    write_source(SOURCE, images.jpeg_bytes((3000, 2000)))
    return SOURCE


def fetch_all_at_once(url: str, count: int = WORKERS) -> list[Reply]:
    """``count`` threads wait at a barrier, then request ``url`` at the same moment."""
    barrier = threading.Barrier(count)
    answers: list[Reply | BaseException | None] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            answers[index] = request(url)
        except BaseException as error:  # reported by the assertion below
            answers[index] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(a, Reply) for a in answers), answers
    return answers  # type: ignore[return-value]


def test_simultaneous_requests_render_once(
    server_url: str, big_source: str, thumbs_dir: Path, renders: list[str]
) -> None:
    thumb = thumbnail(big_source, SIZE)
    answers = fetch_all_at_once(server_url + thumb.url)
    assert [a.status for a in answers] == [200] * WORKERS
    assert {a.body for a in answers} == {(thumbs_dir / thumb.name).read_bytes()}
    assert all(a.headers["Content-Type"] == "image/jpeg" for a in answers)
    assert all(a.headers["Cache-Control"] == "public, max-age=2592000" for a in answers)
    assert renders == [thumb.name]
    assert files_under(thumbs_dir) == [thumb.name]


@override_settings(THUMBNAILS_RESPONSE_BACKEND=NGINX)
def test_simultaneous_requests_render_once_with_nginx(
    server_url: str, big_source: str, thumbs_dir: Path, renders: list[str]
) -> None:
    thumb = thumbnail(big_source, SIZE, "crop", ".png")
    answers = fetch_all_at_once(server_url + thumb.url)
    assert [a.status for a in answers] == [200] * WORKERS
    assert {a.headers["X-Accel-Redirect"] for a in answers} == {"/thumbnails/" + thumb.name}
    assert {a.body for a in answers} == {b""}
    assert renders == [thumb.name]
    assert files_under(thumbs_dir) == [thumb.name]
    assert (thumbs_dir / thumb.name).read_bytes().startswith(b"\x89PNG")


@override_settings(
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "nolock": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    },
    THUMBNAILS_CACHE="nolock",
)
def test_control_without_a_working_lock_requests_do_overlap(
    server_url: str, big_source: str, thumbs_dir: Path, renders: list[str]
) -> None:
    """With a cache that never holds a lock, the same burst renders several times.

    This shows the requests above really overlap the render, so their single
    render is the lock's doing. Each duplicate render still writes atomically.
    """
    thumb = thumbnail(big_source, SIZE)
    answers = fetch_all_at_once(server_url + thumbnail_url(big_source, SIZE))
    assert [a.status for a in answers] == [200] * WORKERS
    assert len(renders) >= 2
    assert files_under(thumbs_dir) == [thumb.name]  # no temporary file survives
    assert {a.body for a in answers} == {(thumbs_dir / thumb.name).read_bytes()}
