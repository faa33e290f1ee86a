"""Tests for ``{% thumbnail %}`` (:mod:`restthumbs.templatetags.thumbnail`)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.db.models import FileField
from django.db.models.fields.files import FieldFile
from django.template import Context, Template, TemplateSyntaxError
from django.test import override_settings
from PIL import Image

from restthumbs import thumbnail_url
from restthumbs.signing import sign
from restthumbs.spec import build_spec

from . import harness, images
from .utils import body

HEX = r"[0-9a-f]{64}"


def render(source: str, context: dict[str, Any] | None = None, autoescape: bool = True) -> str:
    template = Template("{% load thumbnail %}" + source)
    return str(template.render(Context(context or {}, autoescape=autoescape)))


def field_file(name: str | None) -> FieldFile:
    """A model field's file as templates see it, without a model instance or a database."""
    return FieldFile(instance=None, field=FileField(name="image"), name=name)


# -- arguments -------------------------------------------------------------


def test_literal_arguments_output_the_url() -> None:
    out = render('{% thumbnail "animals/kitten.jpg" "100x100" "crop" ".jpg" %}')
    secret = sign(build_spec("animals/kitten.jpg", "100x100", "crop", "jpg"))
    assert out == f"/animals/kitten.jpg/100x100/crop/{secret}.jpg"


def test_variables_from_the_context() -> None:
    out = render(
        "{% thumbnail path avatar_size method ext %}",
        {"path": "animals/kitten.jpg", "avatar_size": "64x", "method": "smart", "ext": ".webp"},
    )
    assert out == thumbnail_url("animals/kitten.jpg", "64x", "smart", ".webp")
    assert re.fullmatch(rf"/animals/kitten\.jpg/64x/smart/{HEX}\.webp", out)


def test_literal_and_variable_size_give_the_same_url() -> None:
    literal = render('{% thumbnail "a.jpg" "x64" "scale" ".png" %}')
    variable = render('{% thumbnail "a.jpg" size "scale" ".png" %}', {"size": "x64"})
    assert literal == variable != ""


def test_attribute_lookups_and_filters_in_arguments() -> None:
    out = render(
        '{% thumbnail obj.image sizes.0 "crop"|lower ".JPG"|lower %}',
        {"obj": {"image": field_file("photos/a.jpg")}, "sizes": ["50x50"]},
    )
    assert out == thumbnail_url("photos/a.jpg", "50x50", "crop", ".jpg")


@pytest.mark.parametrize("ext", ['".jpg"', '"jpg"'])
def test_extension_with_or_without_dot(ext: str) -> None:
    out = render('{% thumbnail "a.png" "10x10" "crop" ' + ext + " %}")
    assert out == thumbnail_url("a.png", "10x10", "crop", ".jpg")
    assert out.endswith(".jpg") and ".." not in out


def test_field_file_source() -> None:
    out = render(
        '{% thumbnail image "100x100" "crop" ".jpg" %}', {"image": field_file("uploads/a.jpg")}
    )
    assert out == thumbnail_url("uploads/a.jpg", "100x100")
    assert out.startswith("/uploads/a.jpg/100x100/crop/")


def test_django_file_source() -> None:
    f = File(io.BytesIO(b"not read"), name="uploads/b.png")
    out = render('{% thumbnail f "100x" "scale" ".png" %}', {"f": f})
    assert out == thumbnail_url("uploads/b.png", "100x", "scale", ".png")
    assert f.file is not None and f.file.tell() == 0  # the tag never reads the file


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("", id="empty-string"),
        pytest.param(None, id="none"),
        pytest.param(field_file(None), id="fieldfile-none"),
        pytest.param(field_file(""), id="fieldfile-empty"),
    ],
)
def test_empty_source_gives_an_empty_url(source: object) -> None:
    assert render('{% thumbnail src "100x100" "crop" ".jpg" %}', {"src": source}) == ""
    out = render(
        '{% thumbnail src "100x100" "crop" ".jpg" as thumb %}[{{ thumb.url }}]{% if thumb %}yes{% endif %}',
        {"src": source},
    )
    assert out == "[]"


def test_missing_variable_source_gives_an_empty_url() -> None:
    assert render('{% thumbnail missing "100x100" "crop" ".jpg" %}') == ""


def test_as_variable() -> None:
    out = render(
        '{% thumbnail "animals/kitten.jpg" "100x100" "crop" ".jpg" as thumb %}'
        '<img src="{{ thumb.url }}">|{{ thumb }}'
    )
    url = thumbnail_url("animals/kitten.jpg", "100x100")
    assert out == f'<img src="{url}">|{url}'


