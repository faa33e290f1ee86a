"""Colour management, the premultiplied alpha fast path and the animation policy.

Covers :func:`restthumbs.processors.to_srgb`, :func:`~restthumbs.processors.resample`
and :class:`~restthumbs.processors.AnimationPolicy` end to end: real JPEG/PNG/GIF/WebP
sources generated here go through ``processors.render`` (or the view), and the tests
look at the output's bytes, pixels, frames and embedded profile.

The wide-gamut ICC profile is written by hand (see :func:`wide_rgb_profile`), so the
colour tests need no profile file on disk. The only spy wraps ``Image.reduce``
(calling the original) to show which resampling path ran.
"""

from __future__ import annotations

import io
import itertools
import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageSequence, ImageStat

from restthumbs import thumbnail_url
from restthumbs.exceptions import BadSourceImage
from restthumbs.processors import FIRST_FRAME, AnimationPolicy, render
from restthumbs.spec import build_spec

from . import images
from .utils import body, files_under

RED = (255, 0, 0)
GREEN = (0, 160, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

KEEP = AnimationPolicy(keep=True)


# -- helpers --------------------------------------------------------------------


def encode(im: Image.Image, format_name: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format_name, **params)
    return buffer.getvalue()


def render_bytes(
    data: bytes, size: str, method: str = "crop", ext: str = "png", **kwargs: Any
) -> bytes:
    return render(io.BytesIO(data), build_spec("src/image", size, method, ext), **kwargs)


def render_image(
    data: bytes, size: str, method: str = "crop", ext: str = "png", **kwargs: Any
) -> Image.Image:
    """Render and decode the output: the tests look at what a browser would get."""
    out = Image.open(io.BytesIO(render_bytes(data, size, method, ext, **kwargs)))
    out.load()
    return out


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference of two images of the same size and mode."""
    assert a.size == b.size and a.mode == b.mode
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / len(a.getbands())


def max_difference(a: Image.Image, b: Image.Image) -> int:
    assert a.size == b.size and a.mode == b.mode
    extrema = cast(tuple[tuple[int, int], ...], ImageChops.difference(a, b).getextrema())
    return max(high for _, high in extrema)


def near(pixel: Any, colour: tuple[int, ...], tolerance: int = 40) -> bool:
    values = pixel if isinstance(pixel, tuple) else (pixel,)
    return len(values) == len(colour) and all(
        abs(a - b) <= tolerance for a, b in zip(values, colour, strict=True)
    )


# -- a hand-written ICC profile ----------------------------------------------------
#
# A v2 "matrix/TRC" display profile, the simplest kind there is: header, tag table,
# tags. The primaries are Adobe RGB (1998)'s, Bradford-adapted to D50 as ICC requires;
# the tone curve is a single gamma. Layout: ICC.1:2001-04, sections 6 (header) and 6.5
# (tag types).


def _s15fixed16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15fixed16(x) + _s15fixed16(y) + _s15fixed16(z)


def _desc_tag(text: str) -> bytes:
    """textDescriptionType: ASCII with its NUL, then empty Unicode and ScriptCode parts."""
    ascii_text = text.encode("ascii") + b"\0"
    return (
        b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(4 + 4 + 3 + 67)
    )


def _gamma_tag(gamma: float) -> bytes:
    """curveType with one entry: a pure gamma, as u8Fixed8Number."""
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))


def _text_tag(text: str) -> bytes:
    return b"text" + bytes(4) + text.encode("ascii") + b"\0"


def wide_rgb_profile(description: str = "Test Wide RGB") -> bytes:
    d50 = (0.9642, 1.0, 0.8249)
    gamma = _gamma_tag(2.2)
    tags = [
        (b"desc", _desc_tag(description)),
        (b"wtpt", _xyz_tag(*d50)),
        (b"rXYZ", _xyz_tag(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", _xyz_tag(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", _xyz_tag(0.1492, 0.0632, 0.7446)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
        (b"cprt", _text_tag("No copyright, test data")),
    ]
    data_start = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, tag in tags:
        tag += bytes(-len(tag) % 4)  # each tag starts on a 4-byte boundary
        table += signature + struct.pack(">II", data_start + len(data), len(tag))
        data += tag
    header = (
        struct.pack(">I", data_start + len(data))  # profile size
        + b"lcms"  # preferred CMM
        + bytes([2, 0x10, 0, 0])  # version 2.1
        + b"mntrRGB XYZ "  # class 'mntr', colour space 'RGB ', PCS 'XYZ '
        + bytes(12)  # creation date
        + b"acsp"  # the file signature
        + bytes(4 + 4 + 4 + 4 + 8 + 4)  # platform, flags, maker, model, attributes, intent
        + b"".join(_s15fixed16(v) for v in d50)  # PCS illuminant
        + bytes(4 + 16 + 28)  # creator, profile id, reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


@pytest.fixture(scope="module")
def wide() -> bytes:
    return wide_rgb_profile()


@pytest.fixture(scope="module")
def wide_cms(wide: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(wide))


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def to_srgb_reference(im: Image.Image, wide_cms: ImageCms.ImageCmsProfile) -> Image.Image:
    """What a colour-managed viewer shows for ``im`` tagged with the wide profile."""
    converted = ImageCms.profileToProfile(im, wide_cms, ImageCms.createProfile("sRGB"))
    assert converted is not None
    return converted


def junk(length: int = 600, seed: int = 5, space: bytes | None = None) -> bytes:
    """Random bytes; with ``space``, a header that claims that colour space and 'acsp'."""
    data = bytearray(random.Random(seed).randbytes(length))
    if space is not None:
        data[0:4] = struct.pack(">I", length)
        data[16:20] = space
        data[36:40] = b"acsp"
    return bytes(data)


# -- colour: the profile builder ---------------------------------------------------


def test_hand_written_profile_is_a_valid_wide_rgb_profile(
    wide_cms: ImageCms.ImageCmsProfile,
) -> None:
    assert ImageCms.getProfileDescription(wide_cms).strip() == "Test Wide RGB"
    assert wide_cms.profile.device_class == "mntr"
    assert wide_cms.profile.xcolor_space == "RGB "
    assert wide_cms.profile.connection_space == "XYZ "
    assert wide_cms.profile.is_matrix_shaper
    # Wider than sRGB: a mid green in it is more saturated than sRGB can say as the
    # same numbers, so converting moves the pixel (red drops to about 0).
    converted = to_srgb_reference(Image.new("RGB", (1, 1), (60, 180, 60)), wide_cms)
    red, green, _ = converted.getpixel((0, 0))  # type: ignore[misc]
    assert red <= 10 and abs(green - 180) <= 5


# -- colour: through render ---------------------------------------------------------------


def green_source() -> Image.Image:
    """160x120, mostly a saturated green, with an orange and a grey band for other hues."""
    im = Image.new("RGB", (160, 120), (40, 190, 70))
    im.paste((220, 120, 40), (0, 80, 160, 100))
    im.paste((128, 128, 128), (0, 100, 160, 120))
    return im


@pytest.mark.parametrize("ext", ["png", "jpg", "webp"])
@pytest.mark.parametrize("source_format", ["PNG", "JPEG"])
def test_wide_gamut_source_is_converted_to_srgb(
    wide: bytes, wide_cms: ImageCms.ImageCmsProfile, source_format: str, ext: str
) -> None:
    plain = encode(green_source(), source_format, quality=95)
    tagged = encode(green_source(), source_format, quality=95, icc_profile=wide)
    untransformed = render_image(plain, "80x60", "scale", ext).convert("RGB")
    expected = to_srgb_reference(untransformed, wide_cms)

    out = render_image(tagged, "80x60", "scale", ext)
    assert not out.info.get("icc_profile")  # sRGB pixels, untagged: what browsers assume
    assert out.mode == "RGB" and out.size == (80, 60)
    if ext == "png":  # lossless output: the same transform as ImageCms, to a unit
        assert max_difference(out, expected) <= 1
    else:  # lossy output: each side carries its own encoding noise
        assert mean_difference(out, expected) <= 3
    assert mean_difference(out, untransformed) >= 10
    red, green, _ = out.getpixel((40, 20))  # type: ignore[misc]
    assert red <= 15 and 170 <= green <= 215  # the green lost its red: it was converted


@pytest.mark.parametrize("ext", ["png", "jpg"])
@pytest.mark.parametrize("source_format", ["PNG", "JPEG"])
def test_srgb_tagged_source_keeps_its_profile_and_pixels(source_format: str, ext: str) -> None:
    profile = srgb_profile()
    plain = encode(green_source(), source_format, quality=95)
    tagged = encode(green_source(), source_format, quality=95, icc_profile=profile)
    out = render_image(tagged, "80x60", "scale", ext)
    assert out.info.get("icc_profile") == profile
    assert out.tobytes() == render_image(plain, "80x60", "scale", ext).tobytes()


CMYK_PATCHES = [
    # (CMYK ink, the RGB it looks like)
    ((255, 0, 0, 0), (0, 255, 255)),
    ((0, 255, 0, 0), (255, 0, 255)),
    ((0, 0, 255, 0), (255, 255, 0)),
    ((0, 0, 0, 255), BLACK),
]


def cmyk_jpeg(icc_profile: bytes | None = None) -> bytes:
    """A 160x40 CMYK JPEG of four patches: cyan, magenta, yellow, black."""
    im = Image.new("CMYK", (160, 40))
    for i, (ink, _) in enumerate(CMYK_PATCHES):
        im.paste(ink, (40 * i, 0, 40 * i + 40, 40))
    params: dict[str, Any] = {"quality": 95}
    if icc_profile is not None:
        params["icc_profile"] = icc_profile
    data = encode(im, "JPEG", **params)
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == "CMYK"
        assert check.info.get("icc_profile") == icc_profile
    return data


def check_cmyk_patches(out: Image.Image) -> None:
    rgb = out.convert("RGB")
    for i, (_, colour) in enumerate(CMYK_PATCHES):
        assert near(rgb.getpixel((20 * i + 10, 10)), colour), (i, rgb.getpixel((20 * i + 10, 10)))


@pytest.mark.parametrize("ext", ["png", "webp", "jpg"])
def test_cmyk_jpeg_without_profile_becomes_untagged_rgb(ext: str) -> None:
    out = render_image(cmyk_jpeg(), "80x20", "scale", ext)
    assert out.mode == "RGB" and out.size == (80, 20)
    assert not out.info.get("icc_profile")
    check_cmyk_patches(out)


UNUSABLE_CMYK_PROFILES: dict[str, Callable[[], bytes]] = {
    "random bytes": lambda: junk(700, seed=11),
    "junk claiming CMYK": lambda: junk(700, seed=12, space=b"CMYK"),
    "an RGB profile on CMYK pixels": wide_rgb_profile,
}


@pytest.mark.parametrize("ext", ["png", "jpg"])
@pytest.mark.parametrize("kind", UNUSABLE_CMYK_PROFILES)
def test_cmyk_jpeg_with_unusable_profile_converts_plainly(kind: str, ext: str) -> None:
    """An unreadable or mismatched profile is ignored: the same naive CMYK->RGB, nothing embedded."""
    out = render_image(cmyk_jpeg(UNUSABLE_CMYK_PROFILES[kind]()), "80x20", "scale", ext)
    assert out.mode == "RGB"
    assert not out.info.get("icc_profile")
    check_cmyk_patches(out)
    if ext == "png":
        assert out.tobytes() == render_image(cmyk_jpeg(), "80x20", "scale", ext).tobytes()


def translucent_green() -> Image.Image:
    """RGBA: the green source under an alpha ramp, with a fully transparent corner."""
    im = green_source().convert("RGBA")
    im.putalpha(Image.linear_gradient("L").rotate(90).resize(im.size))
    im.paste((255, 0, 255, 0), (0, 0, 40, 30))
    return im


def test_rgba_png_with_wide_profile_converts_rgb_and_keeps_alpha_exactly(
    wide: bytes, wide_cms: ImageCms.ImageCmsProfile
) -> None:
    plain = render_image(encode(translucent_green(), "PNG"), "80x60", "scale", "png")
    out = render_image(
        encode(translucent_green(), "PNG", icc_profile=wide), "80x60", "scale", "png"
    )
    assert out.mode == plain.mode == "RGBA"
    assert not out.info.get("icc_profile")
    assert out.getchannel("A").tobytes() == plain.getchannel("A").tobytes()
    low, high = cast(tuple[int, int], out.getchannel("A").getextrema())
    assert low == 0 and high >= 250  # a real range of alpha, transparent corner included
    expected = to_srgb_reference(plain.convert("RGB"), wide_cms)
    assert max_difference(out.convert("RGB"), expected) <= 1
    assert mean_difference(out.convert("RGB"), plain.convert("RGB")) >= 10


def photo_png(**params: Any) -> bytes:
    return encode(images.photo((240, 180)), "PNG", **params)


JUNK_RGB_PROFILES: dict[str, Callable[[], bytes]] = {
    "random bytes": lambda: junk(500, seed=3),
    "junk claiming RGB": lambda: junk(500, seed=4, space=b"RGB "),
    "truncated wide profile": lambda: wide_rgb_profile()[:200],
}


@pytest.mark.parametrize("ext", ["png", "jpg", "webp"])
@pytest.mark.parametrize("kind", JUNK_RGB_PROFILES)
def test_junk_profile_on_rgb_source_is_dropped(kind: str, ext: str) -> None:
    profile = JUNK_RGB_PROFILES[kind]()
    with pytest.raises(OSError):
        ImageCms.ImageCmsProfile(io.BytesIO(profile))  # really unreadable
    source = photo_png(icc_profile=profile)
    out = render_image(source, "80x60", "crop", ext)
    assert out.size == (80, 60) and out.mode == "RGB"
    assert not out.info.get("icc_profile")
    if ext == "png":
        assert out.tobytes() == render_image(photo_png(), "80x60", "crop", ext).tobytes()


# -- the alpha fast path ---------------------------------------------------------------------


class ReduceSpy:
    """Records ``(mode, size, factor)`` of every ``Image.reduce`` call; calls the real one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, tuple[int, int], int]] = []
        original = Image.Image.reduce

        def reduce(im: Image.Image, factor: Any, box: Any = None) -> Image.Image:
            smallest = min(factor) if isinstance(factor, (tuple, list)) else factor
            self.calls.append((im.mode, im.size, smallest))
            return original(im, factor, box)

        monkeypatch.setattr(Image.Image, "reduce", reduce)

    def premultiplied(self) -> list[int]:
        """Factors of the reductions that ran on premultiplied (RGBa/La) pixels."""
        return [factor for mode, _, factor in self.calls if mode in ("RGBa", "La")]


