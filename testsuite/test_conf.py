"""Tests for :mod:`restthumbs.conf`: the defaults of CONTRACT.md, read at call time.

The table below is the contract's settings table, written out so that a change
of any default is a visible, deliberate change of this file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from restthumbs.conf import AppSettings, app_settings
from restthumbs.responses import get_backend

MEDIA_ROOT = "/srv/site/media"

#: (setting, the contract's default as app_settings returns it with MEDIA_ROOT above).
CONTRACT_DEFAULTS: list[tuple[str, Any]] = [
    ("THUMBNAILS_SOURCE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
    ("THUMBNAILS_SOURCE_ROOT", MEDIA_ROOT),  # MEDIA_ROOT
    ("THUMBNAILS_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
    ("THUMBNAILS_STORAGE_ROOT", "/srv/site/thumbnails"),  # '%(MEDIA_ROOT)s/../thumbnails/'
    ("THUMBNAILS_STORAGE_BASE_PATH", "/thumbnails/"),
    ("THUMBNAILS_PROXY_BASE_URL", "/"),
    ("THUMBNAILS_RESPONSE_BACKEND", "restthumbs.responses.dummy.sendfile"),
    ("THUMBNAILS_LOCK_TIMEOUT", 10),
    ("THUMBNAILS_CACHE", "default"),
    ("THUMBNAILS_KEY_PREFIX", "restthumbs"),
    ("THUMBNAILS_SECRET_KEY", None),
    ("THUMBNAILS_MAX_SIZE", 4096),
    ("THUMBNAILS_MAX_SOURCE_PIXELS", 120_000_000),
    ("THUMBNAILS_MAX_SOURCE_BYTES", 104_857_600),
    ("THUMBNAILS_ALLOWED_SIZES", None),
    ("THUMBNAILS_CACHE_MAX_AGE", 2_592_000),
    ("THUMBNAILS_QUALITY", {"jpeg": 85, "webp": 80, "avif": 62}),  # docs/settings.md
    ("THUMBNAILS_UPSCALE", False),
    ("THUMBNAILS_SECRET_KEY_FALLBACKS", []),
]

#: Settings beyond the contract's table (documented in docs/settings.md), with defaults.
EXTRA_DEFAULTS: list[tuple[str, Any]] = [
    ("THUMBNAILS_KEEP_ANIMATION", False),
    ("THUMBNAILS_MAX_ANIMATION_FRAMES", 100),
    ("THUMBNAILS_MAX_ANIMATION_PIXELS", 50_000_000),
    ("THUMBNAILS_MAX_RENDER_MEMORY", 402_653_184),
    ("THUMBNAILS_DEBUG", False),  # follows DEBUG, which is False here
    ("THUMBNAILS_PLACEHOLDER", False),
    ("THUMBNAILS_METRICS", False),
    ("THUMBNAILS_PRESETS", {}),
    ("THUMBNAILS_ONLY_PRESETS", False),
    # Remote sources (docs/remote.md), from restthumbs.remote.conf
    ("THUMBNAILS_SOURCES", {}),
    ("THUMBNAILS_REMOTE_ALLOWED_URLS", []),
    ("THUMBNAILS_SITE_ALLOWED_URLS", []),
    ("THUMBNAILS_REMOTE_ALLOWED_NETWORKS", []),
    ("THUMBNAILS_REMOTE_DENIED_NETWORKS", []),
    ("THUMBNAILS_REMOTE_HOSTS", {}),
    ("THUMBNAILS_REMOTE_CONNECT_TIMEOUT", 5),
    ("THUMBNAILS_REMOTE_TIMEOUT", 20),
    ("THUMBNAILS_REMOTE_MAX_BYTES", 20_971_520),
    ("THUMBNAILS_REMOTE_MAX_REDIRECTS", 5),
    ("THUMBNAILS_REMOTE_TTL", 604_800),
    ("THUMBNAILS_REMOTE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
    ("THUMBNAILS_REMOTE_ROOT", "/srv/site/remote-sources"),  # '%(MEDIA_ROOT)s/../remote-sources/'
    ("THUMBNAILS_SITE_VIEWPORT", "1280x800"),
    ("THUMBNAILS_SITE_TIMEOUT", 20),
    ("THUMBNAILS_SITE_MAX_PAGES", 2),
    ("THUMBNAILS_SITE_TTL", 86_400),
    ("THUMBNAILS_SITE_BROWSER", None),
    # Invalidation and the memory of stored thumbnails (docs/operations.md)
    ("THUMBNAILS_STORED_CACHE_TIMEOUT", 3600),
    ("THUMBNAILS_PURGE_FIELDS", []),
]
ALL_DEFAULTS = CONTRACT_DEFAULTS + EXTRA_DEFAULTS

#: (setting, value given, value app_settings returns).
OVERRIDES: list[tuple[str, Any, Any]] = [
    ("THUMBNAILS_SOURCE_STORAGE_BACKEND", "sources", "sources"),
    ("THUMBNAILS_SOURCE_ROOT", "/data/images", "/data/images"),
    (
        "THUMBNAILS_STORAGE_BACKEND",
        "storages.backends.s3.S3Storage",
        "storages.backends.s3.S3Storage",
    ),
    ("THUMBNAILS_STORAGE_ROOT", "/var/cache/thumbs", "/var/cache/thumbs"),
    ("THUMBNAILS_STORAGE_BASE_PATH", "/protected/", "/protected/"),
    ("THUMBNAILS_PROXY_BASE_URL", "https://thumbs.example.com/", "https://thumbs.example.com/"),
    (
        "THUMBNAILS_RESPONSE_BACKEND",
        "restthumbs.responses.nginx.sendfile",
        "restthumbs.responses.nginx.sendfile",
    ),
    ("THUMBNAILS_LOCK_TIMEOUT", 2.5, 2.5),
    ("THUMBNAILS_CACHE", "locks", "locks"),
    ("THUMBNAILS_KEY_PREFIX", "site1", "site1"),
    ("THUMBNAILS_SECRET_KEY", "thumbs-key", "thumbs-key"),
    ("THUMBNAILS_MAX_SIZE", 1024, 1024),
    ("THUMBNAILS_MAX_SOURCE_PIXELS", 1_000_000, 1_000_000),
    ("THUMBNAILS_MAX_SOURCE_BYTES", 1024, 1024),
    ("THUMBNAILS_ALLOWED_SIZES", ("100x100", "64x"), ["100x100", "64x"]),
    ("THUMBNAILS_CACHE_MAX_AGE", 0, 0),
    ("THUMBNAILS_QUALITY", {"jpeg": 90, "webp": 70}, {"jpeg": 90, "webp": 70}),
    ("THUMBNAILS_UPSCALE", True, True),
    ("THUMBNAILS_SECRET_KEY_FALLBACKS", ("a", "b"), ["a", "b"]),
    ("THUMBNAILS_KEEP_ANIMATION", True, True),
    ("THUMBNAILS_MAX_ANIMATION_FRAMES", 10, 10),
    ("THUMBNAILS_MAX_ANIMATION_PIXELS", 1000, 1000),
    ("THUMBNAILS_MAX_RENDER_MEMORY", 64_000_000, 64_000_000),
    ("THUMBNAILS_DEBUG", True, True),
    ("THUMBNAILS_PLACEHOLDER", True, True),
    ("THUMBNAILS_METRICS", True, True),
    ("THUMBNAILS_PRESETS", {"avatar": {"size": "64x64"}}, {"avatar": {"size": "64x64"}}),
    ("THUMBNAILS_ONLY_PRESETS", True, True),
    ("THUMBNAILS_SOURCES", {"remote": "x.Remote"}, {"remote": "x.Remote"}),
    ("THUMBNAILS_REMOTE_ALLOWED_URLS", ("https://a.example/",), ["https://a.example/"]),
    ("THUMBNAILS_SITE_ALLOWED_URLS", ["https://"], ["https://"]),
    ("THUMBNAILS_REMOTE_ALLOWED_NETWORKS", ("10.1.2.3/32",), ["10.1.2.3/32"]),
    ("THUMBNAILS_REMOTE_DENIED_NETWORKS", ["8.8.8.8/32"], ["8.8.8.8/32"]),
    ("THUMBNAILS_REMOTE_HOSTS", {"a.test": ["10.1.2.3"]}, {"a.test": ["10.1.2.3"]}),
    ("THUMBNAILS_REMOTE_CONNECT_TIMEOUT", 1.5, 1.5),
    ("THUMBNAILS_REMOTE_TIMEOUT", 3, 3),
    ("THUMBNAILS_REMOTE_MAX_BYTES", 1024, 1024),
    ("THUMBNAILS_REMOTE_MAX_REDIRECTS", 0, 0),
    ("THUMBNAILS_REMOTE_TTL", 60, 60),
    ("THUMBNAILS_REMOTE_STORAGE_BACKEND", "originals", "originals"),
    ("THUMBNAILS_REMOTE_ROOT", "/var/cache/originals/", "/var/cache/originals"),
    ("THUMBNAILS_SITE_VIEWPORT", "1024x768", "1024x768"),
    ("THUMBNAILS_SITE_TIMEOUT", 5, 5),
    ("THUMBNAILS_SITE_MAX_PAGES", 1, 1),
    ("THUMBNAILS_SITE_TTL", 3600, 3600),
    ("THUMBNAILS_SITE_BROWSER", "/opt/chromium/chrome", "/opt/chromium/chrome"),
    ("THUMBNAILS_STORED_CACHE_TIMEOUT", 0, 0),
    ("THUMBNAILS_PURGE_FIELDS", ("gallery.Photo.image",), ["gallery.Photo.image"]),
]


def _attr(setting: str) -> str:
    return setting.removeprefix("THUMBNAILS_")


@contextmanager
def unset(*names: str) -> Iterator[None]:
    """Remove settings for the block (the test settings and fixtures set some of them)."""
    with override_settings():
        for name in names:
            if hasattr(settings, name):
                delattr(settings, name)
        app_settings.clear()  # delattr sends no setting_changed
        try:
            yield
        finally:
            app_settings.clear()


@pytest.fixture
def contract_defaults() -> Iterator[None]:
    with override_settings(MEDIA_ROOT=MEDIA_ROOT), unset(*(name for name, _ in ALL_DEFAULTS)):
        yield


def test_the_table_lists_every_setting_of_app_settings() -> None:
    """A setting added to conf.py must be in the contract's table or the extras (and here)."""
    properties = {
        name
        for cls in AppSettings.__mro__  # the remote sources' mixin included
        for name, value in vars(cls).items()
        if isinstance(value, property) and name not in AppSettings.PROJECT_SETTINGS
    }
    assert {f"THUMBNAILS_{name}" for name in properties} == {name for name, _ in ALL_DEFAULTS}
    assert {name for name, _, _ in OVERRIDES} == {name for name, _ in ALL_DEFAULTS}


