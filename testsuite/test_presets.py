"""Presets (:mod:`restthumbs.presets`): by name in the tags, the API and ``thumbnails_warm``;
``THUMBNAILS_ONLY_PRESETS`` when URLs are built and when they are served."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template import Context, Template, TemplateSyntaxError
from django.test import override_settings
from PIL import Image

import restthumbs
from restthumbs.api import thumbnail, thumbnail_url
from restthumbs.exceptions import InvalidSpec, SizeNotAllowed
from restthumbs.presets import get_preset, is_preset_name, presets, resolve
from restthumbs.signing import sign
from restthumbs.spec import build_spec

from . import images
from .utils import body

PRESETS = {
    "avatar": {"size": "64x64", "method": "smart", "ext": ".webp"},
    "card": {"size": "400x300"},  # method crop and ext .jpg by default
    "banner_2x.v1": {"size": "1200x", "method": "scale", "ext": "png"},
}
with_presets = override_settings(THUMBNAILS_PRESETS=PRESETS)


def render(source: str, context: dict[str, Any] | None = None, library: str = "thumbnail") -> str:
    return Template("{% load " + library + " %}" + source).render(Context(context or {}))


# -- names and resolution ------------------------------------------------------------


@pytest.mark.parametrize("name", ["avatar", "card", "banner_2x.v1", "_x", "X64", "a-b"])
def test_preset_names(name: str) -> None:
    assert is_preset_name(name)


@pytest.mark.parametrize("value", ["64x64", "x64", "64x", "", "2x", "-a", "a b", "é", "a/b"])
def test_a_size_or_a_stray_string_is_no_preset_name(value: str) -> None:
    assert not is_preset_name(value)


@with_presets
def test_resolve_fills_in_the_preset_and_the_defaults() -> None:
    assert resolve("avatar") == ("64x64", "smart", "webp")  # a preset's ext, normalised
    assert resolve("avatar", "crop") == ("64x64", "crop", "webp")
    assert resolve("avatar", None, ".jpg") == ("64x64", "smart", ".jpg")
    assert resolve("card") == ("400x300", "crop", "jpg")
    assert resolve("100x100") == ("100x100", "crop", ".jpg")
    assert resolve("100x100", "scale", ".png") == ("100x100", "scale", ".png")
    assert resolve("100x100", "", None) == ("100x100", "", ".jpg")  # "" is given, and invalid


@with_presets
def test_an_unknown_name_lists_the_presets() -> None:
    with pytest.raises(InvalidSpec, match=r"'avtar' is neither a size .* \(avatar, banner"):
        resolve("avtar")


def test_without_presets_a_name_is_an_invalid_size() -> None:
    with pytest.raises(InvalidSpec, match="Invalid size 'avatar'"):
        thumbnail_url("a.jpg", "avatar")


@override_settings(THUMBNAILS_PRESETS={"bad": {"size": "64X64"}, "good": {"size": "1x1"}})
def test_a_malformed_preset_says_so_and_leaves_the_others() -> None:
    with pytest.raises(InvalidSpec, match=r"THUMBNAILS_PRESETS\['bad'\]\['size'\] is '64X64'"):
        get_preset("bad")
    assert list(presets()) == ["good"]


def test_presets_follow_the_settings() -> None:
    with with_presets:
        assert presets()["avatar"].ext == "webp"
    assert presets() == {}


# -- the Python API --------------------------------------------------------------------


@with_presets
def test_thumbnail_url_by_preset_name() -> None:
    expected = thumbnail_url("a.jpg", "64x64", "smart", ".webp")
    assert thumbnail_url("a.jpg", "avatar") == expected
    assert restthumbs.thumbnail_url("a.jpg", "avatar") == expected
    assert thumbnail_url("a.jpg", "avatar", ext=".png") == thumbnail_url(
        "a.jpg", "64x64", "smart", ".png"
    )
    assert thumbnail_url("a.jpg", "card") == thumbnail_url("a.jpg", "400x300", "crop", ".jpg")
    assert thumbnail("a.jpg", "banner_2x.v1").spec == build_spec("a.jpg", "1200x", "scale", "png")


@with_presets
def test_an_empty_source_is_empty_whatever_the_preset() -> None:
    assert thumbnail_url(None, "avatar") == ""
    assert thumbnail_url("", "no-such-preset") == ""


# -- the tag: {% thumbnail source size [method [ext]] %} --------------------------------


@with_presets
@pytest.mark.parametrize("library", ["thumbnail", "restthumbs"])
def test_the_tag_takes_a_preset_name(library: str) -> None:
    expected = thumbnail_url("a.jpg", "avatar")
    assert render('{% thumbnail "a.jpg" "avatar" %}', library=library) == expected
    out = render('{% thumbnail "a.jpg" "avatar" as a %}[{{ a.url }}]', library=library)
    assert out == f"[{expected}]"
    assert render("{% thumbnail src p %}", {"src": "a.jpg", "p": "avatar"}) == expected


@with_presets
def test_the_tag_overrides_the_presets_method_and_ext() -> None:
    assert render('{% thumbnail "a.jpg" "avatar" "crop" %}') == thumbnail_url(
        "a.jpg", "64x64", "crop", ".webp"
    )
    assert render('{% thumbnail "a.jpg" "avatar" "crop" ".png" %}') == thumbnail_url(
        "a.jpg", "64x64", "crop", ".png"
    )


@pytest.mark.parametrize(
    ("tag", "args"),
    [
        ('{% thumbnail "a.jpg" "100x100" %}', ("100x100", "crop", ".jpg")),
        ('{% thumbnail "a.jpg" "100x100" "scale" %}', ("100x100", "scale", ".jpg")),
        ('{% thumbnail "a.jpg" "100x100" "scale" "png" %}', ("100x100", "scale", ".png")),
    ],
)
def test_method_and_ext_may_be_left_out_as_in_the_api(tag: str, args: tuple[str, ...]) -> None:
    assert render(tag) == thumbnail_url("a.jpg", *args)
    assert render(tag.replace(" %}", " as t %}") + "{{ t }}") == thumbnail_url("a.jpg", *args)


@with_presets
@override_settings(THUMBNAILS_DEBUG=True)
@pytest.mark.parametrize(
    "args", ['"avtar"', '"100X100"', '"avatar" "fit"', '"avatar" "crop" "bmp"']
)
def test_under_debug_a_bad_literal_fails_at_compile_time(args: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="thumbnail"):
        Template('{% load thumbnail %}{% if 0 %}{% thumbnail "a.jpg" ' + args + " %}{% endif %}")


@with_presets
@override_settings(DEBUG=False)
def test_in_production_an_unknown_preset_is_an_empty_url_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="restthumbs"):
        assert render('<img src="{% thumbnail "a.jpg" "avtar" %}">') == '<img src="">'
    assert "'avtar' is neither a size" in caplog.text


# -- THUMBNAILS_ONLY_PRESETS -------------------------------------------------------------


@with_presets
@override_settings(THUMBNAILS_ONLY_PRESETS=True)
def test_only_presets_refuses_any_other_size_or_method_when_urls_are_built() -> None:
    assert thumbnail_url("a.jpg", "avatar")
    assert thumbnail_url("a.jpg", "64x64", "smart", ".jpg")  # any format: the size is a preset's
    assert thumbnail_url("a.jpg", "400x300")  # "card": crop by default
    for size, method in (("65x64", "smart"), ("64x64", "crop"), ("400x300", "scale")):
        with pytest.raises(SizeNotAllowed, match="THUMBNAILS_ONLY_PRESETS"):
            thumbnail_url("a.jpg", size, method)


@with_presets
@override_settings(THUMBNAILS_ONLY_PRESETS=True)
def test_only_presets_is_enforced_by_the_view(
    write_source: Callable[..., Path], client: Any
) -> None:
    write_source("a.jpg", images.photo((200, 150)))
    response = client.get(thumbnail_url("a.jpg", "avatar"))
    assert response.status_code == 200
    with Image.open(io.BytesIO(body(response))) as im:
        assert (im.format, im.size) == ("WEBP", (64, 64))
    spec = build_spec("a.jpg", "65x64", "smart", "webp")  # signed, but no preset's
    refused = client.get("/" + spec.name(sign(spec)))
    assert refused.status_code == 400
    assert refused["Cache-Control"] == "no-store"


def test_without_only_presets_other_sizes_are_served() -> None:
    with with_presets:
        assert thumbnail_url("a.jpg", "65x64", "smart")


# -- thumbnails_warm PRESET ------------------------------------------------------------------


def warm(*args: str) -> str:
    out = io.StringIO()
    call_command("thumbnails_warm", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@with_presets
def test_warm_a_preset(write_source: Callable[..., Path], thumbs_dir: Path) -> None:
    write_source("a.jpg", images.photo((200, 150)))
    assert "Rendered 1, skipped 0, failed 0." in warm("avatar")
    spec = build_spec("a.jpg", "64x64", "smart", "webp")
    assert (thumbs_dir / spec.name(sign(spec))).is_file()
    assert "Rendered 0, skipped 1, failed 0." in warm("64x64", "smart", "webp")


@with_presets
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("avatar", "crop"), "A preset stands alone"),
        (("avatar", "crop", "jpg"), "A preset stands alone"),
        (("64x64",), "Give SIZE METHOD EXT"),
        (("64x64", "crop"), "Give SIZE METHOD EXT"),
        (("avtar",), "no preset 'avtar'"),
    ],
)
def test_warm_takes_a_preset_alone_or_three_arguments(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        warm(*args)


@with_presets
@override_settings(THUMBNAILS_ONLY_PRESETS=True)
def test_warm_refuses_what_only_presets_refuses() -> None:
    with pytest.raises(CommandError, match="THUMBNAILS_ONLY_PRESETS"):
        warm("40x30", "crop", "jpg")
