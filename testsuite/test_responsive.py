"""``{% srcset_image %}``, ``{% picture %}``, :mod:`restthumbs.responsive`, width and height
(:mod:`restthumbs.dimensions`) and the Jinja2 globals (:mod:`restthumbs.jinja2`)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.db import connection
from django.template import Context, Template, TemplateSyntaxError
from django.test import override_settings
from PIL import Image

from restthumbs.api import thumbnail
from restthumbs.exceptions import InvalidSpec, SizeNotAllowed
from restthumbs.responsive import Picture, ResponsiveImage, ladder_sizes, picture, srcset
from restthumbs.signing import verify
from restthumbs.spec import parse_name

from . import images
from .gallery.models import Photo
from .test_api import exploding  # noqa: F401  (fixture: storages and caches that explode)
from .utils import body

ROOT = Path(__file__).resolve().parent.parent
Tags = list[tuple[str, dict[str, str | None]]]


class Elements(HTMLParser):
    """The start tags of a fragment with their attributes, in order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: Tags = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> Tags:
    return Elements(html).tags


def render(source: str, context: dict[str, Any] | None = None, library: str = "thumbnail") -> str:
    return Template("{% load " + library + " %}" + source).render(Context(context or {}))


def candidates(srcset_value: str | None) -> list[tuple[str, str]]:
    """``[(url, descriptor)]`` of a srcset attribute, each URL checked to be signed."""
    assert srcset_value
    pairs = [tuple(item.split(" ")) for item in srcset_value.split(", ")]
    for url, _ in pairs:
        assert_signed(url)
    return pairs  # type: ignore[return-value]


def assert_signed(url: str) -> None:
    spec, secret = parse_name(unquote(url.removeprefix("/")))
    verify(spec, secret)


def url_of(size: str, method: str = "crop", ext: str = ".jpg", source: str = "a.jpg") -> str:
    return thumbnail(source, size, method, ext).url


# -- {% srcset_image %}: widths -----------------------------------------------------------


@pytest.mark.parametrize("library", ["thumbnail", "restthumbs"])
def test_a_width_ladder(library: str) -> None:
    html = render(
        '{% srcset_image "a.jpg" "400x300 800x600" "crop" ".webp" '
        'sizes="(max-width: 600px) 100vw, 400px" alt="A kitten" class="card" loading="lazy" %}',
        library=library,
    )
    ((tag, attrs),) = elements(html)
    assert tag == "img"
    assert list(attrs) == ["src", "srcset", "width", "height", "sizes", "alt", "class", "loading"]
    assert attrs["src"] == url_of("400x300", ext=".webp")
    assert candidates(attrs["srcset"]) == [
        (url_of("400x300", ext=".webp"), "400w"),
        (url_of("800x600", ext=".webp"), "800w"),
    ]
    assert (attrs["width"], attrs["height"]) == ("400", "300")
    assert attrs["sizes"] == "(max-width: 600px) 100vw, 400px"
    assert (attrs["alt"], attrs["class"], attrs["loading"]) == ("A kitten", "card", "lazy")


@pytest.mark.parametrize(
    "ladder", ['"320x, 640x,960x"', "ladder", '" 320x  640x 960x "', "ladder_list"]
)
def test_ladders_as_strings_or_lists(ladder: str) -> None:
    context = {"ladder": "320x 640x 960x", "ladder_list": ["320x", "640x", "960x"]}
    (_, attrs), *_ = elements(render('{% srcset_image "a.jpg" ' + ladder + ' "scale" %}', context))
    assert [d for _, d in candidates(attrs["srcset"])] == ["320w", "640w", "960w"]
    assert "width" not in attrs  # scale: the height depends on the source


def test_one_size_is_a_plain_img() -> None:
    ((_, attrs),) = elements(render('{% srcset_image "a.jpg" "100x100" alt="" %}'))
    assert attrs == {"src": url_of("100x100"), "width": "100", "height": "100", "alt": ""}


def test_a_height_only_ladder_needs_densities() -> None:
    with pytest.raises(InvalidSpec, match="needs a width"):
        srcset("a.jpg", "x200 x400")
    assert len(srcset("a.jpg", "x200", densities="1x 2x")) == 2


# -- densities ------------------------------------------------------------------------------