@pytest.mark.parametrize(("setting", "default"), ALL_DEFAULTS)
def test_contract_default(contract_defaults: None, setting: str, default: Any) -> None:
    assert not hasattr(settings, setting)
    value = getattr(app_settings, _attr(setting))
    assert value == default
    assert type(value) is type(default)


@pytest.mark.parametrize(("setting", "given", "expected"), OVERRIDES)
def test_follows_override_settings(setting: str, given: Any, expected: Any) -> None:
    with override_settings(**{setting: given}):
        assert getattr(app_settings, _attr(setting)) == expected
    assert getattr(app_settings, _attr(setting)) != expected


def test_source_root_follows_media_root() -> None:
    with unset("THUMBNAILS_SOURCE_ROOT"), override_settings(MEDIA_ROOT="/a/media"):
        assert app_settings.SOURCE_ROOT == "/a/media"
    with unset("THUMBNAILS_SOURCE_ROOT"), override_settings(MEDIA_ROOT="/b/media"):
        assert app_settings.SOURCE_ROOT == "/b/media"


def test_roots_accept_path_objects() -> None:
    with override_settings(
        THUMBNAILS_SOURCE_ROOT=Path("/data/src"), THUMBNAILS_STORAGE_ROOT=Path("/data/thumbs")
    ):
        assert app_settings.SOURCE_ROOT == "/data/src"
        assert app_settings.STORAGE_ROOT == "/data/thumbs"


