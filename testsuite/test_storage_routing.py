"""Tests for :mod:`restthumbs.storage.routing`: sources chosen by the first path segment."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, InMemoryStorage
from django.core.management import call_command
from django.test import override_settings

from restthumbs.remote.storage import RemoteImageStorage
from restthumbs.storage import adapter, open_source, source_storage
from restthumbs.storage.local import LocalAdapter
from restthumbs.storage.routing import RoutingAdapter, RoutingStorage
from restthumbs.walk import walk_images

from .remote_support import SOURCES


@pytest.fixture
def mounted(tmp_path: Path) -> RoutingStorage:
    default = FileSystemStorage(location=tmp_path / "local")
    other = InMemoryStorage()
    default.save("a/kitten.jpg", ContentFile(b"local"))
    other.save("x/puppy.jpg", ContentFile(b"memory"))
    return RoutingStorage(default, {"mem": other})


def test_the_first_segment_chooses_the_storage(mounted: RoutingStorage) -> None:
    assert mounted.route("mem/x/puppy.jpg") == (mounted.routes["mem"], "x/puppy.jpg")
    assert mounted.route("a/kitten.jpg") == (mounted.default, "a/kitten.jpg")
    assert mounted.route("memory/x.jpg") == (mounted.default, "memory/x.jpg")
    assert mounted.exists("mem/x/puppy.jpg") and mounted.exists("a/kitten.jpg")
    assert not mounted.exists("mem/a/kitten.jpg")
    with mounted.open("mem/x/puppy.jpg") as f:
        assert f.read() == b"memory"
    assert mounted.listdir("mem") == (["x"], [])
    assert mounted.size("a/kitten.jpg") == 5


def test_each_call_goes_to_the_routed_storages_own_adapter(mounted: RoutingStorage) -> None:
    routing = adapter(mounted)
    assert isinstance(routing, RoutingAdapter)
    assert isinstance(adapter(mounted.default), LocalAdapter)
    assert routing.local_path("a/kitten.jpg") == mounted.default.path("a/kitten.jpg")
    assert routing.local_path("mem/x/puppy.jpg") is None
    with open_source(mounted, "mem/x/puppy.jpg", 100) as f:
        assert f.read() == b"memory"


def test_without_sources_the_source_storage_is_the_default_one() -> None:
    assert not isinstance(source_storage(), RoutingStorage)
    with override_settings(THUMBNAILS_SOURCES=SOURCES):
        storage = source_storage()
        assert isinstance(storage, RoutingStorage)
        assert isinstance(storage.routes["remote"], RemoteImageStorage)
        assert set(storage.routes) == {"remote", "site"}


def test_a_storages_alias_can_be_mounted(tmp_path: Path) -> None:
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "partners": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "partners")},
        },
    }
    with override_settings(STORAGES=storages, THUMBNAILS_SOURCES={"partners": "partners"}):
        storage = source_storage()
        assert isinstance(storage, RoutingStorage)
        assert storage.path("partners/a.jpg") == str(tmp_path / "partners" / "a.jpg")


def test_warming_walks_the_local_images_only(write_source: Any) -> None:
    write_source("a/kitten.jpg")
    write_source("remote/hidden.jpg")
    with override_settings(THUMBNAILS_SOURCES=SOURCES):
        assert list(walk_images(source_storage())) == ["a/kitten.jpg"]
        out = io.StringIO()
        call_command("thumbnails_warm", "50x50", "crop", ".jpg", stdout=out, stderr=io.StringIO())
    assert "Rendered 1, skipped 0, failed 0." in out.getvalue()
