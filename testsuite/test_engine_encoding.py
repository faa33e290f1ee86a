"""Encoding (:mod:`restthumbs.engine.encoding`): parameters, alpha, profiles, no metadata.

Each test renders a generated source and decodes the output, as a browser would.
"""

from __future__ import annotations

import io
from unittest import mock

import pytest
from django.test import override_settings
from PIL import Image

from restthumbs.conf import app_settings
from restthumbs.engine import AnimationPolicy
from restthumbs.engine.encoding import ENCODER_OPTIONS, encode

from . import images
from .engine_helpers import (
    ALL_EXTS,
    BLUE,
    FORMATS,
    GREEN,
    RED,
    WHITE,
    alpha,
    ext_param,
    halves,
    near,
    needs_avif,
    px,
    render_bytes,
    render_image,
    srgb_profile,
)


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    return images.jpeg_bytes((640, 480))


# -- formats and parameters ----------------------------------------------------------------


def test_render_jpeg_is_progressive(photo_jpeg: bytes) -> None:
    out = render_image(photo_jpeg, "200x150", "scale", "jpg")
    assert out.info.get("progressive") or out.info.get("progression")


def test_render_jpeg_quality_follows_argument(photo_jpeg: bytes) -> None:
    sizes = [len(render_bytes(photo_jpeg, "300x", "scale", "jpg", quality=q)) for q in (20, 60, 95)]
    assert sizes[0] < sizes[1] < sizes[2]


def test_render_webp_quality_follows_argument(photo_jpeg: bytes) -> None:
    low = render_bytes(photo_jpeg, "300x", "scale", "webp", quality=20)
    high = render_bytes(photo_jpeg, "300x", "scale", "webp", quality=95)
    assert len(low) < len(high)


# -- alpha ---------------------------------------------------------------------------------


def palette_with_transparency() -> bytes:
    """A 'P' PNG: index 0 transparent in the top-left quarter, red elsewhere."""
    im = Image.new("P", (80, 80), 1)
    im.putpalette([0, 255, 0, 255, 0, 0] + [0, 0, 0] * 254)  # 0: green (hidden), 1: red
    im.paste(0, (0, 0, 40, 40))
    data = images.encode(im, "PNG", transparency=0)
    assert Image.open(io.BytesIO(data)).mode == "P"
    return data


def rgba_with_transparent_corner() -> bytes:
    im = Image.new("RGBA", (80, 80), (255, 0, 0, 255))
    im.paste((0, 255, 0, 0), (0, 0, 40, 40))  # green, but fully transparent
    return images.encode(im, "PNG")


def rgb_with_colour_key() -> bytes:
    """An RGB PNG whose tRNS chunk makes pure green transparent."""
    im = Image.new("RGB", (80, 80), RED)
    im.paste(GREEN, (0, 0, 40, 40))
    return images.encode(im, "PNG", transparency=GREEN)


TRANSPARENT_SOURCES = {
    "palette": palette_with_transparency,
    "rgba": rgba_with_transparent_corner,
    "rgb-colour-key": rgb_with_colour_key,
}


@pytest.mark.parametrize("kind", TRANSPARENT_SOURCES)
def test_transparent_source_to_jpeg_is_flattened_on_white(kind: str) -> None:
    out = render_image(TRANSPARENT_SOURCES[kind](), "40x40", "scale", "jpg")
    assert out.mode == "RGB"
    assert near(out.getpixel((3, 3)), WHITE, 6)
    assert near(out.getpixel((36, 36)), RED, 30)


@pytest.mark.parametrize("kind", TRANSPARENT_SOURCES)
@pytest.mark.parametrize("ext", ["png", "webp", ext_param("avif")])
def test_transparent_source_keeps_alpha(kind: str, ext: str) -> None:
    out = render_image(TRANSPARENT_SOURCES[kind](), "40x40", "scale", ext).convert("RGBA")
    assert alpha(out, (3, 3)) <= 5
    assert alpha(out, (36, 36)) >= 250
    assert near(out.getpixel((36, 36)), (*RED, 255), 30)


@pytest.mark.parametrize("kind", TRANSPARENT_SOURCES)
def test_transparent_source_to_gif_keeps_transparency(kind: str) -> None:
    out = render_image(TRANSPARENT_SOURCES[kind](), "40x40", "scale", "gif").convert("RGBA")
    assert alpha(out, (3, 3)) == 0
    assert near(out.getpixel((36, 36)), (*RED, 255), 30)


def la_source() -> bytes:
    im = Image.new("LA", (80, 80), (60, 255))
    im.paste((0, 0), (0, 0, 40, 40))  # black, but fully transparent
    return images.encode(im, "PNG")


def test_la_to_jpeg_is_flattened_on_white() -> None:
    out = render_image(la_source(), "40x40", "scale", "jpg")
    assert near(out.getpixel((3, 3)), WHITE, 5)
    assert near(out.convert("L").getpixel((36, 36)), (60,), 8)


def test_la_to_png_keeps_alpha() -> None:
    out = render_image(la_source(), "40x40", "scale", "png")
    assert out.mode == "LA"
    assert px(out, (3, 3))[1] == 0
    assert near(out.getpixel((36, 36)), (60, 255), 3)


