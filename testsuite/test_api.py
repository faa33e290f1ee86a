"""Tests for :mod:`restthumbs.api`: building a URL is pure computation.

sorl-thumbnail's tag did storage and key-value I/O per thumbnail (seconds per
page on S3). Here the storages and the cache are replaced by classes that fail
on any use, the database is watched, and many URLs are built regardless.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import Storage
from django.db import connection
from django.template import Context, Template
from django.test import override_settings

import restthumbs
from restthumbs.api import Thumbnail, source_name, thumbnail, thumbnail_url
from restthumbs.exceptions import InvalidSpec, SizeNotAllowed
from restthumbs.signing import sign
from restthumbs.spec import build_spec

#: Every attempt to touch a storage or a cache, even if some caller swallowed the error.
TOUCHED: list[str] = []


class ExplodingStorage(Storage):  # type: ignore[misc]
    """A storage that fails on construction and on every method."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        TOUCHED.append("storage.__init__")
        raise AssertionError("URL building must not create a storage")

    def __getattribute__(self, name: str) -> Any:
        TOUCHED.append(f"storage.{name}")
        raise AssertionError(f"URL building must not call storage.{name}")


class ExplodingCache:
    """A cache backend that fails on construction and on every method."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        TOUCHED.append("cache.__init__")
        raise AssertionError("URL building must not create a cache")

    def __getattribute__(self, name: str) -> Any:
        TOUCHED.append(f"cache.{name}")
        raise AssertionError(f"URL building must not call cache.{name}")


HERE = __name__
EXPLODING = {
    "THUMBNAILS_SOURCE_STORAGE_BACKEND": f"{HERE}.ExplodingStorage",
    "THUMBNAILS_STORAGE_BACKEND": f"{HERE}.ExplodingStorage",
    "STORAGES": {
        "default": {"BACKEND": f"{HERE}.ExplodingStorage"},
        "staticfiles": {"BACKEND": f"{HERE}.ExplodingStorage"},
    },
    "CACHES": {
        "default": {"BACKEND": f"{HERE}.ExplodingCache"},
        "locks": {"BACKEND": f"{HERE}.ExplodingCache"},
    },
    "THUMBNAILS_CACHE": "locks",
    # reverse() would import this and fail: URL building must not resolve URLs.
    "ROOT_URLCONF": f"{HERE}_no_such_urlconf",
}

SIZES = ["100x100", "64x", "x64", "1x1", "4096x4096"]
METHODS = ["crop", "scale", "smart"]
EXTS = [".jpg", "jpeg", ".png", "webp", ".gif"]


@pytest.fixture
def exploding() -> Any:
    TOUCHED.clear()
    with override_settings(**EXPLODING):
        yield
    assert TOUCHED == []


# -- the URL ---------------------------------------------------------------


def test_thumbnail_url_equals_the_tag_output() -> None:
    tag = Template(
        '{% load thumbnail %}{% thumbnail "animals/kitten.jpg" "100x100" "crop" ".jpg" %}'
    )
    expected = tag.render(Context())
    assert restthumbs.thumbnail_url("animals/kitten.jpg", "100x100", "crop", ".jpg") == expected
    assert thumbnail_url("animals/kitten.jpg", "100x100", "crop", ".jpg") == expected


def test_defaults_are_crop_and_jpg() -> None:
    assert thumbnail_url("a.png", "10x10") == thumbnail_url("a.png", "10x10", "crop", ".jpg")
    assert restthumbs.thumbnail_url("a.png", "10x10") == thumbnail_url(
        "a.png", "10x10", "crop", "jpg"
    )


def test_url_shape() -> None:
    secret = sign(build_spec("a b/ç.jpg", "x50", "smart", "webp"))
    assert (
        thumbnail_url("a b/ç.jpg", "x50", "smart", ".webp")
        == f"/a%20b/%C3%A7.jpg/x50/smart/{secret}.webp"
    )


def test_thumbnail_object() -> None:
    thumb = thumbnail("a b.jpg", "10x", "scale", ".png")
    assert isinstance(thumb, Thumbnail)
    assert thumb.spec == build_spec("a b.jpg", "10x", "scale", "png")
    assert thumb.name == f"a b.jpg/10x/scale/{sign(thumb.spec)}.png"  # decoded: the storage name
    assert thumb.url == "/" + thumb.name.replace(" ", "%20")
    assert str(thumb) == thumb.url
    assert thumb
    assert not thumbnail("", "10x")
    assert str(thumbnail(None, "10x")) == ""


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a.jpg", "a.jpg"),
        ("", ""),
        (None, ""),
        (type("F", (), {"name": "x/y.jpg"})(), "x/y.jpg"),
        (type("F", (), {"name": None})(), ""),
    ],
)
def test_source_name(source: object, expected: str) -> None:
    assert source_name(source) == expected


@pytest.mark.parametrize(
    ("size", "method", "ext"),
    [
        ("0x1", "crop", ".jpg"),
        ("1x1", "fit", ".jpg"),
        ("1x1", "crop", ".JPG"),
        ("1x1", "crop", ".bmp"),
    ],
)
def test_malformed_spec_is_a_value_error(size: str, method: str, ext: str) -> None:
    with pytest.raises(InvalidSpec):
        thumbnail_url("a.jpg", size, method, ext)
    with pytest.raises(ValueError):
        thumbnail_url("a.jpg", size, method, ext)


@pytest.mark.parametrize("path", ["/etc/passwd", "../a.jpg", "a//b.jpg"])
def test_bad_source_path_is_a_value_error(path: str) -> None:
    with pytest.raises(ValueError):
        thumbnail_url(path, "10x10")


# -- size policy -----------------------------------------------------------


@pytest.mark.parametrize("size", ["101x1", "1x101", "101x", "x101", "4097x4097"])
def test_max_size_refused(size: str) -> None:
    with override_settings(THUMBNAILS_MAX_SIZE=100):
        with pytest.raises(SizeNotAllowed):
            thumbnail_url("a.jpg", size)
        with pytest.raises(ValueError):
            thumbnail_url("a.jpg", size)


@pytest.mark.parametrize("size", ["100x100", "100x", "x100", "1x1"])
def test_max_size_is_inclusive(size: str) -> None:
    with override_settings(THUMBNAILS_MAX_SIZE=100):
        assert thumbnail_url("a.jpg", size)


def test_default_max_size_is_4096() -> None:
    assert thumbnail_url("a.jpg", "4096x4096")
    with pytest.raises(ValueError):
        thumbnail_url("a.jpg", "4097x1")


def test_allowed_sizes() -> None:
    with override_settings(THUMBNAILS_ALLOWED_SIZES=["100x100", "64x"]):
        assert thumbnail_url("a.jpg", "100x100")
        assert thumbnail_url("a.jpg", "64x")
        for refused in ("x64", "65x", "100x101", "64x64"):
            with pytest.raises(ValueError):
                thumbnail_url("a.jpg", refused)


def test_tag_refuses_a_size_over_the_limit_at_render_time() -> None:
    template = Template('{% load thumbnail %}{% thumbnail "a.jpg" "200x200" "crop" ".jpg" %}')
    with override_settings(THUMBNAILS_MAX_SIZE=100, THUMBNAILS_DEBUG=True):
        with pytest.raises(ValueError):
            template.render(Context())


# -- no I/O ----------------------------------------------------------------


def test_the_exploding_doubles_do_explode(exploding: None) -> None:
    """Guard against a vacuous proof: using the configured storage or cache does fail."""
    from django.core.cache import caches

    from restthumbs.storage import source_storage, thumbnail_storage

    for use in (source_storage, thumbnail_storage, lambda: caches["locks"]):
        with pytest.raises(AssertionError):
            use()
    assert TOUCHED
    TOUCHED.clear()


def test_building_urls_does_no_io(exploding: None) -> None:
    """Many URLs, through the API and the tag, with every I/O path rigged to fail.

    The database: this test has no ``django_db`` mark, so pytest-django refuses
    any connection, and ``execute_wrapper`` records any query that would still
    run. (``CaptureQueriesContext`` opens a connection, which needs the mark; and
    a ``django_db`` test leaves the in-memory database connected, which makes
    later tests' response close, ``close_old_connections``, fail.)
    """
    queries: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    tag = Template(
        "{% load thumbnail %}"
        "{% for s in sources %}{% thumbnail s size method ext as t %}{{ t.url }}\n"
        "{% thumbnail s size method ext %}\n{% endfor %}"
    )
    sources = [f"dir {i}/ïmage-{i}.jpg" for i in range(20)]
    urls: list[str] = []
    with connection.execute_wrapper(record):
        for size in SIZES:
            for method in METHODS:
                for ext in EXTS:
                    urls.extend(thumbnail_url(s, size, method, ext) for s in sources[:3])
                    out = tag.render(
                        Context({"sources": sources, "size": size, "method": method, "ext": ext})
                    )
                    urls.extend(out.split())
    assert queries == []
    assert len(urls) == len(SIZES) * len(METHODS) * len(EXTS) * (3 + 2 * len(sources))
    assert len(set(urls)) == len(SIZES) * len(METHODS) * len(EXTS) * len(sources)
    assert all(url.startswith("/dir%20") for url in urls)
