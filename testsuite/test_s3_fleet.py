"""Serving and purging at fleet scale on S3 (moto), counted with test_s3.py's request log.

- A hit through the redirect backend costs one ``HeadObject`` when nothing is
  remembered; with the shared cache's memory (:mod:`restthumbs.stored`) a repeated
  hit costs no S3 request at all.
- A purge, a race between a purge and a look, and a replaced source are never
  answered from a stale memory.
- ``thumbnails_purge`` on a bucket: one ``ListObjectsV2`` per 1,000 names, one
  ``DeleteObjects`` per 1,000 keys, orphans found with one ``HeadObject`` per source.

The shared cache here is Django's ``FileBasedCache`` in the test's directory: shared
by every process on one machine, as Redis or memcached are by a fleet (a
``LocMemCache`` keeps no memory, by design: see test_memory_only_in_a_shared_cache).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import pytest

from . import harness

harness.require_module("storages.backends.s3")
harness.require_module("moto")

from django.core.cache.backends.base import BaseCache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402

from restthumbs import stored  # noqa: E402
from restthumbs.api import thumbnail  # noqa: E402
from restthumbs.invalidation import purge_source  # noqa: E402

from . import images  # noqa: E402
from .test_s3 import (  # noqa: E402, F401  (aws and s3 are fixtures)
    GET_SOURCE,
    HEAD_THUMB,
    KITTEN,
    MISS_CHECKS,
    PUT_THUMB,
    REDIRECT,
    SOURCES_BUCKET,
    SOURCES_PREFIX,
    THUMBS_BUCKET,
    THUMBS_PREFIX,
    S3Env,
    aws,
    s3,
)

LIST = ("thumbs", "ListObjectsV2")
DELETE = ("thumbs", "DeleteObjects")
HEAD_SOURCE = ("sources", "HeadObject")


def shared_cache(tmp_path: Path) -> dict[str, Any]:
    """Settings for a cache every process shares (the lock's and the memory's)."""
    return {
        "CACHES": {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "shared": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "shared-cache"),
            },
        },
        "THUMBNAILS_CACHE": "shared",
    }


@pytest.fixture
def fleet(s3: Callable[..., S3Env], tmp_path: Path) -> Callable[..., S3Env]:  # noqa: F811
    """``fleet(**settings)``: both storages on S3, the redirect backend, a shared cache."""

    def configure(**settings: Any) -> S3Env:
        return s3(backend=REDIRECT, **{**shared_cache(tmp_path), **settings})

    return configure


def redirect(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 302, response.content
    return str(response["Location"])


# -- a repeated hit costs no S3 request --------------------------------------------


def test_a_repeated_hit_costs_no_s3_request(client: Any, fleet: Callable[..., S3Env]) -> None:
    env = fleet()
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    location = redirect(client, thumb.url)
    assert env.requests.take() == [*MISS_CHECKS, GET_SOURCE, PUT_THUMB]  # remembered on render
    for _ in range(3):
        assert redirect(client, thumb.url) == location
        assert env.requests.take() == []  # no HeadObject


def test_without_the_memory_every_hit_costs_a_head(
    client: Any, fleet: Callable[..., S3Env]
) -> None:
    """The figure to compare with: THUMBNAILS_STORED_CACHE_TIMEOUT = 0 turns it off."""
    env = fleet(THUMBNAILS_STORED_CACHE_TIMEOUT=0)
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    redirect(client, thumb.url)
    env.requests.take()
    for _ in range(3):
        redirect(client, thumb.url)
        assert env.requests.take() == [HEAD_THUMB]


def test_a_successful_look_is_remembered(client: Any, fleet: Callable[..., S3Env]) -> None:
    """A thumbnail another machine stored: one look, then none."""
    env = fleet()
    thumb = thumbnail(KITTEN, "100x100")
    env.client.put_object(
        Bucket=THUMBS_BUCKET, Key=f"{THUMBS_PREFIX}/{thumb.name}", Body=images.jpeg_bytes((10, 10))
    )
    redirect(client, thumb.url)
    assert env.requests.take() == [HEAD_THUMB]
    redirect(client, thumb.url)
    assert env.requests.take() == []


def test_warming_remembers_too(client: Any, fleet: Callable[..., S3Env]) -> None:
    from restthumbs.ensure import ensure_thumbnail
    from restthumbs.signing import sign
    from restthumbs.spec import build_spec

    env = fleet()
    env.put_source(KITTEN)
    spec = build_spec(KITTEN, "100x100", "crop", "jpg")
    assert ensure_thumbnail(spec, sign(spec)).rendered
    env.requests.take()
    assert not ensure_thumbnail(spec, sign(spec)).rendered
    redirect(client, thumbnail(KITTEN, "100x100").url)
    assert env.requests.take() == []


def test_the_warm_command_remembers_what_it_renders_and_finds(
    client: Any, fleet: Callable[..., S3Env]
) -> None:
    """A warmed thumbnail's first hit costs no S3 request; a second warm run skips
    every thumbnail without a ``HeadObject`` (only the listing of the sources)."""
    env = fleet()
    env.put_source(KITTEN)
    out = StringIO()
    call_command("thumbnails_warm", "100x100", "crop", "jpg", "64x64", "scale", "webp", stdout=out)
    assert "Rendered 2, skipped 0, failed 0." in out.getvalue()
    assert env.requests.take().count(PUT_THUMB) == 2
    redirect(client, thumbnail(KITTEN, "100x100").url)
    redirect(client, thumbnail(KITTEN, "64x64", "scale", ".webp").url)
    assert env.requests.take() == []
    out = StringIO()
    call_command("thumbnails_warm", "100x100", "crop", "jpg", "64x64", "scale", "webp", stdout=out)
    assert "Rendered 0, skipped 2, failed 0." in out.getvalue()
    assert [r for r in env.requests.take() if r[0] == "thumbs"] == []


def test_the_warm_command_remembers_a_thumbnail_it_finds(fleet: Callable[..., S3Env]) -> None:
    """Stored by another machine: the warm run looks once, the next run not at all."""
    env = fleet()
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    env.client.put_object(
        Bucket=THUMBS_BUCKET, Key=f"{THUMBS_PREFIX}/{thumb.name}", Body=images.jpeg_bytes((10, 10))
    )
    env.requests.take()
    for heads in ([HEAD_THUMB], []):
        out = StringIO()
        call_command("thumbnails_warm", "100x100", "crop", "jpg", stdout=out)
        assert "Rendered 0, skipped 1, failed 0." in out.getvalue()
        assert [r for r in env.requests.take() if r[0] == "thumbs"] == heads


@pytest.mark.parametrize(
    "settings",
    [
        {"THUMBNAILS_CACHE": "default"},  # a LocMemCache: a purge elsewhere could not reach it
        {
            "CACHES": {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}},
            "THUMBNAILS_CACHE": "default",
        },
        {"THUMBNAILS_STORED_CACHE_TIMEOUT": 0},
    ],
)
def test_memory_only_in_a_shared_cache(
    settings: dict[str, Any], client: Any, fleet: Callable[..., S3Env]
) -> None:
    env = fleet(**settings)
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    redirect(client, thumb.url)
    env.requests.take()
    redirect(client, thumb.url)
    assert env.requests.take() == [HEAD_THUMB]
    assert not stored.enabled()


def test_memory_not_for_a_local_thumbnail_storage(tmp_path: Path) -> None:
    """On a disk an lstat costs less than a round trip to the cache."""
    from django.test import override_settings

    with override_settings(**shared_cache(tmp_path)):
        assert not stored.enabled()
        assert stored.recall("a.jpg/1x1/crop/x.jpg") is stored.OFF


# -- never a stale memory ------------------------------------------------------------


def test_a_purge_is_never_answered_from_memory(client: Any, fleet: Callable[..., S3Env]) -> None:
    env = fleet()
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    redirect(client, thumb.url)
    redirect(client, thumb.url)
    env.requests.take()

    out = StringIO()
    call_command("thumbnails_purge", KITTEN, stdout=out)
    assert out.getvalue() == f"Deleted 1 thumbnail of {KITTEN}.\n"
    assert env.thumb_keys() == []
    env.requests.take()

    redirect(client, thumb.url)  # looked at, found missing, rendered again
    assert env.requests.take() == [*MISS_CHECKS, GET_SOURCE, PUT_THUMB]
    assert env.thumb_keys() == [f"{THUMBS_PREFIX}/{thumb.name}"]


def test_a_purge_racing_a_look_leaves_nothing_stale(fleet: Callable[..., S3Env]) -> None:
    """A request looked (found the object) just before a purge deleted it, and writes its
    memory just after: that memory was recalled under the old token, so it is worthless."""
    env = fleet()
    env.put_source(KITTEN)
    name = thumbnail(KITTEN, "100x100").name
    env.client.put_object(Bucket=THUMBS_BUCKET, Key=f"{THUMBS_PREFIX}/{name}", Body=b"x")
    memory = stored.recall(name)  # the request: recalled, then looked (found)
    assert not memory.stored
    assert purge_source(KITTEN) == 1  # the purge: deletes, then forgets
    memory.remember()  # the request, late
    assert not stored.recall(name).stored


def test_a_purge_of_nothing_still_forgets_the_source(fleet: Callable[..., S3Env]) -> None:
    """A thumbnail deleted behind restthumbs' back, then purged by name: forgotten."""
    env = fleet()
    name = thumbnail(KITTEN, "100x100").name
    stored.recall(name).remember()
    assert stored.recall(name).stored
    assert purge_source(KITTEN) == 0
    assert not stored.recall(name).stored
    assert env.thumb_keys() == []


