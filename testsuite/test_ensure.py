"""ensure_thumbnail: render once, the ``thumbnail_rendered`` signal, the render lock.

Another worker is played by this test: it takes the same lock with
:class:`restthumbs.locks.CacheLock` and the key from :func:`restthumbs.locks.lock_key`,
and a thread writes the file or releases the lock while the request waits.
Faults are real: a closed TCP port for the lock cache, a file where a directory
must be, a file-size limit.
"""

from __future__ import annotations

import io
import logging
import resource
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from django.test import override_settings
from PIL import Image

from restthumbs import thumbnail_url
from restthumbs.api import thumbnail
from restthumbs.conf import app_settings
from restthumbs.ensure import ensure_thumbnail
from restthumbs.exceptions import StorageWriteError
from restthumbs.locks import CacheLock
from restthumbs.signals import thumbnail_rendered
from restthumbs.signing import sign
from restthumbs.spec import ThumbnailSpec, build_spec
from restthumbs.storage import is_stored, thumbnail_storage
from restthumbs.views import status_for

from . import images
from .utils import body, files_under, later, other_worker_lock, write_like_a_worker

SOURCE = "animals/kitten.jpg"


@pytest.fixture
def renders() -> Iterator[list[dict[str, Any]]]:
    """Every ``thumbnail_rendered`` signal sent during the test (from any thread)."""
    sent: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        sent.append({"sender": sender, **kwargs})

    thumbnail_rendered.connect(receiver, weak=False)
    yield sent
    thumbnail_rendered.disconnect(receiver)


@pytest.fixture(autouse=True)
def kitten(write_source: Callable[..., Path]) -> str:
    write_source(SOURCE)
    return SOURCE


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_memcached(**options: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
        "LOCATION": f"127.0.0.1:{closed_port()}",
    }
    if options:
        entry["OPTIONS"] = options
    return {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "locks": entry,
    }


# -- ensure_thumbnail and the signal ---------------------------------------------


def test_ensure_thumbnail_renders_once_then_finds_the_file(thumbs_dir: Path) -> None:
    spec = build_spec(SOURCE, "80x60", "smart", "png")
    secret = sign(spec)
    first = ensure_thumbnail(spec, secret)
    assert first.rendered and first.duration > 0
    assert first.name == spec.name(secret)
    assert files_under(thumbs_dir) == [first.name]
    with Image.open(thumbs_dir / first.name) as im:
        assert (im.format, im.size) == ("PNG", (80, 60))
    second = ensure_thumbnail(spec, secret)
    assert not second.rendered and second.duration == 0
    assert second.name == first.name


def test_signal_fires_once_per_render_never_for_hits(
    client: Any, thumbs_dir: Path, renders: list[dict[str, Any]]
) -> None:
    url = thumbnail_url(SOURCE, "100x100")
    name = thumbnail(SOURCE, "100x100").name
    first = client.get(url)
    assert first.status_code == 200
    assert len(renders) == 1
    sent = renders[0]
    assert sent["sender"] is ThumbnailSpec
    assert sent["source_path"] == SOURCE
    assert sent["thumbnail_path"] == name
    assert isinstance(sent["duration"], float) and sent["duration"] > 0
    # Hits of every kind: GET, HEAD, conditional GET.
    assert client.get(url).status_code == 200
    assert client.head(url).status_code == 200
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert len(renders) == 1
    # Another thumbnail of the same source is another render.
    assert client.get(thumbnail_url(SOURCE, "50x")).status_code == 200
    assert [r["thumbnail_path"] for r in renders] == [name, thumbnail(SOURCE, "50x").name]


def test_signal_not_sent_when_nothing_is_rendered(
    client: Any, write_source: Callable[..., Path], renders: list[dict[str, Any]]
) -> None:
    write_source("broken.jpg", b"not an image")
    assert client.get(thumbnail_url("broken.jpg", "100x100")).status_code // 100 == 4
    assert client.get(thumbnail_url("missing.jpg", "100x100")).status_code == 404
    url = thumbnail_url(SOURCE, "100x100")
    wrong = url[:-5] + ("1" if url[-5] == "0" else "0") + ".jpg"  # one hex digit changed
    assert client.get(wrong).status_code == 401
    assert renders == []


# -- waiting for another worker -------------------------------------------------


def test_waits_for_the_file_another_worker_writes(
    client: Any, thumbs_dir: Path, renders: list[dict[str, Any]]
) -> None:
    thumb = thumbnail(SOURCE, "100x100")
    lock = other_worker_lock(thumb.name)
    theirs = images.encode(images.photo((100, 100), seed=7), "JPEG", quality=70)
    writer = later(0.3, lambda: write_like_a_worker(thumbs_dir / thumb.name, theirs))
    try:
        start = time.monotonic()
        response = client.get(thumb.url)
        elapsed = time.monotonic() - start
        assert response.status_code == 200
        assert response["Cache-Control"] == "public, max-age=2592000"
        assert body(response) == theirs  # theirs, not a second render
        assert elapsed >= 0.25
        assert renders == []
        assert files_under(thumbs_dir) == [thumb.name]
        assert lock.is_free() is False  # the waiter did not take or clear their lock
    finally:
        writer.join()
        lock.release()


