"""The view against the contract's status table: successes, caching headers, 401, 405.

Each test asserts the status, the headers that matter for it, and what is (or is
not) on disk below the thumbnail root, temporary files included.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings
from django.utils.http import http_date
from PIL import Image

from restthumbs import thumbnail_url
from restthumbs.api import thumbnail
from restthumbs.engine import can_encode
from restthumbs.signals import thumbnail_rendered

from .utils import assert_falls_through, body, files_under

PUBLIC = "public, max-age=2592000"

FORMATS = [
    ("jpg", "image/jpeg", "JPEG"),
    ("jpeg", "image/jpeg", "JPEG"),
    ("png", "image/png", "PNG"),
    ("webp", "image/webp", "WEBP"),
    ("gif", "image/gif", "GIF"),
    pytest.param(
        "avif",
        "image/avif",
        "AVIF",
        marks=pytest.mark.skipif(not can_encode("AVIF"), reason="Pillow without AVIF"),
    ),
]


def name_of(path: str, size: str = "100x100", method: str = "crop", ext: str = ".jpg") -> str:
    """The storage name of a thumbnail, which is also its URL below the proxy base."""
    return thumbnail(path, size, method, ext).name


def assert_error(
    response: Any, status: int, thumbs_dir: Path, kept: list[str] | None = None
) -> None:
    """An error: the status, ``no-store``, no success headers, nothing new written."""
    assert response.status_code == status, body(response)
    assert response["Cache-Control"] == "no-store"
    assert not response.has_header("ETag")
    assert files_under(thumbs_dir) == (kept or [])


@pytest.fixture
def renders() -> Iterator[list[dict[str, Any]]]:
    """Every ``thumbnail_rendered`` signal sent during the test."""
    sent: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        sent.append(kwargs)

    thumbnail_rendered.connect(receiver, weak=False)
    yield sent
    thumbnail_rendered.disconnect(receiver)


@pytest.fixture
def kitten(write_source: Callable[..., Path]) -> str:
    write_source("animals/kitten.jpg")
    return "animals/kitten.jpg"


# -- 200 -------------------------------------------------------------------


@pytest.mark.parametrize(("ext", "content_type", "pillow_format"), FORMATS)
def test_first_render_is_200_with_the_format_content_type(
    client: Any, kitten: str, thumbs_dir: Path, ext: str, content_type: str, pillow_format: str
) -> None:
    name = name_of(kitten, ext=ext)
    response = client.get(thumbnail_url(kitten, "100x100", "crop", ext))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Cache-Control"] == PUBLIC
    data = body(response)
    assert data == (thumbs_dir / name).read_bytes()
    assert int(response["Content-Length"]) == len(data)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == pillow_format
        assert im.size == (100, 100)
    # Only the final file: no temporary file survives the atomic write.
    assert files_under(thumbs_dir) == [name]


def test_stored_hit_is_200_with_same_bytes_and_validators(
    client: Any, kitten: str, thumbs_dir: Path, renders: list[dict[str, Any]]
) -> None:
    url = thumbnail_url(kitten, "100x100")
    first = client.get(url)
    first_body = body(first)
    second = client.get(url)
    assert second.status_code == 200
    assert second["Content-Type"] == "image/jpeg"
    assert second["Cache-Control"] == PUBLIC
    assert body(second) == first_body
    assert second["ETag"] == first["ETag"]
    assert second["Last-Modified"] == first["Last-Modified"]
    assert len(renders) == 1
    assert first.has_header("Server-Timing") and not second.has_header("Server-Timing")


def test_etag_and_last_modified_describe_the_stored_file(
    client: Any, kitten: str, thumbs_dir: Path
) -> None:
    response = client.get(thumbnail_url(kitten, "100x100"))
    body(response)
    stored = thumbs_dir / name_of(kitten)
    assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
    assert response["Last-Modified"] == http_date(int(stored.stat().st_mtime))
    parsedate_to_datetime(response["Last-Modified"])  # a valid HTTP date


@override_settings(THUMBNAILS_CACHE_MAX_AGE=60)
def test_cache_max_age_follows_the_setting(client: Any, kitten: str) -> None:
    url = thumbnail_url(kitten, "100x100")
    assert client.get(url)["Cache-Control"] == "public, max-age=60"
    with override_settings(THUMBNAILS_CACHE_MAX_AGE=0):
        assert client.get(url)["Cache-Control"] == "public, max-age=0"


def test_if_none_match_gives_304(client: Any, kitten: str) -> None:
    url = thumbnail_url(kitten, "100x100")
    etag = client.get(url)["ETag"]
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert body(response) == b""
    assert response["ETag"] == etag
    other = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert body(other)


def test_if_modified_since_gives_304(client: Any, kitten: str) -> None:
    url = thumbnail_url(kitten, "100x100")
    last_modified = client.get(url)["Last-Modified"]
    response = client.get(url, headers={"If-Modified-Since": last_modified})
    assert response.status_code == 304
    assert body(response) == b""
    older = client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert older.status_code == 200
    assert body(older)


@pytest.mark.parametrize("stored_first", [False, True], ids=["cold", "hit"])
def test_head_gives_headers_and_empty_body(
    client: Any, kitten: str, thumbs_dir: Path, stored_first: bool
) -> None:
    url = thumbnail_url(kitten, "100x100", "crop", ".png")
    if stored_first:
        body(client.get(url))
    response = client.head(url)
    assert response.status_code == 200
    assert body(response) == b""
    stored = thumbs_dir / name_of(kitten, ext="png")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(stored.stat().st_size)
    assert response["Cache-Control"] == PUBLIC
    assert response.has_header("ETag") and response.has_header("Last-Modified")


def test_hit_serves_stored_bytes_without_decoding(
    client: Any, kitten: str, thumbs_dir: Path, media: Path
) -> None:
    """A hit never opens the source or decodes the thumbnail: it only streams the file."""
    url = thumbnail_url(kitten, "100x100")
    body(client.get(url))
    (thumbs_dir / name_of(kitten)).write_bytes(b"not an image, served as stored")
    (media / kitten).write_bytes(b"the source is now garbage")
    response = client.get(url)
    assert response.status_code == 200
    assert body(response) == b"not an image, served as stored"


def test_hit_after_source_deleted_is_still_200(client: Any, kitten: str, media: Path) -> None:
    url = thumbnail_url(kitten, "100x100")
    first = body(client.get(url))
    (media / kitten).unlink()
    response = client.get(url)
    assert response.status_code == 200
    assert body(response) == first


CACHE_CALLS: list[str] = []


class RecordingCache(LocMemCache):
    """A real local-memory cache that records which lock operations reach it."""

    def add(self, key: str, *args: Any, **kwargs: Any) -> bool:
        CACHE_CALLS.append("add")
        return super().add(key, *args, **kwargs)

    def get(self, key: str, *args: Any, **kwargs: Any) -> Any:
        CACHE_CALLS.append("get")
        return super().get(key, *args, **kwargs)

    def delete(self, key: str, *args: Any, **kwargs: Any) -> bool:
        CACHE_CALLS.append("delete")
        return super().delete(key, *args, **kwargs)


@override_settings(
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "locks": {"BACKEND": f"{__name__}.RecordingCache", "LOCATION": "recording"},
    },
    THUMBNAILS_CACHE="locks",
)
def test_hit_does_not_touch_the_lock_cache(client: Any, kitten: str) -> None:
    CACHE_CALLS.clear()
    url = thumbnail_url(kitten, "100x100")
    body(client.get(url))
    assert "add" in CACHE_CALLS  # the render took the lock: the recorder works
    CACHE_CALLS.clear()
    response = client.get(url)
    assert response.status_code == 200
    assert CACHE_CALLS == []


# -- 401 -------------------------------------------------------------------


def _bad_secrets(secret: str) -> dict[str, str]:
    flipped = ("0" if secret[0] != "0" else "1") + secret[1:]
    return {
        "wrong": flipped,
        "empty": "",
        "upper-case": secret.upper(),
        "truncated": secret[:-1],
        "half": secret[:32],
        "extended": secret + "0",
        "non-hex": "g" + secret[1:],
    }


#: A last segment of 64 hex digits, or none, is thumbnail-shaped (the contract's routing).
SHAPED = ("wrong", "empty", "upper-case")


@pytest.mark.parametrize("kind", list(_bad_secrets("a" * 64)))
def test_bad_secret_is_401_and_writes_nothing(
    client: Any, kitten: str, thumbs_dir: Path, renders: list[dict[str, Any]], kind: str
) -> None:
    """A wrong secret of the right shape is a 401; any other last segment is not a
    thumbnail's and falls through to the project's routes (here: none, so a 404)."""
    good = thumbnail(kitten, "100x100", "crop", ".jpg")
    secret = good.name.rsplit("/", 1)[1].removesuffix(".jpg")
    bad = _bad_secrets(secret)[kind]
    assert bad != secret
    url = good.url.replace(f"/{secret}.jpg", f"/{bad}.jpg")
    response = client.get(url)
    if kind in SHAPED:
        assert_error(response, 401, thumbs_dir)
    else:
        assert_falls_through(response, thumbs_dir)
    assert renders == []


def test_empty_last_segment_is_401(client: Any, kitten: str, thumbs_dir: Path) -> None:
    assert_error(client.get(f"/{kitten}/100x100/crop/.jpg"), 401, thumbs_dir)


@pytest.mark.parametrize(
    "other",
    [
        ("animals/kitten.jpg", "100x101", "crop", "jpg"),
        ("animals/kitten.jpg", "100x", "crop", "jpg"),
        ("animals/kitten.jpg", "100x100", "scale", "jpg"),
        ("animals/kitten.jpg", "100x100", "smart", "jpg"),
        ("animals/kitten.jpg", "100x100", "crop", "jpeg"),
        ("animals/kitten.jpg", "100x100", "crop", "png"),
        ("animals/puppy.jpg", "100x100", "crop", "jpg"),
    ],
    ids=["size", "one-side", "scale", "smart", "ext-alias", "ext", "path"],
)
def test_secret_of_another_spec_is_401(
    client: Any,
    write_source: Callable[..., Path],
    thumbs_dir: Path,
    other: tuple[str, str, str, str],
) -> None:
    """A secret is bound to every part of the spec: moving it to another spec fails."""
    write_source("animals/kitten.jpg")
    write_source("animals/puppy.jpg")
    genuine = thumbnail("animals/kitten.jpg", "100x100", "crop", ".jpg")
    secret = genuine.name.rsplit("/", 1)[1].removesuffix(".jpg")
    path, size, method, ext = other
    response = client.get(f"/{path}/{size}/{method}/{secret}.{ext}")
    assert_error(response, 401, thumbs_dir)
    # The genuine URL still works, so the refusal was about the secret alone.
    assert client.get(genuine.url).status_code == 200


@override_settings(THUMBNAILS_SECRET_KEY="another-key")
def test_secret_from_another_key_is_401(client: Any, kitten: str, thumbs_dir: Path) -> None:
    with override_settings(THUMBNAILS_SECRET_KEY="the-old-key"):
        old_url = thumbnail_url(kitten, "100x100")
    assert_error(client.get(old_url), 401, thumbs_dir)
    with override_settings(THUMBNAILS_SECRET_KEY_FALLBACKS=["the-old-key"]):
        assert client.get(old_url).status_code == 200


# -- 405 -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch", "options"])
@pytest.mark.parametrize("stored_first", [False, True], ids=["cold", "hit"])
def test_other_methods_are_405(
    client: Any, kitten: str, thumbs_dir: Path, method: str, stored_first: bool
) -> None:
    url = thumbnail_url(kitten, "100x100")
    kept = []
    if stored_first:
        body(client.get(url))
        kept = [name_of(kitten)]
    response = getattr(client, method)(url)
    assert_error(response, 405, thumbs_dir, kept)
    assert response["Allow"] == "GET, HEAD"
    if stored_first:
        assert (thumbs_dir / kept[0]).exists()  # DELETE deletes nothing


def test_405_also_for_a_malformed_url(client: Any, thumbs_dir: Path) -> None:
    response = client.post("/a.jpg/0x0/fit/.JPG")
    assert_error(response, 405, thumbs_dir)
    assert response["Allow"] == "GET, HEAD"


# -- the prefixed mount ----------------------------------------------------


@override_settings(THUMBNAILS_PROXY_BASE_URL="/thumbs/")
def test_prefixed_mount_serves_thumbnails(client: Any, kitten: str, thumbs_dir: Path) -> None:
    url = thumbnail_url(kitten, "100x100")
    name = name_of(kitten)
    assert url == "/thumbs/" + name
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == PUBLIC
    assert body(response) == (thumbs_dir / name).read_bytes()
    # Stored under the name alone: the prefix is routing, not storage.
    assert files_under(thumbs_dir) == [name]
    assert client.get(url).status_code == 200


@override_settings(THUMBNAILS_PROXY_BASE_URL="/thumbs/")
def test_prefixed_mount_errors_are_no_store(client: Any, kitten: str, thumbs_dir: Path) -> None:
    url = thumbnail_url(kitten, "100x100")
    assert_error(client.get(url[:-68] + ".jpg"), 401, thumbs_dir)  # no secret at all
    assert_error(client.get("/thumbs/animals/kitten.jpg/0x0/crop/.jpg"), 400, thumbs_dir)
    assert_error(client.get(thumbnail_url("missing.jpg", "100x100")), 404, thumbs_dir)


@override_settings(THUMBNAILS_PROXY_BASE_URL="http://thumbs.example.com/")
def test_absolute_proxy_base_names_the_same_path(client: Any, kitten: str) -> None:
    url = thumbnail_url(kitten, "100x100")
    assert url.startswith("http://thumbs.example.com/animals/kitten.jpg/100x100/crop/")
    assert client.get(url.removeprefix("http://thumbs.example.com")).status_code == 200


def test_unicode_source_path_round_trips(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    path = "Tiere/kätzchen & co ü?#.jpg"
    write_source(path)
    url = thumbnail_url(path, "64x")
    assert "ä" not in url and "%C3%A4" in url and "%3F" in url and "%23" in url
    response = client.get(url)
    assert response.status_code == 200
    name = name_of(path, "64x")
    assert files_under(thumbs_dir) == [name]
    assert body(response) == (thumbs_dir / name).read_bytes()
    assert (thumbs_dir / path).is_dir()  # the decoded path, as nginx's $uri sees it