def test_densities_scale_one_base_size() -> None:
    html = render('{% srcset_image "a.jpg" "200x150" "smart" densities="1x 1.5x 2x" alt="" %}')
    ((_, attrs),) = elements(html)
    assert candidates(attrs["srcset"]) == [
        (url_of("200x150", "smart"), "1x"),
        (url_of("300x225", "smart"), "1.5x"),
        (url_of("400x300", "smart"), "2x"),
    ]
    assert (attrs["src"], attrs["width"], attrs["height"]) == (
        url_of("200x150", "smart"),
        "200",
        "150",
    )


@pytest.mark.parametrize(
    ("ladder", "densities", "message"),
    [
        ("200x150 400x300", "1x 2x", "Densities scale one base size"),
        ("200x150", "1x 1.0x", "given twice"),
        ("200x150", "0x", "Invalid density"),
        ("200x150", "2", "Invalid density"),
        ("200x150", "", "Empty densities"),
    ],
)
def test_bad_densities(ladder: str, densities: str, message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        srcset("a.jpg", ladder, densities=densities)


# -- {% picture %} ------------------------------------------------------------------------


def test_a_picture_has_avif_then_webp_then_the_fallback_img() -> None:
    html = render('{% picture "a.jpg" "400x300 800x600" "smart" sizes="50vw" alt="Kitten" %}')
    assert html.startswith("<picture><source ") and html.endswith("></picture>")
    tags = elements(html)
    assert [(tag, attrs.get("type")) for tag, attrs in tags] == [
        ("picture", None),
        ("source", "image/avif"),
        ("source", "image/webp"),
        ("img", None),
    ]
    for (_, attrs), ext in zip(tags[1:], (".avif", ".webp", ".jpg"), strict=True):
        assert attrs["sizes"] == "50vw"
        assert candidates(attrs["srcset"]) == [
            (url_of("400x300", "smart", ext), "400w"),
            (url_of("800x600", "smart", ext), "800w"),
        ]
    img = tags[-1][1]
    assert (img["src"], img["width"], img["height"], img["alt"]) == (
        url_of("400x300", "smart"),
        "400",
        "300",
        "Kitten",
    )


@pytest.mark.parametrize(("ext", "fallback"), [('".png"', ".png"), ('"gif"', ".gif")])
def test_the_fallback_format(ext: str, fallback: str) -> None:
    tags = elements(render('{% picture "a.jpg" "100x100" "crop" ' + ext + " %}"))
    assert tags[-1][1]["src"] == url_of("100x100", ext=fallback)


def test_formats_narrow_the_sources_but_keep_their_order() -> None:
    tags = elements(render('{% picture "a.jpg" "100x100" formats="webp" %}'))
    assert [attrs.get("type") for _, attrs in tags] == [None, "image/webp", None]
    tags = elements(render('{% picture "a.jpg" "100x100" formats="webp avif" %}'))
    assert [attrs.get("type") for _, attrs in tags] == [None, "image/avif", "image/webp", None]


def test_a_format_this_pillow_cannot_write_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("restthumbs.responsive.can_encode", lambda name: name != "AVIF")
    tags = elements(render('{% picture "a.jpg" "100x100" %}'))
    assert [attrs.get("type") for _, attrs in tags] == [None, "image/webp", None]


@pytest.mark.parametrize("ext", [".webp", "avif", ".bmp"])
def test_the_fallback_cannot_be_webp_or_avif(ext: str) -> None:
    with pytest.raises(InvalidSpec):
        picture("a.jpg", "100x100", "crop", ext)


@override_settings(
    THUMBNAILS_PRESETS={"avatar": {"size": "64x64", "method": "smart", "ext": "webp"}}
)
def test_a_preset_in_webp_falls_back_to_jpeg() -> None:
    pic = picture("a.jpg", "avatar", densities="1x 2x", alt="")
    assert list(pic.formats) == ["avif", "webp", "jpg"]
    assert pic.url == url_of("64x64", "smart", ".jpg")
    assert [t.url for t in pic.formats["webp"]] == [
        url_of("64x64", "smart", ".webp"),
        url_of("128x128", "smart", ".webp"),
    ]
    html = render('{% srcset_image "a.jpg" "avatar" %}')
    assert elements(html)[0][1]["src"] == url_of("64x64", "smart", ".webp")


# -- "as": every URL exposed ----------------------------------------------------------------


def test_as_binds_the_ladder_and_writes_nothing() -> None:
    out = render(
        '{% srcset_image "a.jpg" "400x 800x" "scale" ".webp" sizes="50vw" as img %}'
        "[{{ img.0.url }}|{{ img.1.url }}|{{ img.url }}|{{ img.srcset }}]"
        "{% for t in img %}({{ t }}){% endfor %}{{ img }}"
    )
    small, large = url_of("400x", "scale", ".webp"), url_of("800x", "scale", ".webp")
    head, _, tail = out.partition("]")
    assert head == f"[{small}|{large}|{small}|{small} 400w, {large} 800w"
    assert tail.startswith(f"({small})({large})<img ")
    assert elements(tail)[0][1]["sizes"] == "50vw"


def test_as_binds_a_picture_with_each_format() -> None:
    out = render(
        '{% picture "a.jpg" "100x100 200x200" as pic %}'
        "{{ pic.formats.avif.0.url }} {{ pic.formats.webp.srcset }} {{ pic.fallback.1.url }} "
        "{{ pic.url }} {{ pic.width }}x{{ pic.height }}"
    )
    assert out.split(" ")[0] == url_of("100x100", ext=".avif")
    assert out.split(" ")[-2:] == [url_of("100x100"), "100x100"]
    assert url_of("200x200") in out.split(" ")


# -- escaping -------------------------------------------------------------------------------


def test_attributes_are_escaped_literals_too() -> None:
    html = render(
        '{% srcset_image "a.jpg" "10x10" alt=text title=\'say "hi" & <b>\' data-x=n %}',
        {"text": '"><script>', "n": 5},
    )
    assert "<script>" not in html and "<b>" not in html
    ((_, attrs),) = elements(html)
    assert (attrs["alt"], attrs["title"], attrs["data-x"]) == ('"><script>', 'say "hi" & <b>', "5")


def test_boolean_and_none_attributes() -> None:
    html = str(srcset("a.jpg", "10x10", hidden=True, title=None, draggable=False))
    assert html.endswith(" hidden>") and "title" not in html and "draggable" not in html


# -- errors: THUMBNAILS_DEBUG, as {% thumbnail %} ---------------------------------------------------


@override_settings(THUMBNAILS_DEBUG=True)
@pytest.mark.parametrize(
    "tag",
    [
        '{% srcset_image "a.jpg" "400X300" %}',
        '{% srcset_image "a.jpg" "" %}',
        '{% srcset_image "a.jpg" "400x300" "fit" %}',
        '{% srcset_image "a.jpg" "400x300" "crop" ".bmp" %}',
        '{% srcset_image "a.jpg" "400x300" densities="2" %}',
        '{% picture "a.jpg" "400x300" "crop" ".webp" %}',
        '{% picture "a.jpg" "400x300" formats="jxl" %}',
        '{% srcset_image "a.jpg" "nopreset" %}',
    ],
)
def test_under_debug_a_bad_literal_fails_at_compile_time(tag: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=r"\{% (srcset_image|picture) %\}"):
        Template("{% load thumbnail %}{% if 0 %}" + tag + "{% endif %}")


@pytest.mark.parametrize(
    "tag",
    [
        '{% srcset_image "a.jpg" %}',
        '{% picture "a.jpg" "1x1" "crop" ".jpg" "extra" %}',
        '{% srcset_image "a.jpg" "1x1" alt="" "crop" %}',  # positional after name=value
        '{% srcset_image "a.jpg" "1x1" src="x.jpg" %}',  # written by the tag
        '{% srcset_image "a.jpg" "1x1" alt="" alt="" %}',
    ],
)
def test_syntax_errors_whatever_the_settings(tag: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="Usage"):
        Template("{% load thumbnail %}" + tag)


@override_settings(DEBUG=False)
@pytest.mark.parametrize(
    ("tag", "context"),
    [
        ('{% srcset_image "a.jpg" "400X300" %}', {}),
        ('{% picture "a.jpg" ladder %}', {"ladder": "1x1 huge"}),
        ('{% picture "../a.jpg" "10x10" %}', {}),
        ('{% srcset_image "a.jpg" "10x10" densities=d %}', {"d": "2"}),
    ],
)
def test_in_production_a_bad_argument_writes_nothing_and_a_warning(
    tag: str, context: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="restthumbs"):
        assert render("[" + tag + "]", context) == "[]"
        assert (
            render(
                tag.replace(" %}", " as x %}") + "[{{ x }}{% if not x %}empty{% endif %}]", context
            )
            == "[empty]"
        )
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]
    assert "gave no image" in caplog.records[0].getMessage()