def test_renders_itself_when_the_holder_releases_without_a_file(
    client: Any, thumbs_dir: Path, renders: list[dict[str, Any]]
) -> None:
    thumb = thumbnail(SOURCE, "100x100")
    lock = other_worker_lock(thumb.name)
    releaser = later(0.3, lock.release)
    try:
        start = time.monotonic()
        response = client.get(thumb.url)
        elapsed = time.monotonic() - start
    finally:
        releaser.join()
    assert response.status_code == 200
    assert elapsed >= 0.25
    assert len(renders) == 1
    with Image.open(io.BytesIO(body(response))) as im:
        assert im.size == (100, 100)
    assert files_under(thumbs_dir) == [thumb.name]
    assert CacheLock(app_settings.CACHE, lock.key, 1).is_free()  # and released its own lock


@override_settings(THUMBNAILS_LOCK_TIMEOUT=1)
def test_lock_of_a_dead_worker_expires_after_the_timeout(
    client: Any, thumbs_dir: Path, renders: list[dict[str, Any]]
) -> None:
    """A worker that took the lock and died blocks the others no longer than the timeout."""
    thumb = thumbnail(SOURCE, "100x100")
    other_worker_lock(thumb.name, timeout=app_settings.LOCK_TIMEOUT)  # never released
    start = time.monotonic()
    response = client.get(thumb.url)
    elapsed = time.monotonic() - start
    assert response.status_code == 200
    assert 0.5 <= elapsed < 2.5
    assert len(renders) == 1
    assert files_under(thumbs_dir) == [thumb.name]


@override_settings(THUMBNAILS_LOCK_TIMEOUT=1)
def test_busy_past_the_lock_timeout_is_503_with_retry_after(
    client: Any, thumbs_dir: Path, renders: list[dict[str, Any]]
) -> None:
    thumb = thumbnail(SOURCE, "100x100")
    lock = other_worker_lock(thumb.name, timeout=30)  # still rendering, as far as we know
    try:
        start = time.monotonic()
        response = client.get(thumb.url)
        elapsed = time.monotonic() - start
        assert response.status_code == 503
        assert response["Cache-Control"] == "no-store"
        assert int(response["Retry-After"]) >= 1
        assert 0.9 <= elapsed < 3
        assert files_under(thumbs_dir) == []
        assert renders == []
        assert not lock.is_free()
    finally:
        lock.release()
    # Once the holder is gone, the same URL renders (the 503 was not cached anywhere).
    assert client.get(thumb.url).status_code == 200


# -- the lock cache unreachable -------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"ignore_exc": True}, {"ignore_exc": True, "use_pooling": True, "no_delay": True}],
    ids=["default", "ignore_exc", "django-docs-options"],
)
def test_unreachable_lock_cache_renders_and_logs(
    client: Any,
    thumbs_dir: Path,
    renders: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    options: dict[str, Any],
) -> None:
    """Every cold request renders at once with a warning, not only the first one:
    pymemcache answers silently (a failed ``add``) once it has seen the server fail."""
    with override_settings(CACHES=dead_memcached(**options), THUMBNAILS_CACHE="locks"):
        for size in ("100x100", "90x90", "80x80"):
            caplog.clear()
            start = time.monotonic()
            with caplog.at_level(logging.WARNING, logger="restthumbs"):
                response = client.get(thumbnail_url(SOURCE, size))
            elapsed = time.monotonic() - start
            assert response.status_code == 200, size
            assert response["Cache-Control"] == "public, max-age=2592000"
            assert elapsed < 0.9, size  # no waiting on a lock nobody holds
            warnings = [
                r for r in caplog.records if r.name == "restthumbs" and r.levelno == logging.WARNING
            ]
            assert warnings, size
            assert "lock" in warnings[0].getMessage().lower()
    assert len(renders) == 3
    assert len(files_under(thumbs_dir)) == 3


# -- the thumbnail storage not writable -----------------------------------------


def test_unwritable_target_is_5xx_and_recovers(
    client: Any, thumbs_dir: Path, renders: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """A regular file where the source's directory must be: works even as root."""
    thumb = thumbnail(SOURCE, "100x100")
    blocker = thumbs_dir / SOURCE
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"in the way")
    with caplog.at_level(logging.WARNING, logger="restthumbs"):
        response = client.get(thumb.url)
    assert 500 <= response.status_code < 600
    assert response.status_code == status_for(StorageWriteError())
    assert response["Cache-Control"] == "no-store"
    # The errno is for the operator's log, not for whoever asked for the URL.
    assert response.content == b"The thumbnail could not be stored.\n"
    (refusal,) = [r for r in caplog.records if getattr(r, "reason", None) == "storage_write"]
    assert "could not be stored: Not a directory" in refusal.getMessage()
    assert files_under(thumbs_dir) == [SOURCE]  # the blocker, nothing partial or temporary
    assert renders == []
    blocker.unlink()
    start = time.monotonic()
    response = client.get(thumb.url)
    assert response.status_code == 200
    assert time.monotonic() - start < 1  # the failed render released its lock
    assert files_under(thumbs_dir) == [thumb.name]