@pytest.fixture
def reduce_spy(monkeypatch: pytest.MonkeyPatch) -> ReduceSpy:
    return ReduceSpy(monkeypatch)


def alpha_source(mode: str = "RGBA") -> Image.Image:
    """1600x1200 in thirds: transparent (green under alpha 0), half-transparent red, opaque.

    The opaque third is blue with a yellow disc, so there is detail to resample. A
    resampler that does not premultiply blends the hidden green into the red edge.
    """
    im = Image.new("RGBA", (1600, 1200), (0, 255, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.rectangle((533, 0, 1066, 1199), fill=(255, 0, 0, 128))
    draw.rectangle((1067, 0, 1599, 1199), fill=(0, 0, 255, 255))
    draw.ellipse((1150, 300, 1500, 900), fill=(255, 255, 0, 255))
    return im if mode == "RGBA" else im.convert(mode)


@pytest.fixture(scope="module")
def alpha_png() -> bytes:
    return encode(alpha_source(), "PNG")


@pytest.mark.parametrize(
    ("size", "method", "box"),
    [
        ("200x200", "scale", (0, 0, 1600, 1200)),
        ("100x100", "crop", (200, 0, 1400, 1200)),
        ("160x40", "crop", (0, 400, 1600, 800)),
    ],
)
def test_large_rgba_source_is_reduced_and_matches_a_full_lanczos(
    alpha_png: bytes,
    reduce_spy: ReduceSpy,
    size: str,
    method: str,
    box: tuple[float, float, float, float],
) -> None:
    out = render_image(alpha_png, size, method, "png")
    assert out.mode == "RGBA"
    assert reduce_spy.premultiplied(), reduce_spy.calls
    assert min(reduce_spy.premultiplied()) >= 2
    # The reference: Pillow's premultiplied LANCZOS over every pixel, no reduce() step.
    reference = alpha_source().resize(out.size, Image.Resampling.LANCZOS, box=box)
    assert mean_difference(out, reference) <= 1.0


def test_large_la_source_takes_the_fast_path_too(reduce_spy: ReduceSpy) -> None:
    source = alpha_source("LA")
    out = render_image(encode(source, "PNG"), "200x200", "scale", "png")
    assert out.mode == "LA" and out.size == (200, 150)
    assert reduce_spy.premultiplied() and min(reduce_spy.premultiplied()) >= 2
    reference = source.resize(out.size, Image.Resampling.LANCZOS)
    assert mean_difference(out, reference) <= 1.0


def test_alpha_fast_path_keeps_transparency_and_undarkened_edges(
    alpha_png: bytes, reduce_spy: ReduceSpy
) -> None:
    out = render_image(alpha_png, "400x400", "scale", "png")
    assert out.size == (400, 300)
    assert reduce_spy.premultiplied() and min(reduce_spy.premultiplied()) >= 2
    # Columns 0-132 come from the transparent third (533 px / 4), 134-265 from the red.
    transparent = out.crop((0, 0, 128, 300))
    assert transparent.getchannel("A").getextrema() == (0, 0)
    red_band = out.crop((120, 0, 262, 300))
    checked = 0
    for r, g, b, a in red_band.get_flattened_data():  # type: ignore[misc]
        if a >= 16:  # where a viewer can see it at all, it is red, not dark red or green
            assert r >= 240 and g <= 12 and b <= 12, (r, g, b, a)
            checked += 1
    assert checked >= 120 * 300  # the whole band but the transparent edge
    assert near(out.getpixel((200, 150)), (255, 0, 0, 128), 2)


# -- animation: sources --------------------------------------------------------------------

FRAME_COLOURS = [RED, GREEN, BLUE, YELLOW]
DURATIONS = [100, 200, 150, 300]  # GIF stores centiseconds: multiples of 10 survive
LOOP = 3
SQUARE = 30  # the moving white square's side; its left edge is at 10 + 30 * frame


def animation_frames(count: int = 4, size: tuple[int, int] = (160, 120)) -> list[Image.Image]:
    """Distinct solid colours, with a white square moving right by 30 px each frame."""
    frames = []
    for i in range(count):
        im = Image.new("RGB", size, FRAME_COLOURS[i % len(FRAME_COLOURS)])
        left = (10 + SQUARE * i) % max(1, size[0] - SQUARE)
        im.paste(WHITE, (left, 40, left + SQUARE, 40 + SQUARE))
        frames.append(im)
    return frames


def animated(
    format_name: str, count: int = 4, size: tuple[int, int] = (160, 120), **params: Any
) -> bytes:
    frames = animation_frames(count, size)
    params.setdefault("duration", DURATIONS[:count] if count <= len(DURATIONS) else 100)
    params.setdefault("loop", LOOP)
    data = encode(frames[0], format_name, save_all=True, append_images=frames[1:], **params)
    with Image.open(io.BytesIO(data)) as check:
        assert check.format == format_name and check.n_frames == count  # type: ignore[attr-defined]
    return data


def decoded_frames(data: bytes) -> tuple[Image.Image, list[tuple[Image.Image, int | None]]]:
    """The output image and each frame as (RGB copy, duration in ms)."""
    im = Image.open(io.BytesIO(data))
    frames = []
    for frame in ImageSequence.Iterator(im):
        frame.load()
        frames.append((frame.convert("RGB"), frame.info.get("duration")))
    return im, frames


def frame_count(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as im:
        return int(getattr(im, "n_frames", 1))


def white_bbox(frame: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of the (near-)white pixels: where the square is."""
    r, g, b = frame.split()
    lowest = ImageChops.darker(ImageChops.darker(r, g), b)
    return lowest.point(lambda v: 255 if v >= 200 else 0).getbbox()


def expected_square(
    index: int, box: tuple[float, float, float, float], size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """Where frame ``index``'s square lands in an output of ``size`` showing ``box``."""
    left, top, right, bottom = box
    sx, sy = size[0] / (right - left), size[1] / (bottom - top)
    x0, y0 = 10 + SQUARE * index, 40
    return (
        max(0.0, (x0 - left) * sx),
        max(0.0, (y0 - top) * sy),
        min(size[0], (x0 + SQUARE - left) * sx),
        min(size[1], (y0 + SQUARE - top) * sy),
    )


@pytest.fixture(scope="module")
def anim_gif() -> bytes:
    return animated("GIF")


@pytest.fixture(scope="module")
def anim_webp() -> bytes:
    return animated("WEBP", lossless=True)


# -- animation: the default keeps the first frame ---------------------------------------


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "gif"])
def test_default_policy_gives_first_frame_of_animated_webp(anim_webp: bytes, ext: str) -> None:
    data = render_bytes(anim_webp, "80x80", "crop", ext)
    assert render_bytes(anim_webp, "80x80", "crop", ext, animation=FIRST_FRAME) == data
    assert frame_count(data) == 1
    out = Image.open(io.BytesIO(data)).convert("RGB")
    assert out.size == (80, 80)
    assert near(out.getpixel((70, 5)), RED, 12)
    assert white_bbox(out) is not None  # the first frame's square, not a blank


# -- animation: kept ----------------------------------------------------------------------

CROP_BOX = (20.0, 0.0, 140.0, 120.0)  # 160x120 -> 80x80 crop


@pytest.mark.parametrize(
    ("source_format", "ext", "out_format"),
    [
        ("GIF", "gif", "GIF"),
        ("GIF", "webp", "WEBP"),
        ("WEBP", "webp", "WEBP"),
        ("WEBP", "gif", "GIF"),
        ("PNG", "gif", "GIF"),  # APNG
    ],
)
def test_kept_animation_has_every_frame_with_timing_and_colours(
    source_format: str, ext: str, out_format: str
) -> None:
    params: dict[str, Any] = {"lossless": True} if source_format == "WEBP" else {}
    source = animated(source_format, **params)
    out, frames = decoded_frames(render_bytes(source, "80x80", "crop", ext, animation=KEEP))
    assert out.format == out_format
    assert getattr(out, "is_animated", False) and len(frames) == 4
    assert out.info.get("loop") == LOOP
    assert [duration for _, duration in frames] == DURATIONS
    for i, (frame, _) in enumerate(frames):
        assert frame.size == (80, 80)
        assert near(frame.getpixel((75, 75)), FRAME_COLOURS[i], 12), i
        assert white_bbox(frame) == pytest.approx(expected_square(i, CROP_BOX, (80, 80)), abs=2), i


@pytest.mark.parametrize("ext", ["gif", "webp"])
@pytest.mark.parametrize(
    ("size", "method", "expected_size", "box"),
    [
        ("80x80", "crop", (80, 80), CROP_BOX),
        ("80x80", "scale", (80, 60), (0.0, 0.0, 160.0, 120.0)),
        ("40x", "crop", (40, 30), (0.0, 0.0, 160.0, 120.0)),
        ("x60", "scale", (80, 60), (0.0, 0.0, 160.0, 120.0)),
    ],
)
def test_kept_animation_crop_and_scale_geometry(
    anim_gif: bytes,
    ext: str,
    size: str,
    method: str,
    expected_size: tuple[int, int],
    box: tuple[float, float, float, float],
) -> None:
    _, frames = decoded_frames(render_bytes(anim_gif, size, method, ext, animation=KEEP))
    assert len(frames) == 4
    for i, (frame, _) in enumerate(frames):
        assert frame.size == expected_size
        square = white_bbox(frame)
        assert square == pytest.approx(expected_square(i, box, expected_size), abs=2), i


@pytest.mark.parametrize("ext", ["gif", "webp"])
def test_kept_animation_smart_uses_the_first_frames_box_for_all(anim_gif: bytes, ext: str) -> None:
    """The first frame's square is at the left edge: crop cuts it, smart keeps it whole."""
    _, smart = decoded_frames(render_bytes(anim_gif, "80x80", "smart", ext, animation=KEEP))
    _, crop = decoded_frames(render_bytes(anim_gif, "80x80", "crop", ext, animation=KEEP))
    assert len(smart) == len(crop) == 4
    boxes = [white_bbox(frame) for frame, _ in smart]
    assert all(frame.size == (80, 80) for frame, _ in smart)
    assert all(box is not None for box in boxes)
    first = boxes[0]
    assert first is not None and first[2] - first[0] >= 19  # all 30 px of it, at 1/1.5
    crop_first = white_bbox(crop[0][0])
    assert crop_first is not None and crop_first[2] - crop_first[0] <= 14  # 10 px cut off
    # One box for every frame: the square moves by the same 20 px in the output.
    lefts = [box[0] for box in boxes if box is not None]
    assert [b - a for a, b in itertools.pairwise(lefts)] == pytest.approx([20] * 3, abs=2)


@pytest.mark.parametrize("ext", ["gif", "webp"])
def test_gif_without_loop_extension_still_plays_once(ext: str) -> None:
    frames = animation_frames()
    source = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    with Image.open(io.BytesIO(source)) as check:
        assert "loop" not in check.info  # no NETSCAPE extension: browsers play it once
    out, frames_out = decoded_frames(render_bytes(source, "80x80", "crop", ext, animation=KEEP))
    assert len(frames_out) == 4
    if ext == "gif":
        assert "loop" not in out.info
    else:
        assert out.info.get("loop") == 1  # WebP's "play once"; 0 would be forever


@pytest.mark.parametrize("ext", ["jpg", "png"])
def test_keep_with_a_still_output_format_gives_first_frame(anim_gif: bytes, ext: str) -> None:
    data = render_bytes(anim_gif, "80x80", "crop", ext, animation=KEEP)
    assert data == render_bytes(anim_gif, "80x80", "crop", ext)
    assert frame_count(data) == 1
    assert near(Image.open(io.BytesIO(data)).convert("RGB").getpixel((75, 75)), RED, 12)


@pytest.mark.parametrize(("max_frames", "expected"), [(3, 1), (4, 4), (100, 4)])
def test_max_frames_budget(anim_gif: bytes, max_frames: int, expected: int) -> None:
    policy = AnimationPolicy(keep=True, max_frames=max_frames)
    data = render_bytes(anim_gif, "80x80", "crop", "gif", animation=policy)
    assert frame_count(data) == expected
    assert near(Image.open(io.BytesIO(data)).convert("RGB").getpixel((75, 75)), RED, 12)


@pytest.mark.parametrize(("max_pixels", "expected"), [(4 * 160 * 120 - 1, 1), (4 * 160 * 120, 4)])
def test_max_pixels_budget_counts_frames_times_source_pixels(
    anim_gif: bytes, max_pixels: int, expected: int
) -> None:
    policy = AnimationPolicy(keep=True, max_pixels=max_pixels)
    assert (
        frame_count(render_bytes(anim_gif, "80x80", "crop", "webp", animation=policy)) == expected
    )


@pytest.mark.parametrize("ext", ["gif", "webp"])
@pytest.mark.parametrize("source_format", ["GIF", "WEBP", "PNG"])
def test_still_source_is_unaffected_by_keep(source_format: str, ext: str) -> None:
    source = encode(animation_frames(1)[0], source_format)
    kept = render_bytes(source, "80x80", "crop", ext, animation=KEEP)
    assert kept == render_bytes(source, "80x80", "crop", ext)
    assert frame_count(kept) == 1


def multi_image(format_name: str) -> bytes:
    """A 400x300 red primary image followed by a smaller blue one (preview, page 2)."""
    extra = {"compression": None} if format_name == "TIFF" else {}
    primary = Image.new("RGB", (400, 300), RED)
    data = encode(
        primary,
        format_name,
        save_all=True,
        append_images=[Image.new("RGB", (160, 120), BLUE)],
        **extra,
    )
    with Image.open(io.BytesIO(data)) as check:
        assert check.format == format_name and check.n_frames == 2  # type: ignore[attr-defined]
    return data


@pytest.mark.parametrize("ext", ["gif", "webp"])
@pytest.mark.parametrize("source_format", ["MPO", "TIFF"])
def test_multi_image_stills_are_not_animations(source_format: str, ext: str) -> None:
    """An MPO's preview or a TIFF's second page is not a frame: keep renders the primary."""
    data = render_bytes(multi_image(source_format), "100x100", "crop", ext, animation=KEEP)
    assert frame_count(data) == 1
    out = Image.open(io.BytesIO(data)).convert("RGB")
    assert out.size == (100, 100)
    assert near(out.getpixel((50, 50)), RED, 12)


# -- animation: truncated sources ------------------------------------------------------------


def gif_frame_offsets(data: bytes) -> tuple[list[int], list[int]]:
    """Per frame: where its graphic control extension starts, and where its pixel data starts."""
    extensions = []
    position = data.find(b"!\xf9\x04")
    while position != -1:
        extensions.append(position)
        position = data.find(b"!\xf9\x04", position + 1)
    pixels = []
    with Image.open(io.BytesIO(data)) as im:
        for index in range(im.n_frames):  # type: ignore[attr-defined]
            im.seek(index)
            pixels.append(im.tile[0][2])
    return extensions, pixels


@pytest.mark.parametrize("where", ["frame header", "frame pixels"])
def test_truncated_animated_gif_is_refused(anim_gif: bytes, where: str) -> None:
    extensions, pixels = gif_frame_offsets(anim_gif)
    assert len(extensions) == len(pixels) == 4
    cut = extensions[2] + 1 if where == "frame header" else (pixels[2] + pixels[3]) // 2
    with pytest.raises(BadSourceImage):
        render_bytes(anim_gif[:cut], "80x80", "crop", "gif", animation=KEEP)


def test_every_truncation_of_an_animated_gif_renders_or_is_refused(anim_gif: bytes) -> None:
    """Cut anywhere after the first frame: a clean shorter animation or BadSourceImage."""
    _, pixels = gif_frame_offsets(anim_gif)
    outcomes: set[str] = set()
    for cut in range(pixels[1] - 40, len(anim_gif)):
        try:
            data = render_bytes(anim_gif[:cut], "80x80", "crop", "webp", animation=KEEP)
        except BadSourceImage:
            outcomes.add("refused")
            continue
        _, frames = decoded_frames(data)
        assert 1 <= len(frames) <= 4 and all(f.size == (80, 80) for f, _ in frames)
        outcomes.add("rendered")
    assert "refused" in outcomes


# -- through the view --------------------------------------------------------------------


@pytest.fixture
def gif_source(write_source: Callable[..., Path], anim_gif: bytes) -> str:
    write_source("anim/clip.gif", anim_gif)
    return "anim/clip.gif"


def get_thumbnail(client: Any, source: str, ext: str = ".gif") -> Any:
    return client.get(thumbnail_url(source, "80x80", "crop", ext))


def test_view_keeps_animation_when_enabled(client: Any, gif_source: str, thumbs_dir: Path) -> None:
    with override_settings(THUMBNAILS_KEEP_ANIMATION=True):
        response = get_thumbnail(client, gif_source)
        content = body(response)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    out, frames = decoded_frames(content)
    assert out.format == "GIF" and len(frames) == 4
    assert [d for _, d in frames] == DURATIONS
    stored = files_under(thumbs_dir)
    assert len(stored) == 1 and (thumbs_dir / stored[0]).read_bytes() == content


def test_view_gives_a_single_frame_by_default(client: Any, gif_source: str) -> None:
    response = get_thumbnail(client, gif_source)
    assert response.status_code == 200
    assert frame_count(body(response)) == 1


@pytest.mark.parametrize(
    "budget",
    [
        {"THUMBNAILS_MAX_ANIMATION_FRAMES": 3},
        {"THUMBNAILS_MAX_ANIMATION_PIXELS": 4 * 160 * 120 - 1},
    ],
)
def test_view_applies_the_animation_budgets(
    client: Any, gif_source: str, budget: dict[str, int]
) -> None:
    with override_settings(THUMBNAILS_KEEP_ANIMATION=True, **budget):
        response = get_thumbnail(client, gif_source, ".webp")
        content = body(response)
    assert response.status_code == 200
    assert frame_count(content) == 1


@pytest.mark.parametrize(("count", "expected"), [(100, 100), (101, 1)])
def test_view_default_frame_budget_is_100(
    client: Any, write_source: Callable[..., Path], count: int, expected: int
) -> None:
    write_source("anim/long.gif", animated("GIF", count=count, size=(48, 40)))
    with override_settings(THUMBNAILS_KEEP_ANIMATION=True):
        response = get_thumbnail(client, "anim/long.gif")
        content = body(response)
    assert response.status_code == 200
    assert frame_count(content) == expected


@pytest.mark.parametrize("where", ["frame header", "frame pixels"])
def test_view_truncated_animated_gif_is_4xx_and_writes_nothing(
    client: Any, write_source: Callable[..., Path], anim_gif: bytes, thumbs_dir: Path, where: str
) -> None:
    extensions, pixels = gif_frame_offsets(anim_gif)
    cut = extensions[2] + 1 if where == "frame header" else (pixels[2] + pixels[3]) // 2
    write_source("anim/broken.gif", anim_gif[:cut])
    with override_settings(THUMBNAILS_KEEP_ANIMATION=True):
        response = get_thumbnail(client, "anim/broken.gif")
    assert response.status_code == 422, body(response)
    assert response["Cache-Control"] == "no-store"
    assert files_under(thumbs_dir) == []


# -- system checks --------------------------------------------------------------------------


def restthumbs_messages(**overrides: Any) -> list[Any]:
    with override_settings(**overrides):
        return [m for m in run_checks() if str(m.id).startswith("restthumbs.")]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("THUMBNAILS_MAX_ANIMATION_FRAMES", 0),
        ("THUMBNAILS_MAX_ANIMATION_FRAMES", "100"),
        ("THUMBNAILS_MAX_ANIMATION_PIXELS", -1),
        ("THUMBNAILS_MAX_ANIMATION_PIXELS", 1.5e7),
    ],
)
def test_bad_animation_budgets_are_e005(setting: str, value: Any) -> None:
    messages = restthumbs_messages(**{setting: value})
    assert [m.id for m in messages] == ["restthumbs.E005"]
    assert setting in messages[0].msg


def test_small_valid_animation_budgets_pass_the_checks() -> None:
    assert (
        restthumbs_messages(
            THUMBNAILS_KEEP_ANIMATION=True,
            THUMBNAILS_MAX_ANIMATION_FRAMES=1,
            THUMBNAILS_MAX_ANIMATION_PIXELS=1,
        )
        == []
    )