def test_la_to_gif_keeps_transparency() -> None:
    out = render_image(la_source(), "40x40", "scale", "gif").convert("RGBA")
    assert alpha(out, (3, 3)) == 0
    assert near(out.getpixel((36, 36)), (60, 60, 60, 255), 8)


# -- metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ALL_EXTS)
def test_gps_exif_never_reaches_the_output(ext: str) -> None:
    data = images.with_gps(images.photo((320, 240)))
    with Image.open(io.BytesIO(data)) as source:
        assert source.getexif().get_ifd(0x8825)  # the source really has GPS
    raw = render_bytes(data, "100x100", "crop", ext)
    out = Image.open(io.BytesIO(raw))
    out.load()
    assert "exif" not in out.info
    assert not dict(out.getexif())
    assert b"TestCamera" not in raw


def profile_for(colour_space: bytes) -> bytes:
    """An ICC profile whose header declares ``colour_space`` (bytes 16-20)."""
    profile = bytearray(srgb_profile())
    profile[16:20] = colour_space
    return bytes(profile)


def test_cmyk_profile_is_not_attached_to_rgb_output() -> None:
    """The CMYK pixels are converted to RGB: a CMYK ICC profile would misdescribe them."""
    cmyk_profile = profile_for(b"CMYK")
    data = images.encode(halves(RED, BLUE, "RGB").convert("CMYK"), "JPEG", icc_profile=cmyk_profile)
    for ext in ("jpg", "png", "webp"):
        profile = render_image(data, "40x40", "scale", ext).info.get("icc_profile")
        assert not profile or profile[16:20] == b"RGB ", ext


@pytest.mark.parametrize(
    ("ext", "kept"),
    [("jpg", True), ("png", True), ("webp", False), pytest.param("avif", False, marks=needs_avif)],
)
def test_grey_profile_is_kept_only_where_greyscale_is_stored(ext: str, kept: bool) -> None:
    """WEBP and AVIF store greyscale as RGB, where a GRAY profile would not apply."""
    profile = profile_for(b"GRAY")
    data = images.encode(halves(30, 220, "L"), "JPEG", icc_profile=profile)
    out = render_image(data, "40x40", "scale", ext)
    assert (out.info.get("icc_profile") == profile) is kept


# -- encoder parameters and per-format qualities (benchmarks/formats.py) -------------------


@pytest.mark.parametrize("format_name", ["JPEG", "WEBP", pytest.param("AVIF", marks=needs_avif)])
def test_encode_uses_the_format_encoder_options(format_name: str) -> None:
    """encode() writes what Pillow writes with ENCODER_OPTIONS and the quality, no more."""
    im = images.photo((320, 240))
    expected = images.encode(im, format_name, quality=70, **ENCODER_OPTIONS[format_name])
    assert encode(im.copy(), format_name, 70, None) == expected


def test_encoder_options_are_the_measured_ones() -> None:
    """AVIF at Pillow's default speed (6) took ~270 ms for an 800 px thumbnail; 9, ~30 ms."""
    assert ENCODER_OPTIONS["AVIF"] == {"speed": 9}
    assert ENCODER_OPTIONS["WEBP"] == {"method": 4}


@needs_avif
def test_render_avif_quality_follows_argument(photo_jpeg: bytes) -> None:
    low = render_bytes(photo_jpeg, "300x", "scale", "avif", quality=30)
    high = render_bytes(photo_jpeg, "300x", "scale", "avif", quality=90)
    assert len(low) < len(high)


@pytest.mark.parametrize("ext", ["webp", ext_param("avif")])
def test_default_qualities_are_per_format_and_undercut_jpeg(photo_jpeg: bytes, ext: str) -> None:
    """With THUMBNAILS_QUALITY unset (the test settings), WebP and AVIF get their own
    quality, lower than JPEG's, and make smaller files than JPEG at its default."""
    jpeg_quality = app_settings.quality_for("JPEG")
    quality = app_settings.quality_for(FORMATS[ext])
    assert quality < jpeg_quality == 85
    jpeg = render_bytes(photo_jpeg, "300x", "scale", "jpg", quality=jpeg_quality)
    assert len(render_bytes(photo_jpeg, "300x", "scale", ext, quality=quality)) < len(jpeg)


@pytest.mark.parametrize("ext", ["jpg", "webp", ext_param("avif")])
def test_an_int_quality_setting_is_every_formats_quality(ext: str) -> None:
    with override_settings(THUMBNAILS_QUALITY=40):
        assert app_settings.quality_for(FORMATS[ext]) == 40


def test_animated_webp_takes_the_still_webp_parameters() -> None:
    """One table of WebP parameters: a kept animation is encoded with it too."""
    frames = [images.photo((60, 40), seed=seed) for seed in (1, 90, 180)]
    data = images.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    policy = AnimationPolicy(keep=True)
    lossy = render_bytes(data, "30x20", "scale", "webp", quality=10, animation=policy)
    with mock.patch.dict(ENCODER_OPTIONS["WEBP"], {"lossless": True}):
        lossless = render_bytes(data, "30x20", "scale", "webp", quality=10, animation=policy)
    assert Image.open(io.BytesIO(lossless)).n_frames == Image.open(io.BytesIO(lossy)).n_frames == 3
    assert len(lossless) > len(lossy)