def test_as_variable_outputs_nothing_itself() -> None:
    assert render('{% thumbnail "a.jpg" "1x1" "crop" ".jpg" as thumb %}') == ""


# -- proxy base ------------------------------------------------------------


@pytest.mark.parametrize(
    "base",
    ["http://thumbs.example.com/", "https://cdn.example.com/t/", "/thumbs/", "//cdn.example.com/"],
)
def test_proxy_base_url(base: str) -> None:
    with override_settings(THUMBNAILS_PROXY_BASE_URL=base):
        out = render('{% thumbnail "a.jpg" "100x" "crop" ".jpg" %}')
    assert re.fullmatch(re.escape(base) + rf"a\.jpg/100x/crop/{HEX}\.jpg", out)


def test_relative_prefix_is_served(write_source: Callable[..., Path], client: Any) -> None:
    """``/thumbs/`` is where the test URLconf mounts restthumbs a second time."""
    write_source("a.jpg", images.photo((200, 100)))
    with override_settings(THUMBNAILS_PROXY_BASE_URL="/thumbs/"):
        url = render('{% thumbnail "a.jpg" "50x50" "crop" ".png" %}')
    assert url.startswith("/thumbs/a.jpg/50x50/crop/")
    response = client.get(url)
    assert response.status_code == 200
    with Image.open(io.BytesIO(body(response))) as im:
        assert (im.format, im.size) == ("PNG", (50, 50))


def test_absolute_proxy_base_is_served(write_source: Callable[..., Path], client: Any) -> None:
    write_source("a.jpg", images.photo((200, 100)))
    with override_settings(THUMBNAILS_PROXY_BASE_URL="http://thumbs.example.com/"):
        url = render('{% thumbnail "a.jpg" "x20" "scale" ".jpg" %}')
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"


# -- errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "{% thumbnail %}",
        '{% thumbnail "a.jpg" %}',
        '{% thumbnail "a.jpg" as thumb %}',
        # Method and ext may be left out (test_presets.py), but no more than four arguments.
        '{% thumbnail "a.jpg" "100x100" "crop" ".jpg" "extra" %}',
        '{% thumbnail "a.jpg" "100x100" "crop" ".jpg" as %}',
        '{% thumbnail "a.jpg" "100x100" "crop" ".jpg" "extra" as thumb %}',
        '{% thumbnail "a.jpg" "100x100" "crop" ".jpg" as thumb extra %}',
    ],
)
def test_wrong_argument_count(tag: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="Usage"):
        Template("{% load thumbnail %}" + tag)


@pytest.mark.parametrize(
    "args",
    [
        '"0x100" "crop" ".jpg"',
        '"100X100" "crop" ".jpg"',
        '"0100x100" "crop" ".jpg"',
        '"100x100" "fit" ".jpg"',
        '"100x100" "Crop" ".jpg"',
        '"100x100" "crop" ".JPG"',
        '"100x100" "crop" ".bmp"',
    ],
)
@override_settings(THUMBNAILS_DEBUG=True)
def test_bad_literal_is_a_syntax_error_at_compile_time(args: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="thumbnail"):
        Template(
            '{% load thumbnail %}{% if False %}{% thumbnail "a.jpg" ' + args + " %}{% endif %}"
        )


@override_settings(THUMBNAILS_DEBUG=True)
def test_bad_variable_size_fails_at_render_time() -> None:
    template = Template('{% load thumbnail %}{% thumbnail "a.jpg" size "crop" ".jpg" %}')
    with pytest.raises(ValueError):
        template.render(Context({"size": "100X100"}))


# -- encoding and escaping -------------------------------------------------


def test_unicode_path_is_percent_encoded_and_served(
    write_source: Callable[..., Path], client: Any, thumbs_dir: Path
) -> None:
    name = "kätzchen/schöne Katze 100%?#&.jpg"
    write_source(name, images.photo((120, 80)))
    url = render("{% thumbnail src '60x60' 'crop' '.jpg' %}", {"src": name})
    secret = sign(build_spec(name, "60x60", "crop", "jpg"))
    assert (
        url == f"/k%C3%A4tzchen/sch%C3%B6ne%20Katze%20100%25%3F%23%26.jpg/60x60/crop/{secret}.jpg"
    )
    assert url.isascii()

    response = client.get(url)
    assert response.status_code == 200
    with Image.open(io.BytesIO(body(response))) as im:
        assert im.size == (60, 60)
    # Stored under the decoded name, as nginx's $uri sees it.
    assert (thumbs_dir / f"{name}/60x60/crop/{secret}.jpg").is_file()


