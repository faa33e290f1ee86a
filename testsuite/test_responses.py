"""The response backends through the view, and storages named by STORAGES aliases.

Each backend is selected with ``THUMBNAILS_RESPONSE_BACKEND`` and checked on a
first render and on a stored hit: status, body or sendfile header, Content-Type
(except the redirect) and the public Cache-Control that the view adds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from restthumbs import thumbnail_url
from restthumbs.api import thumbnail
from restthumbs.responses import ResponseBackend, get_backend, nginx

from . import images
from .utils import body, files_under

PUBLIC = "public, max-age=2592000"
DUMMY = "restthumbs.responses.dummy.sendfile"
NGINX = "restthumbs.responses.nginx.sendfile"
APACHE = "restthumbs.responses.apache.sendfile"
REDIRECT = "restthumbs.responses.redirect.sendfile"
CDN = "https://cdn.example.com/thumbs/"
UNICODE_PATH = "Tiere/kätzchen mit ü & 100%.jpg"


@pytest.fixture
def kitten(write_source: Callable[..., Path]) -> str:
    write_source("animals/kitten.jpg")
    return "animals/kitten.jpg"


def _storages(**aliases: dict[str, Any]) -> dict[str, Any]:
    """A full STORAGES setting: Django's two defaults plus ``aliases``."""
    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        **aliases,
    }


def _filesystem(location: Path, **options: Any) -> dict[str, Any]:
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(location), **options},
    }


# -- dummy (streaming) ---------------------------------------------------------


@override_settings(THUMBNAILS_RESPONSE_BACKEND=DUMMY)
def test_dummy_streams_the_stored_file(client: Any, kitten: str, thumbs_dir: Path) -> None:
    name = thumbnail(kitten, "100x100").name
    for _ in ("render", "hit"):
        response = client.get(thumbnail_url(kitten, "100x100"))
        assert response.status_code == 200
        assert response.streaming
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == PUBLIC
        assert not response.has_header("Content-Disposition")
        assert body(response) == (thumbs_dir / name).read_bytes()
    assert files_under(thumbs_dir) == [name]


# -- nginx ------------------------------------------------------------------------


@override_settings(THUMBNAILS_RESPONSE_BACKEND=NGINX)
@pytest.mark.parametrize("base_path", [None, "/protected/thumbs/"])
def test_nginx_answers_with_x_accel_redirect(
    client: Any, kitten: str, thumbs_dir: Path, base_path: str | None
) -> None:
    settings_override = {} if base_path is None else {"THUMBNAILS_STORAGE_BASE_PATH": base_path}
    name = thumbnail(kitten, "100x100", "crop", ".webp").name
    with override_settings(**settings_override):
        for _ in ("render", "hit"):
            response = client.get(thumbnail_url(kitten, "100x100", "crop", ".webp"))
            assert response.status_code == 200
            assert body(response) == b""
            assert response["X-Accel-Redirect"] == (base_path or "/thumbnails/") + name
            assert response["Content-Type"] == "image/webp"
            assert response["Cache-Control"] == PUBLIC
    # The header names a file that is really there, complete.
    assert files_under(thumbs_dir) == [name]
    assert (thumbs_dir / name).read_bytes()[8:12] == b"WEBP"