@override_settings(DEBUG=True)
def test_under_debug_a_bad_variable_raises() -> None:
    with pytest.raises(InvalidSpec):
        render('{% picture "a.jpg" ladder %}', {"ladder": "1x1 huge"})


@pytest.mark.parametrize("source", [None, "", "missing"])
def test_an_empty_source_writes_nothing(source: str | None) -> None:
    context = {"image": source} if source != "missing" else {}
    assert render('{% picture image "100x100" alt="" %}', context) == ""
    assert render('{% srcset_image image "100x100" %}', context) == ""
    value = context.get("image")
    assert not srcset(value, "100x100") and not picture(value, "100x100")


# -- THUMBNAILS_ALLOWED_SIZES from ladders ------------------------------------------------------


def test_ladder_sizes() -> None:
    assert ladder_sizes("400x300 800x600") == ["400x300", "800x600"]
    assert ladder_sizes(["320x", "640x", "320x"]) == ["320x", "640x"]
    assert ladder_sizes("200x150", densities="1x 1.5x 2x") == ["200x150", "300x225", "400x300"]
    assert ladder_sizes("x100", densities="1x 3x") == ["x100", "x300"]
    with pytest.raises(InvalidSpec):
        ladder_sizes("avatar")


def test_allowed_sizes_built_from_the_ladders_accept_them_and_only_them() -> None:
    allowed = ladder_sizes("400x300 800x600") + ladder_sizes("200x150", densities="1x 2x")
    with override_settings(THUMBNAILS_ALLOWED_SIZES=allowed, THUMBNAILS_DEBUG=True):
        assert len(picture("a.jpg", "400x300 800x600").fallback) == 2
        assert len(srcset("a.jpg", "200x150", densities="1x 2x")) == 2
        with pytest.raises(SizeNotAllowed):
            srcset("a.jpg", "200x150", densities="1x 3x")