def test_read_only_thumbnail_dir_is_5xx(client: Any, thumbs_dir: Path) -> None:
    thumbs_dir.mkdir()
    thumbs_dir.chmod(0o555)
    try:
        try:
            (thumbs_dir / "probe").write_bytes(b"")
        except PermissionError:
            pass
        else:
            pytest.skip("chmod does not stop this user (root) from writing")
        response = client.get(thumbnail_url(SOURCE, "100x100"))
        assert 500 <= response.status_code < 600
        assert response["Cache-Control"] == "no-store"
        assert files_under(thumbs_dir) == []
    finally:
        thumbs_dir.chmod(0o755)
    assert client.get(thumbnail_url(SOURCE, "100x100")).status_code == 200


def test_write_failing_midway_leaves_no_temporary_file(
    client: Any, thumbs_dir: Path, renders: list[dict[str, Any]]
) -> None:
    """A real short write (a file-size limit, EFBIG) after the temporary file exists."""
    url = thumbnail_url(SOURCE, "400x300", "crop", ".png")  # far bigger than the limit
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        response = client.get(url)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert 500 <= response.status_code < 600
    assert response["Cache-Control"] == "no-store"
    assert files_under(thumbs_dir) == []
    assert renders == []
    assert client.get(url).status_code == 200
    assert len(renders) == 1


def test_storage_used_is_the_configured_one(tmp_path: Path, thumbs_dir: Path) -> None:
    """ensure_thumbnail reads THUMBNAILS_STORAGE_ROOT per call, so overrides apply at once."""
    spec = build_spec(SOURCE, "40x40", "crop", "jpg")
    elsewhere = tmp_path / "elsewhere"
    with override_settings(THUMBNAILS_STORAGE_ROOT=str(elsewhere)):
        result = ensure_thumbnail(spec, sign(spec))
        assert thumbnail_storage().exists(result.name)
    assert files_under(elsewhere) == [result.name]
    assert files_under(thumbs_dir) == []


def test_storage_is_resolved_once_until_settings_change(tmp_path: Path) -> None:
    """One instance per process on the hit path, a new one after override_settings."""
    first = thumbnail_storage()
    assert thumbnail_storage() is first
    with override_settings(THUMBNAILS_STORAGE_ROOT=str(tmp_path / "other")):
        other = thumbnail_storage()
        assert other is not first
        assert Path(other.location) == tmp_path / "other"  # type: ignore[attr-defined]
    assert thumbnail_storage() is not other


@pytest.mark.parametrize(
    "name",
    [
        "animals/kitten.jpg/40x40/crop/x.jpg",  # stored
        "animals/kitten.jpg/40x40/crop/y.jpg",  # not stored
        "animals/kitten.jpg/40x40/crop",  # a directory counts, as for exists()
        "animals/kitten.jpg/40x40/crop/x.jpg/deeper.jpg",  # a file where a directory would be
        "animals/kitten.jpg/40x40/crop/dangling.jpg",  # a dangling symlink counts, as for exists()
        "nowhere/a.jpg",
    ],
)
def test_is_stored_agrees_with_exists(thumbs_dir: Path, name: str) -> None:
    storage = thumbnail_storage()
    assert type(storage) is FileSystemStorage  # the lstat fast path
    write_like_a_worker(thumbs_dir / "animals/kitten.jpg/40x40/crop/x.jpg", b"data")
    (thumbs_dir / "animals/kitten.jpg/40x40/crop/dangling.jpg").symlink_to(thumbs_dir / "gone")
    assert is_stored(storage, name) == storage.exists(name)
    assert is_stored(storage, "animals/kitten.jpg/40x40/crop/x.jpg")


class _AlwaysStored(FileSystemStorage):
    def exists(self, name: str) -> bool:
        return True


def test_is_stored_leaves_subclasses_their_own_exists(tmp_path: Path) -> None:
    assert is_stored(_AlwaysStored(location=str(tmp_path)), "never/written.jpg")
    assert not is_stored(FileSystemStorage(location=str(tmp_path)), "never/written.jpg")


def test_a_thumbnail_root_restthumbs_creates_is_ignored_by_git(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path, tmp_path: Path
) -> None:
    """The default root, MEDIA_ROOT/../thumbnails, sits beside manage.py in a new project."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write_source("a.jpg")
    assert not thumbs_dir.exists()
    assert client.get(thumbnail_url("a.jpg", "40x40")).status_code == 200
    assert (thumbs_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    status = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "thumbnails" not in status and "media/a.jpg" in status


def test_an_existing_thumbnail_root_is_left_as_it_is(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    thumbs_dir.mkdir()
    write_source("a.jpg")
    assert client.get(thumbnail_url("a.jpg", "40x40")).status_code == 200
    assert not (thumbs_dir / ".gitignore").exists()