@pytest.mark.parametrize(
    ("media_root", "storage_root", "expected"),
    [
        ("/srv/site/media", "%(MEDIA_ROOT)s/../thumbnails/", "/srv/site/thumbnails"),
        ("/srv/site/media/", "%(MEDIA_ROOT)s/../thumbnails/", "/srv/site/thumbnails"),
        ("/srv/site/media", "%(MEDIA_ROOT)s/../cache/thumbs/", "/srv/site/cache/thumbs"),
        ("/srv/site/media", "%(MEDIA_ROOT)s_thumbs", "/srv/site/media_thumbs"),
        (Path("/srv/p/media"), "%(MEDIA_ROOT)s/../t", "/srv/p/t"),
        ("/srv/site/media", "/var//cache/./thumbs/", "/var/cache/thumbs"),
        ("/srv/site/media", "/var/cache/x/../thumbs", "/var/cache/thumbs"),
    ],
)
def test_storage_root_interpolates_media_root_and_normalises(
    media_root: str | Path, storage_root: str, expected: str
) -> None:
    with override_settings(MEDIA_ROOT=media_root, THUMBNAILS_STORAGE_ROOT=storage_root):
        assert app_settings.STORAGE_ROOT == expected


def test_default_storage_root_is_a_sibling_of_the_media_dir(media: Path) -> None:
    """With the test settings' MEDIA_ROOT (a fixture dir), thumbnails go next to it."""
    with unset("THUMBNAILS_STORAGE_ROOT"):
        assert app_settings.STORAGE_ROOT == os.fspath(media.parent / "thumbnails")