@override_settings(THUMBNAILS_RESPONSE_BACKEND=NGINX)
def test_nginx_percent_encodes_a_unicode_path(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source(UNICODE_PATH)
    thumb = thumbnail(UNICODE_PATH, "64x64")
    response = client.get(thumb.url)
    assert response.status_code == 200
    header = response["X-Accel-Redirect"]
    assert header == "/thumbnails/" + quote(thumb.name, safe="/")
    assert header.isascii() and " " not in header
    # nginx decodes the header back to the stored (decoded) name.
    assert unquote(header) == "/thumbnails/" + thumb.name
    assert (thumbs_dir / thumb.name).is_file()


@override_settings(THUMBNAILS_RESPONSE_BACKEND=NGINX)
def test_nginx_errors_carry_no_sendfile_header(client: Any, kitten: str, thumbs_dir: Path) -> None:
    url = thumbnail_url(kitten, "100x100")
    response = client.get(url[:-5] + ("1" if url[-5] == "0" else "0") + ".jpg")
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"
    assert not response.has_header("X-Accel-Redirect")
    assert files_under(thumbs_dir) == []


# -- apache -----------------------------------------------------------------------


@override_settings(THUMBNAILS_RESPONSE_BACKEND=APACHE)
def test_apache_answers_with_x_sendfile(client: Any, kitten: str, thumbs_dir: Path) -> None:
    name = thumbnail(kitten, "100x100", "scale", ".png").name
    for _ in ("render", "hit"):
        response = client.get(thumbnail_url(kitten, "100x100", "scale", ".png"))
        assert response.status_code == 200
        assert body(response) == b""
        assert response["X-Sendfile"] == str(thumbs_dir / name)
        assert response["Content-Type"] == "image/png"
        assert response["Cache-Control"] == PUBLIC
    assert Path(response["X-Sendfile"]).is_absolute()
    assert Path(response["X-Sendfile"]).read_bytes().startswith(b"\x89PNG")


@override_settings(THUMBNAILS_RESPONSE_BACKEND=APACHE)
def test_apache_unicode_path_decodes_to_the_file(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source(UNICODE_PATH)
    thumb = thumbnail(UNICODE_PATH, "64x64")
    response = client.get(thumb.url)
    assert response.status_code == 200
    assert response["X-Sendfile"].isascii()
    assert unquote(response["X-Sendfile"]) == str(thumbs_dir / thumb.name)
    assert Path(unquote(response["X-Sendfile"])).is_file()


# -- redirect ---------------------------------------------------------------------


@pytest.fixture
def cdn_storage(thumbs_dir: Path) -> Iterator[str]:
    """The thumbnail storage as a STORAGES alias with a CDN ``base_url``."""
    with override_settings(
        STORAGES=_storages(cdn_thumbs=_filesystem(thumbs_dir, base_url=CDN)),
        THUMBNAILS_STORAGE_BACKEND="cdn_thumbs",
        THUMBNAILS_RESPONSE_BACKEND=REDIRECT,
    ):
        yield "cdn_thumbs"


def test_redirect_points_at_the_storage_url(
    client: Any, kitten: str, thumbs_dir: Path, cdn_storage: str
) -> None:
    name = thumbnail(kitten, "100x100").name
    for _ in ("render", "hit"):
        response = client.get(thumbnail_url(kitten, "100x100"))
        assert response.status_code == 302
        assert response["Location"] == storages[cdn_storage].url(name)
        assert response["Location"] == CDN + name
        assert response["Cache-Control"] == PUBLIC
    assert files_under(thumbs_dir) == [name]


def test_redirect_unicode_path(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path, cdn_storage: str
) -> None:
    write_source(UNICODE_PATH)
    thumb = thumbnail(UNICODE_PATH, "64x64")
    response = client.get(thumb.url)
    assert response.status_code == 302
    assert response["Location"] == storages[cdn_storage].url(thumb.name)
    assert response["Location"].startswith(CDN) and response["Location"].isascii()
    assert unquote(response["Location"]) == CDN + thumb.name
    assert (thumbs_dir / thumb.name).is_file()


def test_redirect_errors_are_not_redirects(client: Any, thumbs_dir: Path, cdn_storage: str) -> None:
    response = client.get(thumbnail_url("missing.jpg", "100x100"))
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert not response.has_header("Location")


# -- storages named by STORAGES aliases ------------------------------------------


@pytest.mark.parametrize("backend", [DUMMY, NGINX])
def test_storages_aliases_end_to_end(
    client: Any, tmp_path: Path, media: Path, thumbs_dir: Path, backend: str
) -> None:
    """Source and thumbnails both come from STORAGES aliases, not from the roots."""
    sources, stored = tmp_path / "alias-sources", tmp_path / "alias-thumbs"
    (sources / "animals").mkdir(parents=True)
    (sources / "animals" / "fox.jpg").write_bytes(images.jpeg_bytes((800, 600)))
    (media / "animals").mkdir()
    (media / "animals" / "only-in-media.jpg").write_bytes(images.jpeg_bytes())
    with override_settings(
        STORAGES=_storages(sources=_filesystem(sources), thumbs=_filesystem(stored)),
        THUMBNAILS_SOURCE_STORAGE_BACKEND="sources",
        THUMBNAILS_STORAGE_BACKEND="thumbs",
        THUMBNAILS_RESPONSE_BACKEND=backend,
    ):
        thumb = thumbnail("animals/fox.jpg", "120x90", "scale", ".jpg")
        response = client.get(thumb.url)
        assert response.status_code == 200
        assert response["Cache-Control"] == PUBLIC
        assert files_under(stored) == [thumb.name]
        if backend == NGINX:
            assert response["X-Accel-Redirect"] == "/thumbnails/" + thumb.name
        else:
            assert body(response) == (stored / thumb.name).read_bytes()
        assert client.get(thumb.url).status_code == 200  # the hit, from the alias too
        # The source storage really is the alias: the media root is not looked at.
        missing = client.get(thumbnail_url("animals/only-in-media.jpg", "120x90"))
        assert missing.status_code == 404
        assert missing["Cache-Control"] == "no-store"
    assert files_under(thumbs_dir) == []


# -- custom backends: a class, or a function in the style of restthumbs 0.1 ----------


class TaggingBackend(ResponseBackend):
    """A custom backend as the base class invites: only ``respond``."""

    def respond(self, request: Any, storage: Any, name: str, content_type: str) -> HttpResponse:
        with storage.open(name) as f:
            response = HttpResponse(f.read(), content_type=content_type)
        response["X-Custom"] = "class"
        return response


def old_style_sendfile(request: Any, storage: Any, name: str, content_type: str) -> HttpResponse:
    """A backend written against the old function signature."""
    response = HttpResponse(content_type=content_type)
    response["X-Custom"] = f"function {name}"
    return response


custom_instance = TaggingBackend()


@pytest.mark.parametrize(
    ("backend", "tag"),
    [
        (f"{__name__}.TaggingBackend", "class"),
        (f"{__name__}.custom_instance", "class"),
        (f"{__name__}.old_style_sendfile", "function"),
    ],
)
def test_custom_backends_render_then_hit(
    client: Any, kitten: str, thumbs_dir: Path, backend: str, tag: str
) -> None:
    with override_settings(THUMBNAILS_RESPONSE_BACKEND=backend):
        url = thumbnail_url(kitten, "50x50", "crop", ".jpg")
        first, second = client.get(url), client.get(url)
    for response in (first, second):
        assert response.status_code == 200
        assert response["X-Custom"].startswith(tag)
        assert response["Cache-Control"] == PUBLIC
    assert files_under(thumbs_dir) == [unquote(url.lstrip("/"))]
    assert "render" in first["Server-Timing"] and not second.has_header("Server-Timing")


def test_class_backends_in_the_configured_form_are_callable_as_before(
    kitten: str, thumbs_dir: Path, rf: RequestFactory
) -> None:
    """``restthumbs.responses.<x>.sendfile(request, storage, name, content_type)`` still works."""
    thumb = thumbnail(kitten, "40x40", "crop", ".jpg")
    storage = storages.create_storage(
        {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(thumbs_dir)},
        }
    )
    storage.save(thumb.name, ContentFile(b"not really a jpeg"))
    response = nginx.sendfile(rf.get("/"), storage, thumb.name, "image/jpeg")
    assert response["X-Accel-Redirect"] == "/thumbnails/" + quote(thumb.name)
    assert isinstance(get_backend(DUMMY), ResponseBackend)
    assert (
        get_backend(f"{__name__}.old_style_sendfile").respond(
            rf.get("/"), storage, thumb.name, "image/jpeg"
        )["X-Custom"]
        == f"function {thumb.name}"
    )
