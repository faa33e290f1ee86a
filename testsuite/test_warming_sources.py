"""The streamed walk of the sources (:mod:`restthumbs.warming.sources`): on disk with
``os.scandir``, on S3 page by page (moto), in name order, with ``since`` and ``after``.

The memory bound is measured against a moto server in its own process, filled
with many thousand keys, so that ``tracemalloc`` sees the walking side alone.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage

from restthumbs.signing import sign
from restthumbs.spec import build_spec
from restthumbs.warming import sources as sources_module
from restthumbs.warming.sources import stream_sources

from . import harness

NAMES = [
    "a.jpg",
    "a/b.jpg",
    "a/c/d.png",
    "a0.jpg",
    "b.webp",
    "upper/E.JPG",
    "ünïcode/ß.jpg",
]


def touch(root: Path, name: str, mtime: float | None = None) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def thumbnail_name(path: str) -> str:
    spec = build_spec(path, "10x10", "crop", "jpg")
    return spec.name(sign(spec))


@pytest.fixture
def disk(tmp_path: Path) -> FileSystemStorage:
    root = tmp_path / "library"
    for name in NAMES:
        touch(root, name)
    for name in (".hidden.jpg", ".cache/x.jpg", "notes.txt", "a/.tmp-1.part"):
        touch(root, name)
    touch(root, thumbnail_name("gone.jpg"))  # a thumbnail storage nested in the sources
    return FileSystemStorage(location=str(root))


def test_disk_walk_yields_images_in_name_order(disk: FileSystemStorage) -> None:
    assert list(stream_sources(disk)) == sorted(NAMES) == NAMES


def test_disk_walk_below_a_prefix(disk: FileSystemStorage) -> None:
    assert list(stream_sources(disk, "a")) == ["a/b.jpg", "a/c/d.png"]
    with pytest.raises(FileNotFoundError):
        list(stream_sources(disk, "missing"))
    with pytest.raises(NotADirectoryError):
        list(stream_sources(disk, "a.jpg"))


@pytest.mark.parametrize("after", ["", *NAMES])
def test_disk_walk_resumes_after_a_name(disk: FileSystemStorage, after: str) -> None:
    assert list(stream_sources(disk, after=after)) == [n for n in NAMES if n > after]


def test_a_resumed_walk_does_not_open_the_directories_it_has_done(
    disk: FileSystemStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    scandir = os.scandir

    def spy(path: Any) -> Any:
        opened.append(os.path.relpath(path, disk.location))
        return scandir(path)

    monkeypatch.setattr(sources_module.os, "scandir", spy)
    assert list(stream_sources(disk, after="a0.jpg")) == ["b.webp", "upper/E.JPG", "ünïcode/ß.jpg"]
    assert "a" not in opened and "a/c" not in opened


def test_disk_walk_since_a_date(tmp_path: Path) -> None:
    now = time.time()
    for i, name in enumerate(["old.jpg", "sub/old.jpg", "new.jpg", "sub/new.jpg"]):
        touch(tmp_path, name, mtime=now - 86400 * 10 if "old" in name else now - i)
    storage = FileSystemStorage(location=str(tmp_path))
    since = datetime.fromtimestamp(now - 86400, tz=timezone.utc)
    assert list(stream_sources(storage, since=since)) == ["new.jpg", "sub/new.jpg"]


def test_disk_walk_follows_a_symlink_loop_once(tmp_path: Path) -> None:
    touch(tmp_path, "loop/a.jpg")
    (tmp_path / "loop" / "again").symlink_to(tmp_path / "loop")
    storage = FileSystemStorage(location=str(tmp_path))
    assert list(stream_sources(storage)) == ["loop/a.jpg"]


def test_the_walk_is_lazy(disk: FileSystemStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    scandir = os.scandir
    monkeypatch.setattr(sources_module.os, "scandir", lambda p: opened.append(str(p)) or scandir(p))
    walk = stream_sources(disk)
    assert opened == []
    assert next(walk) == "a.jpg"
    assert len(opened) == 1  # the root only: "a/" is opened when the walk gets there


def test_other_storages_walk_listdir_in_the_same_order(disk: FileSystemStorage) -> None:
    class Remote(FileSystemStorage):
        """A storage without local paths (as GCS or Azure are)."""

        def path(self, name: str) -> str:
            raise NotImplementedError

        def listdir(self, path: str) -> tuple[list[str], list[str]]:
            return FileSystemStorage(location=disk.location).listdir(path)

        def get_modified_time(self, name: str) -> datetime:
            return FileSystemStorage(location=disk.location).get_modified_time(name)

    remote = Remote(location=disk.location)
    assert list(stream_sources(remote)) == NAMES
    assert list(stream_sources(remote, after="a/b.jpg")) == NAMES[2:]
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert list(stream_sources(remote, since=future)) == []


# -- S3 -------------------------------------------------------------------------------


@pytest.fixture
def bucket() -> Iterator[Any]:
    moto = harness.require_module("moto")
    harness.require_module("storages.backends.s3")
    import boto3
    from storages.backends.s3 import S3Storage

    with moto.mock_aws():
        client = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        client.create_bucket(Bucket="warm-library")
        for name in [*NAMES, ".cache/x.jpg", "a/.hidden/y.jpg", "notes.txt", "dir/"]:
            client.put_object(Bucket="warm-library", Key=f"photos/{name}", Body=b"x")
        client.put_object(Bucket="warm-library", Key="elsewhere.jpg", Body=b"x")
        client.put_object(Bucket="warm-library", Key=f"photos/{thumbnail_name('z.jpg')}", Body=b"")
        yield S3Storage(
            bucket_name="warm-library",
            location="photos",
            access_key="t",
            secret_key="t",
            region_name="us-east-1",
        )


def test_s3_walk_lists_the_location_in_name_order(bucket: Any) -> None:
    assert list(stream_sources(bucket)) == NAMES
    assert list(stream_sources(bucket, "a")) == ["a/b.jpg", "a/c/d.png"]
    assert list(stream_sources(bucket, "missing")) == []  # S3 has no directories


def test_s3_walk_pages_and_resumes_with_start_after(
    bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources_module, "PAGE_SIZE", 2)
    sent: list[dict[str, Any]] = []
    client = bucket.connection.meta.client
    client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2", lambda params, **kw: sent.append(dict(params))
    )
    assert list(stream_sources(bucket, after="a/c/d.png")) == NAMES[3:]
    assert sent[0]["StartAfter"] == "photos/a/c/d.png"
    assert all(p["MaxKeys"] == 2 for p in sent) and len(sent) >= 3


def test_s3_walk_since_uses_last_modified(bucket: Any) -> None:
    past = datetime.now(timezone.utc) - timedelta(days=1)
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert list(stream_sources(bucket, since=past)) == NAMES
    assert list(stream_sources(bucket, since=future)) == []


@pytest.mark.integration
def test_s3_walk_of_many_thousand_keys_in_constant_memory() -> None:
    harness.require_module("storages.backends.s3")
    from storages.backends.s3 import S3Storage

    count = 12_000
    with harness.workspace() as directory:
        from .harness.bucket import filled_bucket

        with filled_bucket(directory, "warm-many", count) as server:
            storage = S3Storage(
                bucket_name="warm-many",
                location="lib",
                access_key="t",
                secret_key="t",
                region_name="us-east-1",
                endpoint_url=server.url(""),
            )
            list(islice(stream_sources(storage), 1))  # the client and its models, loaded

            def peak(limit: int | None) -> tuple[int, int, str]:
                tracemalloc.start()
                try:
                    seen, last = 0, ""
                    for name in islice(stream_sources(storage), limit):
                        seen, last = seen + 1, max(last, name)
                    return seen, tracemalloc.get_traced_memory()[1], last
                finally:
                    tracemalloc.stop()

            # Steady state from the third page on: a page in hand, the next one parsing.
            few, few_peak, _ = peak(2500)
            seen, walk_peak, last = peak(None)

    assert (few, seen) == (2500, count)
    assert last == f"d96/photo-{count - 1 - (count - 1 - 96) % 97:07d}.jpg"
    # Twelve pages cost what three do: nothing grows with the number of keys
    # (a list of the 12,000 names alone would hold about 1 MB more).
    assert walk_peak < few_peak + 256 * 1024, (few_peak, walk_peak)
    assert walk_peak < 4 * 1024 * 1024
