"""Tests for :mod:`restthumbs.checks`: misconfiguration is a check message, not a crash.

Each test runs Django's whole check framework (as ``manage.py check`` does)
under one misconfiguration and asserts the exact restthumbs ids it reports.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import CheckMessage, run_checks
from django.core.management import call_command
from django.test import override_settings

FS = "django.core.files.storage.FileSystemStorage"


def restthumbs_messages() -> list[CheckMessage]:
    return [m for m in run_checks() if str(m.id).startswith("restthumbs.")]


def restthumbs_ids(**overrides: Any) -> list[str]:
    with override_settings(**overrides):
        return sorted(str(m.id) for m in restthumbs_messages())


def test_default_test_settings_have_no_messages() -> None:
    assert restthumbs_messages() == []


def test_manage_py_check_passes_with_defaults() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("check", stdout=out, stderr=err)
    assert "no issues" in out.getvalue()
    assert "restthumbs" not in err.getvalue()


def test_manage_py_check_fails_on_an_error() -> None:
    from django.core.management.base import SystemCheckError

    with override_settings(THUMBNAILS_MAX_SIZE=0):
        with pytest.raises(SystemCheckError, match=r"restthumbs\.E005"):
            call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


# -- E001 response backend -------------------------------------------------


@pytest.mark.parametrize(
    "backend",
    [
        "restthumbs.responses.nope.sendfile",
        "restthumbs.responses.dummy.nope",
        "sendfile",
        "restthumbs.spec.METHODS",  # importable, not callable
    ],
)
def test_e001_unknown_response_backend(backend: str) -> None:
    assert restthumbs_ids(THUMBNAILS_RESPONSE_BACKEND=backend) == ["restthumbs.E001"]


@pytest.mark.parametrize("backend", ["dummy", "nginx", "apache", "redirect"])
def test_every_shipped_response_backend_passes(backend: str) -> None:
    assert (
        restthumbs_ids(THUMBNAILS_RESPONSE_BACKEND=f"restthumbs.responses.{backend}.sendfile") == []
    )


# -- E002 storages ---------------------------------------------------------


@pytest.mark.parametrize(
    "setting", ["THUMBNAILS_SOURCE_STORAGE_BACKEND", "THUMBNAILS_STORAGE_BACKEND"]
)
@pytest.mark.parametrize(
    "backend",
    ["thumbs", "s3", "django.core.files.storage.NoSuchStorage", "nosuchpackage.Storage", ""],
)
def test_e002_unknown_storage_alias_or_class(setting: str, backend: str) -> None:
    with override_settings(**{setting: backend}):
        messages = restthumbs_messages()
    assert [m.id for m in messages] == ["restthumbs.E002"]
    assert setting in messages[0].msg


def test_e002_for_both_settings() -> None:
    ids = restthumbs_ids(
        THUMBNAILS_SOURCE_STORAGE_BACKEND="nope", THUMBNAILS_STORAGE_BACKEND="nope"
    )
    assert ids == ["restthumbs.E002", "restthumbs.E002"]


def test_storages_alias_is_accepted(tmp_path: Path) -> None:
    storages = {
        "default": {"BACKEND": FS},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "thumbs": {"BACKEND": FS, "OPTIONS": {"location": str(tmp_path / "t")}},
    }
    assert restthumbs_ids(STORAGES=storages, THUMBNAILS_STORAGE_BACKEND="thumbs") == []


# -- E003 / E004 roots -----------------------------------------------------


def test_e003_empty_source_root() -> None:
    assert restthumbs_ids(THUMBNAILS_SOURCE_ROOT="") == ["restthumbs.E003"]


def test_e003_empty_media_root_without_source_root() -> None:
    assert restthumbs_ids(MEDIA_ROOT="") == ["restthumbs.E003"]


@pytest.mark.parametrize("inside", ["thumbnails", "a/b/thumbnails", "."])
def test_e004_thumbnail_root_inside_or_equal_to_source_root(media: Path, inside: str) -> None:
    thumbs = media / inside
    assert restthumbs_ids(THUMBNAILS_STORAGE_ROOT=str(thumbs)) == ["restthumbs.E004"]


def test_e004_with_the_interpolated_media_root(media: Path) -> None:
    ids = restthumbs_ids(THUMBNAILS_STORAGE_ROOT="%(MEDIA_ROOT)s/thumbs/")
    assert ids == ["restthumbs.E004"]


def test_e004_through_a_symlink(media: Path, tmp_path: Path) -> None:
    (media / "thumbs").mkdir()
    link = tmp_path / "link-to-thumbs"
    link.symlink_to(media / "thumbs")
    assert restthumbs_ids(THUMBNAILS_STORAGE_ROOT=str(link)) == ["restthumbs.E004"]


def test_sibling_with_a_common_prefix_is_not_inside(media: Path) -> None:
    """``media-thumbs`` starts with the string ``media`` but is not inside it."""
    assert restthumbs_ids(THUMBNAILS_STORAGE_ROOT=str(media) + "-thumbs") == []


# -- E005 numbers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("THUMBNAILS_LOCK_TIMEOUT", 0),
        ("THUMBNAILS_LOCK_TIMEOUT", -1),
        ("THUMBNAILS_LOCK_TIMEOUT", "10"),
        ("THUMBNAILS_LOCK_TIMEOUT", None),
        ("THUMBNAILS_MAX_SIZE", 0),
        ("THUMBNAILS_MAX_SIZE", -100),
        ("THUMBNAILS_MAX_SIZE", 100.5),
        ("THUMBNAILS_MAX_SIZE", True),
        ("THUMBNAILS_MAX_SOURCE_PIXELS", 0),
        ("THUMBNAILS_MAX_SOURCE_PIXELS", -1),
        ("THUMBNAILS_MAX_SOURCE_BYTES", 0),
        ("THUMBNAILS_MAX_SOURCE_BYTES", -1),
        ("THUMBNAILS_MAX_SOURCE_BYTES", "100MB"),
        ("THUMBNAILS_CACHE_MAX_AGE", -1),
        ("THUMBNAILS_CACHE_MAX_AGE", 1.5),
        ("THUMBNAILS_CACHE_MAX_AGE", "3600"),
    ],
)
def test_e005_bad_numbers(setting: str, value: Any) -> None:
    with override_settings(**{setting: value}):
        messages = restthumbs_messages()
    assert [m.id for m in messages] == ["restthumbs.E005"]
    assert setting in messages[0].msg


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("THUMBNAILS_LOCK_TIMEOUT", 0.5),
        ("THUMBNAILS_LOCK_TIMEOUT", 1),
        ("THUMBNAILS_MAX_SIZE", 1),
        ("THUMBNAILS_CACHE_MAX_AGE", 0),
    ],
)
def test_e005_accepts_small_valid_numbers(setting: str, value: Any) -> None:
    assert restthumbs_ids(**{setting: value}) == []


def test_e005_one_message_per_bad_number() -> None:
    ids = restthumbs_ids(
        THUMBNAILS_LOCK_TIMEOUT=0,
        THUMBNAILS_MAX_SIZE=0,
        THUMBNAILS_MAX_SOURCE_PIXELS=0,
        THUMBNAILS_MAX_SOURCE_BYTES=0,
        THUMBNAILS_CACHE_MAX_AGE=-1,
    )
    assert ids == ["restthumbs.E005"] * 5


# -- E006 allowed sizes ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ("100x100", 1),  # a string, not a list
        (100, 1),
        ({"100x100": True}, 1),
        (["0x100"], 1),
        (["100X100"], 1),
        (["100"], 1),
        ([100], 1),
        ([None], 1),
        (["100x100", "064x", "x"], 2),
        (["100x100 "], 1),
    ],
)
def test_e006_malformed_allowed_sizes(value: Any, count: int) -> None:
    assert restthumbs_ids(THUMBNAILS_ALLOWED_SIZES=value) == ["restthumbs.E006"] * count


@pytest.mark.parametrize("value", [None, [], ["100x100", "64x", "x64"], ("100x100",)])
def test_e006_accepts_valid_allowed_sizes(value: Any) -> None:
    assert restthumbs_ids(THUMBNAILS_ALLOWED_SIZES=value) == []


# -- E007 quality ----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        0,
        101,
        -5,
        "85",
        85.0,
        True,
        None,
        {"jpeg": 0},
        {"webp": 101},
        {"JPEG": 85},
        {"tiff": 80},
        {"jpeg": "90"},
    ],
)
def test_e007_bad_quality(value: Any) -> None:
    assert restthumbs_ids(THUMBNAILS_QUALITY=value) == ["restthumbs.E007"]


@pytest.mark.parametrize("value", [1, 100, 85, {"jpeg": 90, "webp": 80, "avif": 60}, {}])
def test_e007_accepts_valid_quality(value: Any) -> None:
    assert restthumbs_ids(THUMBNAILS_QUALITY=value) == []


# -- E008 / W001 cache -----------------------------------------------------


def test_e008_unknown_cache_alias() -> None:
    messages_ids = restthumbs_ids(THUMBNAILS_CACHE="locks")
    assert messages_ids == ["restthumbs.E008"]


def test_named_cache_alias_is_accepted() -> None:
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "locks": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "locks"},
    }
    assert restthumbs_ids(CACHES=caches, THUMBNAILS_CACHE="locks") == []


def test_w001_dummy_cache() -> None:
    caches = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with override_settings(CACHES=caches):
        messages = restthumbs_messages()
    assert [m.id for m in messages] == ["restthumbs.W001"]
    assert not messages[0].is_serious()


def test_w001_only_for_the_lock_cache() -> None:
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
        "locks": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    assert restthumbs_ids(CACHES=caches, THUMBNAILS_CACHE="locks") == []


# -- W002 secret -----------------------------------------------------------


def test_w002_fallbacks_without_thumbnails_secret_key() -> None:
    assert restthumbs_ids(THUMBNAILS_SECRET_KEY_FALLBACKS=["old"]) == ["restthumbs.W002"]


def test_no_w002_with_thumbnails_secret_key() -> None:
    ids = restthumbs_ids(THUMBNAILS_SECRET_KEY="new", THUMBNAILS_SECRET_KEY_FALLBACKS=["old"])
    assert ids == []


# -- messages are helpful --------------------------------------------------


def test_errors_name_their_setting_and_have_hints() -> None:
    with override_settings(
        THUMBNAILS_RESPONSE_BACKEND="nope.sendfile",
        THUMBNAILS_STORAGE_BACKEND="nope",
        THUMBNAILS_ALLOWED_SIZES=["0x0"],
        THUMBNAILS_CACHE="nope",
    ):
        messages = restthumbs_messages()
    assert sorted(m.id for m in messages) == [
        "restthumbs.E001",
        "restthumbs.E002",
        "restthumbs.E006",
        "restthumbs.E008",
    ]
    for message in messages:
        assert message.is_serious()
        assert "THUMBNAILS_" in message.msg
        assert message.hint


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("THUMBNAILS_PROXY_BASE_URL", "/thumbs"),
        ("THUMBNAILS_PROXY_BASE_URL", "https://cdn.example.com"),
        ("THUMBNAILS_STORAGE_BASE_PATH", "/thumbnails"),
        ("THUMBNAILS_STORAGE_BASE_PATH", ""),
    ],
)
def test_base_paths_must_end_with_a_slash(setting: str, value: str) -> None:
    from django.core.checks import run_checks

    with override_settings(**{setting: value}):
        ids = [m.id for m in run_checks() if m.id and m.id.startswith("restthumbs.")]
    assert ids == ["restthumbs.E009"]


def test_truncated_images_accepted_by_pillow_is_w004(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import ImageFile

    from restthumbs.checks.config import check_truncated_images

    assert check_truncated_images() == []
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert [m.id for m in check_truncated_images()] == ["restthumbs.W004"]


# -- issue 14: messages a new user can act on ------------------------------------------


def test_a_backend_module_without_sendfile_says_which_name_to_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    import restthumbs.responses

    # As in a fresh process, where nothing has imported the backend module yet.
    monkeypatch.delitem(sys.modules, "restthumbs.responses.nginx", raising=False)
    monkeypatch.delattr(restthumbs.responses, "nginx", raising=False)
    with override_settings(THUMBNAILS_RESPONSE_BACKEND="restthumbs.responses.nginx"):
        (message,) = restthumbs_messages()
    assert message.id == "restthumbs.E001"
    assert "'restthumbs.responses.nginx.sendfile'" in message.msg


def test_a_missing_django_storages_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "storages", None)  # as if never installed
    monkeypatch.delitem(sys.modules, "storages.backends.s3", raising=False)
    monkeypatch.delitem(sys.modules, "storages.backends", raising=False)
    s3 = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": "b"}}
    for backend, storages in [
        ("storages.backends.s3.S3Storage", None),
        ("media_s3", {"default": {"BACKEND": FS}, "media_s3": s3}),
    ]:
        overrides: dict[str, Any] = {"THUMBNAILS_STORAGE_BACKEND": backend}
        if storages:
            overrides["STORAGES"] = storages
        with override_settings(**overrides):
            (message,) = restthumbs_messages()
        assert message.id == "restthumbs.E002"
        assert 'pip install "restthumbs[s3]"' in message.msg


# -- W005, E010, W014: the response backend can work as configured ------------------------


@pytest.mark.parametrize("backend", ["nginx", "apache"])
def test_a_sendfile_backend_under_debug_is_w005(backend: str) -> None:
    """runserver ignores X-Accel-Redirect: every thumbnail would be an empty 200."""
    path = f"restthumbs.responses.{backend}.sendfile"
    assert restthumbs_ids(THUMBNAILS_RESPONSE_BACKEND=path, DEBUG=True) == ["restthumbs.W005"]
    assert restthumbs_ids(THUMBNAILS_RESPONSE_BACKEND=path, DEBUG=False) == []


def test_apache_with_a_storage_without_paths_is_e010() -> None:
    assert restthumbs_ids(
        THUMBNAILS_RESPONSE_BACKEND="restthumbs.responses.apache.sendfile",
        THUMBNAILS_STORAGE_BACKEND="django.core.files.storage.InMemoryStorage",
    ) == ["restthumbs.E010"]


def deploy_ids(**overrides: Any) -> list[str]:
    with override_settings(**overrides):
        messages = run_checks(include_deployment_checks=True)
    return sorted(str(m.id) for m in messages if str(m.id).startswith("restthumbs."))


def test_redirects_to_media_url_that_does_not_serve_the_thumbnails_are_w014() -> None:
    redirect = "restthumbs.responses.redirect.sendfile"
    assert deploy_ids(THUMBNAILS_RESPONSE_BACKEND=redirect) == ["restthumbs.W014"]
    assert restthumbs_ids(THUMBNAILS_RESPONSE_BACKEND=redirect) == []  # only with --deploy


# -- E011 THUMBNAILS_PRESETS, E012 THUMBNAILS_ONLY_PRESETS ---------------------------------


@pytest.mark.parametrize(
    ("presets", "count"),
    [
        (["avatar"], 1),  # not a dict
        ("avatar", 1),
        ({"64x64": {"size": "64x64"}}, 1),  # a name that is a size
        ({"a b": {"size": "64x64"}}, 1),
        ({1: {"size": "64x64"}}, 1),
        ({"avatar": "64x64"}, 1),  # an entry that is not a dict
        ({"avatar": {}}, 1),  # no size
        ({"avatar": {"size": "64X64"}}, 1),
        ({"avatar": {"size": 64}}, 1),
        ({"avatar": {"size": "64x64", "method": "fit"}}, 1),
        ({"avatar": {"size": "64x64", "ext": ".bmp"}}, 1),
        ({"avatar": {"size": "64x64", "format": "webp"}}, 1),  # an unknown key
        ({"avatar": {"size": "64X64", "method": "fit", "ext": "bmp"}}, 3),
        ({"avatar": {"size": "64x64"}, "huge": {"size": "5000x5000"}}, 1),  # over MAX_SIZE
    ],
)
def test_e011_malformed_presets(presets: Any, count: int) -> None:
    with override_settings(THUMBNAILS_PRESETS=presets):
        messages = restthumbs_messages()
    assert [m.id for m in messages] == ["restthumbs.E011"] * count
    assert all("THUMBNAILS_PRESETS" in m.msg and m.hint for m in messages)


def test_e011_a_preset_outside_allowed_sizes() -> None:
    ids = restthumbs_ids(
        THUMBNAILS_PRESETS={"avatar": {"size": "64x64"}, "card": {"size": "400x300"}},
        THUMBNAILS_ALLOWED_SIZES=["64x64"],
    )
    assert ids == ["restthumbs.E011"]


def test_e011_a_preset_in_a_format_this_pillow_cannot_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("restthumbs.policy.can_encode", lambda name: name != "AVIF")
    with override_settings(THUMBNAILS_PRESETS={"hero": {"size": "800x", "ext": "avif"}}):
        messages = restthumbs_messages()
    assert [m.id for m in messages] == ["restthumbs.E011"]
    assert "cannot write AVIF" in messages[0].msg


@pytest.mark.parametrize(
    "presets",
    [
        {},
        {"avatar": {"size": "64x64", "method": "smart", "ext": ".webp"}},
        {"card": {"size": "400x300"}, "wide": {"size": "800x", "method": "scale", "ext": "png"}},
    ],
)
def test_e011_accepts_valid_presets(presets: Any) -> None:
    assert restthumbs_ids(THUMBNAILS_PRESETS=presets) == []
    assert restthumbs_ids(THUMBNAILS_PRESETS=presets, THUMBNAILS_ONLY_PRESETS=True) == (
        [] if presets else ["restthumbs.E012"]
    )


def test_e012_only_presets_without_a_valid_preset() -> None:
    assert restthumbs_ids(THUMBNAILS_ONLY_PRESETS=True) == ["restthumbs.E012"]
    ids = restthumbs_ids(THUMBNAILS_ONLY_PRESETS=True, THUMBNAILS_PRESETS={"a": {"size": "0x0"}})
    assert ids == ["restthumbs.E011", "restthumbs.E012"]
    with override_settings(THUMBNAILS_ONLY_PRESETS=True):
        (message,) = restthumbs_messages()
    assert "THUMBNAILS_ONLY_PRESETS" in message.msg and message.hint