@pytest.mark.parametrize("format_name", ["JPEG", "WEBP", "AVIF", "PNG", "GIF"])
def test_quality_for_with_an_int(format_name: str) -> None:
    with override_settings(THUMBNAILS_QUALITY=70):
        assert app_settings.quality_for(format_name) == 70
    with unset("THUMBNAILS_QUALITY"):
        assert app_settings.quality_for(format_name) == PER_FORMAT_DEFAULTS[format_name]


@pytest.mark.parametrize(
    ("format_name", "expected"),
    [("JPEG", 90), ("WEBP", 75), ("AVIF", 60), ("PNG", 85), ("GIF", 85)],
)
def test_quality_for_with_a_dict(format_name: str, expected: int) -> None:
    """Formats missing from the dict keep the default quality."""
    with override_settings(THUMBNAILS_QUALITY={"jpeg": 90, "webp": 75, "avif": 60}):
        assert app_settings.quality_for(format_name) == expected


def test_importing_conf_reads_no_settings() -> None:
    """Settings are read when used: a fresh import in a process without settings succeeds."""
    import subprocess
    import sys

    code = (
        "import os; os.environ.pop('DJANGO_SETTINGS_MODULE', None)\n"
        "import restthumbs, restthumbs.conf, restthumbs.spec, restthumbs.signing\n"
        "from django.conf import settings; assert not settings.configured\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_remembered_values_follow_override_settings() -> None:
    """Lookups are cached, and the cache is dropped on every setting_changed."""
    first = app_settings.MAX_SIZE
    assert app_settings.MAX_SIZE == first
    with override_settings(THUMBNAILS_MAX_SIZE=first + 1):
        assert app_settings.MAX_SIZE == first + 1
    assert app_settings.MAX_SIZE == first


def test_derived_values_are_computed_once_until_settings_change() -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(app_settings.MAX_SIZE)
        return app_settings.MAX_SIZE

    first = app_settings.derived("test-derived", compute)
    assert app_settings.derived("test-derived", compute) == first
    assert calls == [first]
    with override_settings(THUMBNAILS_MAX_SIZE=first + 1):
        assert app_settings.derived("test-derived", compute) == first + 1
    assert app_settings.derived("test-derived", compute) == first
    assert calls == [first, first + 1, first]


def test_a_failed_derivation_is_not_remembered() -> None:
    def broken() -> int:
        raise ValueError("not yet")

    with pytest.raises(ValueError):
        app_settings.derived("test-broken", broken)
    assert app_settings.derived("test-broken", lambda: 7) == 7


# -- pytest-django's settings fixture: deleting a setting sends no setting_changed --------


@override_settings(THUMBNAILS_MAX_SIZE=300)
def test_pytest_django_del_reaches_remembered_settings(settings: Any) -> None:
    assert app_settings.MAX_SIZE == 300  # remembered now
    del settings.THUMBNAILS_MAX_SIZE  # an empty override_settings() and a delattr: no signal
    assert app_settings.MAX_SIZE == 4096


def test_pytest_django_del_is_undone_at_the_end_of_its_test(settings: Any) -> None:
    """The fixture's restore sends no signal either; the settings holder changes back."""
    with override_settings(THUMBNAILS_MAX_SIZE=300):
        inner = settings.__class__(_is_pytest_django=True)
        del inner.THUMBNAILS_MAX_SIZE
        assert app_settings.MAX_SIZE == 4096
        inner._finalize()
        assert app_settings.MAX_SIZE == 300


def test_a_derived_value_follows_the_settings_holder(settings: Any) -> None:
    settings.THUMBNAILS_RESPONSE_BACKEND = "restthumbs.responses.nginx.sendfile"
    assert type(get_backend()).__name__ == "NginxBackend"
    del settings.THUMBNAILS_RESPONSE_BACKEND
    assert type(get_backend()).__name__ == "StreamingBackend"


# -- THUMBNAILS_QUALITY: per-format defaults, measured (benchmarks/formats.py) -------------

#: Pillow format name -> the quality it gets when THUMBNAILS_QUALITY is unset.
PER_FORMAT_DEFAULTS = {"JPEG": 85, "WEBP": 80, "AVIF": 62, "PNG": 85, "GIF": 85}


@pytest.mark.parametrize(("format_name", "expected"), PER_FORMAT_DEFAULTS.items())
def test_unset_quality_is_per_format(format_name: str, expected: int) -> None:
    with unset("THUMBNAILS_QUALITY"):
        assert app_settings.quality_for(format_name) == expected


def test_the_quality_defaults_differ_by_format() -> None:
    """WebP and AVIF reach JPEG 85's SSIM at lower qualities, so one number would not do."""
    with unset("THUMBNAILS_QUALITY"):
        lossy = {app_settings.quality_for(name) for name in ("JPEG", "WEBP", "AVIF")}
    assert len(lossy) == 3


@pytest.mark.parametrize("value", [1, 62, 85, 100])
def test_an_int_quality_still_applies_to_every_format(value: int) -> None:
    with override_settings(THUMBNAILS_QUALITY=value):
        assert {
            name: app_settings.quality_for(name) for name in PER_FORMAT_DEFAULTS
        } == dict.fromkeys(PER_FORMAT_DEFAULTS, value)


def test_a_dict_missing_a_format_keeps_that_formats_default() -> None:
    with override_settings(THUMBNAILS_QUALITY={"jpeg": 90}):
        assert app_settings.quality_for("JPEG") == 90
        assert app_settings.quality_for("WEBP") == 80
        assert app_settings.quality_for("AVIF") == 62


def test_the_quality_default_is_a_fresh_dict_each_time() -> None:
    """Changing the returned default must not change the next render's quality."""
    with unset("THUMBNAILS_QUALITY"):
        app_settings.clear()
        quality = app_settings.QUALITY
        assert isinstance(quality, dict)
        quality["avif"] = 1
        assert app_settings.quality_for("AVIF") == 62