class BrokenCache(BaseCache):
    """A cache whose server is gone: every call raises."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def __getattribute__(self, name: str) -> Any:
        if name in {"get", "get_many", "set", "add", "delete", "delete_many"}:
            raise ConnectionError("cache server unreachable")
        return super().__getattribute__(name)


def test_an_unreachable_cache_never_fails_a_hit(
    client: Any, fleet: Callable[..., S3Env], caplog: pytest.LogCaptureFixture
) -> None:
    env = fleet(
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "shared": {"BACKEND": f"{__name__}.BrokenCache"},
        }
    )
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    with caplog.at_level(logging.WARNING, logger="restthumbs"):
        redirect(client, thumb.url)
        env.requests.take()
        redirect(client, thumb.url)
    assert env.requests.take() == [HEAD_THUMB]
    assert "unreachable to recall stored thumbnails" in caplog.text


# -- thumbnails_purge on a bucket ------------------------------------------------------


def put_thumbnails(env: S3Env, sources: list[str], **kwargs: Any) -> list[str]:
    names = [thumbnail(source, "10x10", **kwargs).name for source in sources]
    for name in names:
        env.client.put_object(Bucket=THUMBS_BUCKET, Key=f"{THUMBS_PREFIX}/{name}", Body=b"x")
    return names


def test_purge_by_prefix_batches_1000_keys_per_request(fleet: Callable[..., S3Env]) -> None:
    env = fleet()
    bulk = put_thumbnails(env, [f"bulk/{i:04d}.jpg" for i in range(1001)])
    kept = put_thumbnails(env, ["bulky.jpg", "other/a.jpg", "bulk"])  # not below bulk/
    stray = f"{THUMBS_PREFIX}/bulk/0000.jpg/10x10/crop/notes.txt"
    env.client.put_object(Bucket=THUMBS_BUCKET, Key=stray, Body=b"x")
    memory = stored.recall(bulk[0])
    memory.remember()
    env.requests.take()

    out = StringIO()
    call_command("thumbnails_purge", "--prefix", "bulk", stdout=out)

    assert env.requests.take() == [LIST, LIST, DELETE, DELETE]  # 1001 names: 2 + 2 requests
    assert out.getvalue() == "Deleted 1001 thumbnails of the sources below bulk/.\n"
    assert env.thumb_keys() == sorted([f"{THUMBS_PREFIX}/{n}" for n in kept] + [stray])
    assert not stored.recall(bulk[0]).stored


def test_purge_orphans_asks_once_per_source(fleet: Callable[..., S3Env]) -> None:
    env = fleet()
    env.put_source("a.jpg")
    names = put_thumbnails(env, ["a.jpg", "gone.jpg"])
    names += put_thumbnails(env, ["a.jpg", "gone.jpg"], version="2")
    env.requests.take()

    out = StringIO()
    call_command("thumbnails_purge", "--orphans", stdout=out)

    assert env.requests.take() == [LIST, HEAD_SOURCE, HEAD_SOURCE, DELETE]
    assert out.getvalue() == "Deleted 2 thumbnails in the thumbnail storage (orphans).\n"
    assert env.thumb_keys() == sorted(f"{THUMBS_PREFIX}/{n}" for n in names if "a.jpg" in n)


def test_purge_by_version_in_a_bucket(fleet: Callable[..., S3Env]) -> None:
    env = fleet()
    put_thumbnails(env, ["a.jpg", "b/c.jpg"], version="1")
    v2 = put_thumbnails(env, ["a.jpg", "b/c.jpg"], version="2")
    plain = put_thumbnails(env, ["a.jpg"])

    call_command("thumbnails_purge", "--version", "1", stdout=StringIO())
    assert env.thumb_keys() == sorted(f"{THUMBS_PREFIX}/{n}" for n in v2 + plain)

    call_command("thumbnails_purge", "a.jpg", "--keep-version", "2", stdout=StringIO())
    assert env.thumb_keys() == sorted(f"{THUMBS_PREFIX}/{n}" for n in v2)


# -- a replaced source, through a model on S3 ------------------------------------------


@pytest.fixture
def photos_on_s3(fleet: Callable[..., S3Env]) -> Iterator[S3Env]:
    """Photo.image (default storage) in the sources bucket, watched by restthumbs."""
    from django.conf import settings
    from django.core.files.storage import storages
    from django.test import override_settings

    from restthumbs.invalidation.receivers import unwatch, watch

    from .gallery.models import Photo
    from .test_s3 import s3_storage

    env = fleet()
    sources = s3_storage(SOURCES_BUCKET, SOURCES_PREFIX)
    with override_settings(STORAGES={**settings.STORAGES, "default": sources}):
        env.requests.watch("sources", storages["s3_sources"])  # new instances, watched again
        env.requests.watch("thumbs", storages["s3_thumbs"])
        watch(Photo, "image")
        try:
            yield env
        finally:
            unwatch(Photo, "image")


def colour_of(data: bytes) -> tuple[int, ...]:
    with Image.open(BytesIO(data)) as im:
        return tuple(im.convert("RGB").getpixel((im.width // 2, im.height // 2)))


def solid_jpeg(colour: tuple[int, int, int]) -> bytes:
    return images.encode(Image.new("RGB", (200, 150), colour), "JPEG")


@pytest.mark.django_db(transaction=True)
def test_a_replaced_source_is_never_answered_from_memory(client: Any, photos_on_s3: S3Env) -> None:
    from django.core.files.base import ContentFile

    from .gallery.models import Photo

    env = photos_on_s3
    photo = Photo(title="kitten")
    photo.image = ContentFile(solid_jpeg((255, 0, 0)), name="kitten.jpg")
    photo.save()
    assert photo.image.name == "photos/kitten.jpg"
    thumb = thumbnail(photo.image, "40x30")
    redirect(client, thumb.url)
    redirect(client, thumb.url)
    assert colour_of(env.thumb_object(thumb.name)["Data"])[0] > 200  # red
    env.requests.take()

    photo.image = ContentFile(solid_jpeg((0, 0, 255)), name="kitten.jpg")
    photo.save()  # S3Storage overwrites: the same name, a new file
    assert photo.image.name == "photos/kitten.jpg"
    assert env.thumb_keys() == []  # purged on commit (autocommit: at once)
    env.requests.take()

    redirect(client, thumb.url)
    assert env.requests.take() == [*MISS_CHECKS, GET_SOURCE, PUT_THUMB]
    assert colour_of(env.thumb_object(thumb.name)["Data"])[2] > 200  # blue, from the new file


@pytest.mark.django_db(transaction=True)
def test_deleting_the_row_purges_on_s3(client: Any, photos_on_s3: S3Env) -> None:
    from django.core.files.base import ContentFile

    from .gallery.models import Photo

    env = photos_on_s3
    photo = Photo.objects.create(
        title="kitten", image=ContentFile(solid_jpeg((0, 255, 0)), name="k.jpg")
    )
    thumb = thumbnail(photo.image, "40x30")
    redirect(client, thumb.url)
    assert env.thumb_keys() == [f"{THUMBS_PREFIX}/{thumb.name}"]
    photo.delete()
    assert env.thumb_keys() == []
    assert not stored.recall(thumb.name).stored
