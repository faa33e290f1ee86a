"""Colour (:mod:`restthumbs.engine.colour`): sRGB profiles kept, others converted to sRGB.

Real JPEG/PNG sources generated here go through :func:`restthumbs.engine.render`, and
the tests look at the output's pixels and embedded profile. The wide-gamut ICC
profile is written by hand (see :func:`wide_rgb_profile`), so the colour tests need
no profile file on disk.
"""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Callable
from typing import Any, cast

import pytest
from PIL import Image, ImageCms

from . import images
from .engine_helpers import (
    BLACK,
    BLUE,
    RED,
    ext_param,
    halves,
    max_difference,
    mean_difference,
    near,
    render_image,
    srgb_profile,
)
from .images import encode


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    return images.jpeg_bytes((640, 480))


# -- a hand-written ICC profile ------------------------------------------------------------


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


# -- colour: the profile builder -----------------------------------------------------------


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


# -- colour: through render ----------------------------------------------------------------


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", ext_param("avif")])
@pytest.mark.parametrize("source_format", ["JPEG", "PNG"])
def test_icc_profile_is_kept(source_format: str, ext: str) -> None:
    profile = srgb_profile()
    data = images.encode(images.photo((160, 120)), source_format, icc_profile=profile)
    out = render_image(data, "50x50", "crop", ext)
    assert out.info.get("icc_profile") == profile


def test_no_icc_profile_in_means_none_out(photo_jpeg: bytes) -> None:
    for ext in ("jpg", "png", "webp"):
        assert not render_image(photo_jpeg, "50x50", "crop", ext).info.get("icc_profile")


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


def test_cmyk_jpeg_becomes_rgb_with_its_colours() -> None:
    source = halves(RED, BLUE, "RGB").convert("CMYK")
    data = images.encode(source, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = render_image(data, "40x40", "scale", "jpg")
    assert out.mode == "RGB"
    assert near(out.getpixel((5, 20)), RED)
    assert near(out.getpixel((34, 20)), BLUE)


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