def test_ladder_sizes_imports_in_a_settings_module_before_django_is_set_up() -> None:
    code = (
        "from restthumbs.responsive import ladder_sizes\n"
        "print(ladder_sizes('200x150', densities='1x 2x'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['200x150', '400x300']"


# -- width and height -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "method", "upscale", "expected"),
    [
        ("400x300", "crop", True, (400, 300)),
        ("400x300", "smart", True, (400, 300)),
        ("400x300", "crop", False, (None, None)),  # a smaller source gives a smaller file
        ("400x300", "scale", True, (None, None)),  # the aspect ratio is the source's
        ("400x", "crop", True, (None, None)),
    ],
)
def test_thumbnail_width_and_height_without_a_known_source(
    size: str, method: str, upscale: bool, expected: tuple[int | None, int | None]
) -> None:
    with override_settings(THUMBNAILS_UPSCALE=upscale):
        thumb = thumbnail("a.jpg", size, method)
    assert (thumb.width, thumb.height) == expected


def photo(width: int | None, height: int | None) -> Photo:
    """A model instance whose ImageField stores its size (no file, no database)."""
    instance = Photo(title="p", width=width, height=height)
    instance.image.name = "photos/a.jpg"
    return instance


@pytest.mark.parametrize(
    ("stored", "size", "method", "expected"),
    [
        ((1000, 1000), "400x", "scale", (400, 400)),  # square: the orientation cannot matter
        ((4000, 3000), "400x300", "crop", (400, 300)),  # covered in both orientations
        ((4000, 3000), "400x", "scale", (None, None)),  # 400x300, or 400x533 if stored sideways
        ((300, 300), "400x300", "crop", (300, 225)),  # smaller than the box: not upscaled
        ((200, 300), "400x300", "crop", (None, None)),  # 200x150, or 300x225 sideways
    ],
)
def test_the_stored_source_size_gives_the_exact_size(
    stored: tuple[int, int], size: str, method: str, expected: tuple[int | None, int | None]
) -> None:
    thumb = thumbnail(photo(*stored).image, size, method)
    assert (thumb.width, thumb.height) == expected


def test_an_unknown_or_deferred_stored_size_is_unknown() -> None:
    assert thumbnail(photo(None, None).image, "400x", "scale").width is None
    deferred = photo(1000, 1000)
    del deferred.__dict__["width"]  # as Photo.objects.only("image") leaves it
    assert thumbnail(deferred.image, "400x", "scale").width is None
    assert "width" not in deferred.__dict__  # not loaded behind our back