def test_html_in_the_source_path_never_reaches_the_page() -> None:
    out = render('{% thumbnail src "10x10" "crop" ".jpg" %}', {"src": "<script>\"'&.jpg"})
    assert not set("<>\"'&") & set(out)
    assert out.startswith("/%3Cscript%3E%22%27%26.jpg/")


def test_output_is_autoescaped() -> None:
    """A proxy base with a query string is the one way '&' reaches the output."""
    with override_settings(THUMBNAILS_PROXY_BASE_URL="/t?a=1&b=/"):
        escaped = render('{% thumbnail "a.jpg" "10x10" "crop" ".jpg" %}')
        raw = render('{% thumbnail "a.jpg" "10x10" "crop" ".jpg" %}', autoescape=False)
        as_var = render('{% thumbnail "a.jpg" "10x10" "crop" ".jpg" as t %}{{ t.url }}|{{ t }}')
    assert raw.startswith("/t?a=1&b=/a.jpg/")
    assert escaped == raw.replace("&", "&amp;")
    assert as_var == f"{escaped}|{escaped}"


# -- a page never fails because of a thumbnail (THUMBNAILS_DEBUG) ----------------------


BAD_TAGS = [
    '{% thumbnail "a.jpg" "100X100" "crop" ".jpg" %}',  # a bad literal
    '{% thumbnail "a.jpg" size "crop" ".jpg" %}',  # a bad variable
    '{% thumbnail "../a.jpg" "100x100" "crop" ".jpg" %}',  # a path out of the storage
]


@pytest.mark.parametrize("tag", BAD_TAGS)
def test_in_production_a_bad_argument_is_an_empty_url_and_a_warning(
    tag: str, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(DEBUG=False), caplog.at_level("WARNING", logger="restthumbs"):
        page = render("<img src='" + tag + "'>", {"size": "100X100"})
    assert page == "<img src=''>"
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "empty URL" in caplog.records[0].getMessage()


@override_settings(DEBUG=False, THUMBNAILS_ALLOWED_SIZES=["64x64"])
def test_a_size_outside_allowed_sizes_does_not_break_the_page(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The surprise of issue 14: this was a 500 under DEBUG = False, with nothing in the log."""
    with caplog.at_level("WARNING", logger="restthumbs"):
        page = render('{% thumbnail "a.jpg" "100x100" "crop" ".jpg" as t %}[{{ t.url }}]')
    assert page == "[]"
    assert "THUMBNAILS_ALLOWED_SIZES" in caplog.text


@pytest.mark.parametrize("tag", BAD_TAGS)
def test_under_debug_a_bad_argument_is_loud(tag: str) -> None:
    with override_settings(DEBUG=True), pytest.raises((TemplateSyntaxError, ValueError)):
        render(tag, {"size": "100X100"})


def test_thumbnails_debug_overrides_debug() -> None:
    with override_settings(DEBUG=True, THUMBNAILS_DEBUG=False):
        assert render(BAD_TAGS[1], {"size": "100X100"}) == ""
    with override_settings(DEBUG=False, THUMBNAILS_DEBUG=True), pytest.raises(ValueError):
        render(BAD_TAGS[1], {"size": "100X100"})


# -- {% load restthumbs %}: beside sorl-thumbnail or easy-thumbnails -------------------------


def test_load_restthumbs_gives_the_same_tag() -> None:
    ours = Template('{% load restthumbs %}{% thumbnail "a.jpg" "100x100" "crop" ".jpg" %}')
    assert ours.render(Context()) == render('{% thumbnail "a.jpg" "100x100" "crop" ".jpg" %}')


@pytest.mark.parametrize("order", ["restthumbs first", "sorl first"])
def test_load_restthumbs_beside_sorl_thumbnail(order: str) -> None:
    """With both installed, ``thumbnail`` is one app's library; ``restthumbs`` is always ours."""
    harness.require_module("sorl.thumbnail")  # skips locally, fails under CI=true
    apps = ["restthumbs", "sorl.thumbnail"]
    if order == "sorl first":
        apps.reverse()
    with override_settings(INSTALLED_APPS=["django.contrib.contenttypes", *apps]):
        from django.template import engines

        engine = engines["django"]
        ours = engine.from_string(
            '{% load restthumbs %}{% thumbnail "a.jpg" "100x100" "crop" ".jpg" %}'
        )
        assert re.fullmatch(r"/a\.jpg/100x100/crop/" + HEX + r"\.jpg", ours.render({}))
        sorl_style = '{% load thumbnail %}{% thumbnail "a.jpg" "100x100" crop="center" as im %}x{% endthumbnail %}'
        if order == "restthumbs first":  # the last app wins the name: sorl's tag
            engine.from_string(sorl_style)
