"""THUMBNAILS_PLACEHOLDER: a missing source answered with a neutral placeholder, in development."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from PIL import Image

from restthumbs import thumbnail_url

from .utils import body, files_under


@override_settings(THUMBNAILS_PLACEHOLDER=True)
@pytest.mark.parametrize(
    ("size", "ext", "expected", "content_type"),
    [
        ("120x80", "jpg", (120, 80), "image/jpeg"),
        ("300x", "png", (300, 200), "image/png"),
        ("x90", "webp", (135, 90), "image/webp"),
    ],
)
def test_a_missing_source_gets_a_placeholder_of_the_right_size_and_format(
    client: Any,
    thumbs_dir: Path,
    size: str,
    ext: str,
    expected: tuple[int, int],
    content_type: str,
) -> None:
    response = client.get(thumbnail_url("not/in/this/checkout.jpg", size, "crop", ext))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Cache-Control"] == "no-store"  # never cached publicly, nor at all
    assert response["X-Thumbnail-Placeholder"] == "source missing"
    image = Image.open(io.BytesIO(body(response)))
    assert image.size == expected
    assert image.format == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[ext]
    assert files_under(thumbs_dir) == []  # never stored: the real one renders later


@override_settings(THUMBNAILS_PLACEHOLDER=True)
def test_the_real_thumbnail_replaces_it_once_the_source_exists(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    url = thumbnail_url("late.jpg", "50x50")
    assert client.get(url).has_header("X-Thumbnail-Placeholder")
    write_source("late.jpg")
    response = client.get(url)
    assert not response.has_header("X-Thumbnail-Placeholder")
    assert response["Cache-Control"].startswith("public")
    assert len(files_under(thumbs_dir)) == 1


@override_settings(THUMBNAILS_PLACEHOLDER=True)
def test_other_errors_stay_errors(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("broken.jpg", b"not an image")
    assert client.get(thumbnail_url("broken.jpg", "50x50")).status_code == 422
    wrong = thumbnail_url("missing.jpg", "50x50")
    wrong = wrong[:-5] + ("1" if wrong[-5] == "0" else "0") + ".jpg"
    assert client.get(wrong).status_code == 401  # an unsigned URL gets no placeholder


def test_off_by_default(client: Any) -> None:
    assert client.get(thumbnail_url("missing.jpg", "50x50")).status_code == 404
