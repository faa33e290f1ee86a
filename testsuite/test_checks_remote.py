"""Tests for :mod:`restthumbs.checks.remote`: remote sources misconfigured are check messages."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from .remote_support import IMAGE_STORAGE, SITE_STORAGE

MOUNTED = {
    "THUMBNAILS_SOURCES": {"remote": IMAGE_STORAGE, "site": SITE_STORAGE},
    "THUMBNAILS_REMOTE_ALLOWED_URLS": ["https://images.example.com/"],
    "THUMBNAILS_SITE_ALLOWED_URLS": ["https://"],
    "THUMBNAILS_LOCK_TIMEOUT": 30,
}


def ids(**overrides: Any) -> list[str]:
    with override_settings(**overrides):
        return sorted(
            str(m.id)
            for m in run_checks()
            if str(m.id).startswith("restthumbs.") and str(m.id)[-3:-1] in ("02",)
        )


def test_a_sound_configuration_has_no_messages() -> None:
    assert ids(**MOUNTED) == []
    assert ids() == []


@pytest.mark.parametrize(
    "sources",
    [
        ["remote"],
        {"a/b": IMAGE_STORAGE},
        {"": IMAGE_STORAGE},
        {"remote": "no.such.Storage"},
        {"remote": 3},
        {"remote": "not_an_alias"},
    ],
)
def test_e020_sources_that_are_not_segments_and_storages(sources: object) -> None:
    assert "restthumbs.E020" in ids(THUMBNAILS_SOURCES=sources)


@pytest.mark.parametrize(
    "urls", [["images.example.com"], ["ftp://x/"], ["https://u@x/"], ["https://x/?q=1"]]
)
def test_e021_a_prefix_that_is_not_a_url_prefix(urls: list[str]) -> None:
    assert ids(**{**MOUNTED, "THUMBNAILS_REMOTE_ALLOWED_URLS": urls}) == ["restthumbs.E021"]


@pytest.mark.parametrize(
    "settings",
    [
        {"THUMBNAILS_REMOTE_ALLOWED_NETWORKS": ["10.1.2.3/8"]},
        {"THUMBNAILS_REMOTE_DENIED_NETWORKS": ["example.com"]},
        {"THUMBNAILS_REMOTE_HOSTS": {"images.internal": ["nowhere"]}},
    ],
)
def test_e022_networks_and_hosts_that_do_not_parse(settings: dict[str, Any]) -> None:
    assert ids(**MOUNTED, **settings) == ["restthumbs.E022"]


@pytest.mark.parametrize(
    "settings",
    [
        {"THUMBNAILS_REMOTE_TIMEOUT": 0},
        {"THUMBNAILS_REMOTE_MAX_BYTES": -1},
        {"THUMBNAILS_SITE_MAX_PAGES": "2"},
        {"THUMBNAILS_REMOTE_MAX_REDIRECTS": -1},
        {"THUMBNAILS_SITE_VIEWPORT": "1280"},
        {"THUMBNAILS_SITE_VIEWPORT": "9000x800"},
    ],
)
def test_e023_limits(settings: dict[str, Any]) -> None:
    assert ids(**MOUNTED, **settings) == ["restthumbs.E023"]


def test_e024_a_remote_storage_that_cannot_be_built() -> None:
    assert ids(**MOUNTED, THUMBNAILS_REMOTE_STORAGE_BACKEND="no.such.Storage") == [
        "restthumbs.E024"
    ]


def test_e025_pages_without_a_browser() -> None:
    assert ids(**MOUNTED, THUMBNAILS_SITE_BROWSER="/nonexistent/chromium") == ["restthumbs.E025"]


def test_w020_an_empty_allow_list_refuses_everything() -> None:
    assert ids(**{**MOUNTED, "THUMBNAILS_REMOTE_ALLOWED_URLS": []}) == ["restthumbs.W020"]


def test_w021_a_lock_shorter_than_a_fetch() -> None:
    assert ids(**{**MOUNTED, "THUMBNAILS_LOCK_TIMEOUT": 10}) == ["restthumbs.W021"]


def test_rules_are_not_checked_without_remote_sources() -> None:
    assert ids(THUMBNAILS_REMOTE_ALLOWED_NETWORKS=["nonsense"]) == []