def test_known_sizes_give_true_width_descriptors_without_duplicates() -> None:
    img = srcset(photo(600, 600).image, "400x300 800x600 1200x900", "crop")
    assert img.descriptors == ["400w", "600w"]  # 800x600 and 1200x900 are both 600x450
    assert (img.width, img.height) == (400, 300)
    img = srcset(photo(150, 150).image, "100x100", densities="1x 2x 3x")
    assert img.descriptors == ["1x", "2x"]  # 3x would be 150x150 again


@pytest.mark.parametrize("orientation", [1, 6])
@pytest.mark.parametrize(
    ("size", "method"), [("400x", "scale"), ("300x300", "crop"), ("x100", "smart"), ("90x", "crop")]
)
def test_a_known_size_is_the_size_rendered(
    orientation: int,
    size: str,
    method: str,
    write_source: Callable[..., Path],
    client: Any,
) -> None:
    """What Django stores (the header's size, before EXIF orientation) never misleads."""
    raw = images.photo((320, 200))
    write_source("photos/a.jpg", images.with_orientation(raw, orientation))
    thumb = thumbnail(photo(320, 200).image, size, method)
    response = client.get(thumb.url)
    assert response.status_code == 200
    with Image.open(io.BytesIO(body(response))) as im:
        rendered = im.size
    if thumb.width is not None:
        assert (thumb.width, thumb.height) == rendered
    else:  # unknown exactly when the orientation would change the answer
        assert size in ("400x", "x100", "90x")


# -- no I/O ---------------------------------------------------------------------------------------


def test_the_tags_do_no_io(exploding: None) -> None:  # noqa: F811
    queries: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    template = Template(
        "{% load thumbnail %}{% for s in sources %}"
        '{% srcset_image s "400x300 800x600" sizes="50vw" %}'
        '{% picture s "200x150" "smart" densities="1x 2x" %}{% endfor %}'
    )
    sources = [photo(1000, 800) for _ in range(10)]
    with connection.execute_wrapper(record):
        html = template.render(Context({"sources": [p.image for p in sources]}))
    assert queries == []
    assert html.count("<img ") == 20


# -- the Python API and Jinja2 ----------------------------------------------------------------------


def test_python_api() -> None:
    img = srcset("a.jpg", "400x300 800x600", "crop", ".webp", sizes="50vw", class_="a", data_id=1)
    assert isinstance(img, ResponsiveImage)
    assert [t.url for t in img] == [url_of("400x300", ext=".webp"), url_of("800x600", ext=".webp")]
    assert elements(str(img))[0][1]["class"] == "a"
    assert elements(str(img))[0][1]["data-id"] == "1"
    with pytest.raises(TypeError, match="src and srcset"):
        srcset("a.jpg", "10x10", src="other.jpg")
    pic = picture("a.jpg", "400x300 800x600", sizes="50vw", alt="")
    assert isinstance(pic, Picture)
    assert str(pic) == render('{% picture "a.jpg" "400x300 800x600" sizes="50vw" alt="" %}')
    assert str(img) == render(
        '{% srcset_image "a.jpg" "400x300 800x600" "crop" ".webp" sizes="50vw" class="a" data-id=1 %}'
    )


def test_jinja2_environment() -> None:
    from restthumbs.jinja2 import environment

    env = environment(autoescape=True)
    template = env.from_string(
        "{{ thumbnail(src, 'avatar') }}|{{ thumbnail(src, '10x10').width }}|"
        "{{ srcset(src, '400x 800x', 'scale', sizes='50vw', alt=alt) }}|"
        "{{ picture(src, '100x100', class_='c') }}|{{ thumbnail_url(src, '10x10', 'scale') }}"
    )
    with override_settings(THUMBNAILS_PRESETS={"avatar": {"size": "64x64"}}, DEBUG=False):
        out = template.render(src="a.jpg", alt="<&>")
    url, width, img, pic, plain = out.split("|")
    assert url == url_of("64x64")
    assert width == "None"  # unknown without upscaling: see dimensions.py
    assert elements(img)[0][1]["alt"] == "<&>" and "<&>" not in img
    assert pic.startswith('<picture><source type="image/avif"') and 'class="c"' in pic
    assert plain == url_of("10x10", "scale")
    with override_settings(DEBUG=False):
        assert env.from_string("{{ srcset('a.jpg', '0x0') }}").render() == ""
    with override_settings(DEBUG=True), pytest.raises(InvalidSpec):
        env.from_string("{{ picture('a.jpg', '0x0') }}").render()
