"""restthumbs.urls claims only thumbnail-shaped paths, and the checks of how it is mounted.

The contract: a size-like segment (it contains ``x``), a method-like segment
(lower-case letters), and a last segment of 64 hex digits, or none, with an
extension. Every other path falls through to the project's routes, whatever the
order of the includes (issue 14: mounted first at the root, restthumbs answered
``/media/photos/2026/12/x.jpg`` with 400 "Invalid size '2026'").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from restthumbs import thumbnail_url
from restthumbs.urls import THUMBNAIL_PATH

from . import images
from .utils import body, files_under

HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("path", "claimed"),
    [
        (f"a.jpg/100x100/crop/{HEX}.jpg", True),
        (f"a/b/c.jpg/100x/scale/{HEX}.webp", True),
        ("a.jpg/100x100/crop/.jpg", True),  # no secret: a 401
        (f"a.jpg/0x0/fit/{HEX.upper()}.JPG", True),  # malformed but shaped: a no-store 4xx
        ("media/photos/2026/12/x.jpg", False),
        ("blog/2024/05/a.html", False),
        ("static/admin/css/base.css", False),
        (f"a.jpg/100X100/crop/{HEX}.jpg", False),  # no lower-case x
        (f"a.jpg/100x100/Crop/{HEX}.jpg", False),
        (f"a.jpg/100x100//{HEX}.jpg", False),
        (f"a.jpg/100x100/crop/{HEX[:-1]}.jpg", False),  # 63 digits
        (f"a.jpg/100x100/crop/{HEX}", False),  # no extension
        (f"100x100/crop/{HEX}.jpg", False),  # no source path
    ],
)
def test_the_pattern_claims_exactly_thumbnail_shaped_paths(path: str, claimed: bool) -> None:
    assert bool(re.match(THUMBNAIL_PATH, path)) is claimed


@override_settings(ROOT_URLCONF="testsuite.urlconfs.project", MEDIA_URL="/media/")
def test_other_routes_answer_their_paths_with_restthumbs_mounted_first(
    client: Any, media: Path, thumbs_dir: Path
) -> None:
    photo = media / "photos" / "2026" / "12" / "x.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(images.jpeg_bytes((64, 48)))
    response = client.get("/media/photos/2026/12/x.jpg")
    assert response.status_code == 200 and body(response) == photo.read_bytes()
    assert body(client.get("/blog/2024/05/a.html")) == b"blog 2024/05/a.html"
    assert body(client.get("/static/admin/css/base.css")) == b"static admin/css/base.css"
    assert files_under(thumbs_dir) == []


@override_settings(ROOT_URLCONF="testsuite.urlconfs.project")
def test_thumbnails_still_work_beside_them(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("photos/2026/12/x.jpg")
    assert client.get(thumbnail_url("photos/2026/12/x.jpg", "40x40")).status_code == 200
    malformed = client.get("/photos/2026/12/x.jpg/0x0/crop/.jpg")
    assert malformed.status_code == 400 and malformed["Cache-Control"] == "no-store"


# -- how it is mounted: W010-W013 ------------------------------------------------------


def url_check_ids(**overrides: Any) -> list[str]:
    with override_settings(**overrides):
        return sorted(str(m.id) for m in run_checks(tags=["urls"]) if m.id.startswith("restthumbs"))


def test_the_test_project_is_mounted_right() -> None:
    assert url_check_ids() == []


def test_a_forgotten_include_is_w010() -> None:
    assert url_check_ids(ROOT_URLCONF="testsuite.urlconfs.forgotten") == ["restthumbs.W010"]


def test_a_prefix_without_its_proxy_base_url_is_w011() -> None:
    assert url_check_ids(ROOT_URLCONF="testsuite.urlconfs.prefixed") == ["restthumbs.W011"]
    assert (
        url_check_ids(
            ROOT_URLCONF="testsuite.urlconfs.prefixed", THUMBNAILS_PROXY_BASE_URL="/thumbs/"
        )
        == []
    )


def test_an_include_after_a_catch_all_is_w012() -> None:
    assert url_check_ids(ROOT_URLCONF="testsuite.urlconfs.catch_all") == ["restthumbs.W012"]


def test_a_mount_under_media_url_is_w013() -> None:
    assert url_check_ids(
        ROOT_URLCONF="testsuite.urlconfs.under_media",
        THUMBNAILS_PROXY_BASE_URL="/media/",
        MEDIA_URL="/media/",
    ) == ["restthumbs.W013"]


def test_another_host_is_not_checked() -> None:
    assert (
        url_check_ids(
            ROOT_URLCONF="testsuite.urlconfs.forgotten",
            THUMBNAILS_PROXY_BASE_URL="https://thumbs.example.com/",
        )
        == []
    )
