"""The Pillow engine (restthumbs.processors): geometry, rendering, content, modes, metadata.

Every image is generated with Pillow; assertions look at real output bytes and
pixels. The only spies wrap Pillow methods (calling the original) to prove which
decode path ran, something the pixels alone cannot show.
"""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Iterator
from typing import Any, cast

import pytest
from PIL import Image, ImageChops, ImageCms, ImageFile, ImageOps, ImageStat, JpegImagePlugin

from restthumbs.exceptions import BadSourceImage, SourceTooLarge
from restthumbs.processors import Plan, can_encode, open_source, plan, plan_crop, plan_scale, render
from restthumbs.spec import ThumbnailSpec, build_spec

from . import images

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)
WHITE = (255, 255, 255)

FORMATS = {
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "gif": "GIF",
    "avif": "AVIF",
}
needs_avif = pytest.mark.skipif(not can_encode("AVIF"), reason="this Pillow cannot write AVIF")


def ext_param(ext: str) -> Any:
    """A parameter for an output extension, skipped where Pillow cannot write it."""
    return pytest.param(ext, marks=needs_avif) if ext == "avif" else ext


ALL_EXTS = [ext_param(ext) for ext in FORMATS]


# -- helpers ----------------------------------------------------------------


def spec(size: str, method: str = "crop", ext: str = "jpg") -> ThumbnailSpec:
    return build_spec("src/image.jpg", size, method, ext)


def render_bytes(
    data: bytes, size: str, method: str = "crop", ext: str = "jpg", **kwargs: Any
) -> bytes:
    return render(io.BytesIO(data), spec(size, method, ext), **kwargs)


def render_image(
    data: bytes, size: str, method: str = "crop", ext: str = "jpg", **kwargs: Any
) -> Image.Image:
    """Render and decode the output, so tests look at pixels, not at our own objects."""
    out = Image.open(io.BytesIO(render_bytes(data, size, method, ext, **kwargs)))
    out.load()
    return out


def px(im: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """A pixel as a tuple of channel values, whatever the mode."""
    value: Any = im.getpixel(xy)
    return tuple(value) if isinstance(value, tuple) else (int(value),)


def alpha(im: Image.Image, xy: tuple[int, int]) -> int:
    return px(im.convert("RGBA"), xy)[3]


def near(pixel: Any, colour: tuple[int, ...], tolerance: int = 40) -> bool:
    values = pixel if isinstance(pixel, tuple) else (pixel,)
    return len(values) == len(colour) and all(
        abs(a - b) <= tolerance for a, b in zip(values, colour, strict=True)
    )


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference of two RGB images of the same size."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def profile_for(colour_space: bytes) -> bytes:
    """An ICC profile whose header declares ``colour_space`` (bytes 16-20)."""
    profile = bytearray(srgb_profile())
    profile[16:20] = colour_space
    return bytes(profile)


def noise(size: tuple[int, int], seed: int = 7) -> Image.Image:
    """Uniform random greyscale noise, deterministic: the highest-entropy texture there is."""
    width, height = size
    return Image.frombytes("L", size, random.Random(seed).randbytes(width * height))


def check_box_inside(p: Plan, sw: int, sh: int) -> None:
    left, top, right, bottom = p.box
    assert 0 <= left < right <= sw
    assert 0 <= top < bottom <= sh


def check_centred(p: Plan, sw: int, sh: int) -> None:
    left, top, right, bottom = p.box
    assert left == pytest.approx(sw - right)
    assert top == pytest.approx(sh - bottom)


# -- geometry: explicit cases -------------------------------------------------

GEOMETRY_CASES = [
    # (source, size, method, upscale, expected size, expected box)
    ((400, 300), "100x100", "crop", False, (100, 100), (50, 0, 350, 300)),
    ((300, 400), "100x100", "crop", False, (100, 100), (0, 50, 300, 350)),
    ((300, 300), "100x100", "crop", False, (100, 100), (0, 0, 300, 300)),
    ((400, 300), "200x50", "crop", False, (200, 50), (0, 100, 400, 200)),
    ((400, 300), "50x200", "crop", False, (50, 200), (162.5, 0, 237.5, 300)),
    ((400, 300), "600x600", "crop", False, (300, 300), (50, 0, 350, 300)),
    ((400, 300), "600x600", "crop", True, (600, 600), (50, 0, 350, 300)),
    ((400, 300), "1000x100", "crop", False, (400, 40), (0, 130, 400, 170)),
    ((400, 300), "1000x100", "crop", True, (1000, 100), (0, 130, 400, 170)),
    ((300, 400), "100x500", "crop", False, (80, 400), (110, 0, 190, 400)),
    ((400, 300), "100x100", "scale", False, (100, 75), (0, 0, 400, 300)),
    ((300, 400), "100x100", "scale", False, (75, 100), (0, 0, 300, 400)),
    ((300, 300), "100x100", "scale", False, (100, 100), (0, 0, 300, 300)),
    ((400, 300), "600x600", "scale", False, (400, 300), (0, 0, 400, 300)),
    ((400, 300), "600x600", "scale", True, (600, 450), (0, 0, 400, 300)),
    ((400, 300), "1000x100", "scale", False, (133, 100), (0, 0, 400, 300)),
    ((400, 300), "100x", "crop", False, (100, 75), (0, 0, 400, 300)),
    ((400, 300), "x100", "crop", False, (133, 100), (0, 0, 400, 300)),
    ((300, 400), "100x", "scale", False, (100, 133), (0, 0, 300, 400)),
    ((300, 400), "x100", "scale", False, (75, 100), (0, 0, 300, 400)),
    ((300, 300), "x100", "crop", False, (100, 100), (0, 0, 300, 300)),
    ((400, 300), "800x", "crop", False, (400, 300), (0, 0, 400, 300)),
    ((400, 300), "800x", "crop", True, (800, 600), (0, 0, 400, 300)),
    ((400, 300), "x600", "scale", True, (800, 600), (0, 0, 400, 300)),
    ((400, 300), "100x100", "smart", False, (100, 100), (50, 0, 350, 300)),
]


@pytest.mark.parametrize(
    ("source", "size", "method", "upscale", "expected_size", "expected_box"), GEOMETRY_CASES
)
def test_plan_explicit_cases(
    source: tuple[int, int],
    size: str,
    method: str,
    upscale: bool,
    expected_size: tuple[int, int],
    expected_box: tuple[float, float, float, float],
) -> None:
    result = plan(spec(size, method), *source, upscale)
    assert result.size == expected_size
    assert result.box == pytest.approx(expected_box)


# -- geometry: properties over a grid ----------------------------------------

SOURCES = [(400, 300), (300, 400), (300, 300), (64, 48), (48, 64), (7, 5)]
BOXES = [(100, 100), (200, 50), (50, 200), (30, 30), (1000, 100), (100, 1000), (1, 1), (4096, 4096)]


@pytest.mark.parametrize("upscale", [False, True])
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("box", BOXES)
def test_plan_crop_fills_box_with_largest_centred_region(
    source: tuple[int, int], box: tuple[int, int], upscale: bool
) -> None:
    """Crop: the region has the box's aspect, is as large as the source allows, centred."""
    sw, sh = source
    tw, th = box
    result = plan_crop(sw, sh, tw, th, upscale)
    left, top, right, bottom = result.box
    region_w, region_h = right - left, bottom - top
    check_box_inside(result, sw, sh)
    check_centred(result, sw, sh)
    assert region_w / region_h == pytest.approx(tw / th)
    assert region_w == pytest.approx(sw) or region_h == pytest.approx(sh)  # the largest region
    if upscale or (tw <= sw and th <= sh):
        assert result.size == (tw, th)
    else:
        # A box bigger than the source: the region at source scale, never larger than the source.
        assert result.size == (max(1, round(region_w)), max(1, round(region_h)))
        assert result.size[0] <= sw and result.size[1] <= sh
        assert result.size[0] < tw and result.size[1] <= th


@pytest.mark.parametrize("upscale", [False, True])
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("box", BOXES)
def test_plan_scale_fits_inside_box(
    source: tuple[int, int], box: tuple[int, int], upscale: bool
) -> None:
    sw, sh = source
    tw, th = box
    result = plan_scale(sw, sh, tw, th, upscale)
    width, height = result.size
    assert result.box == (0, 0, sw, sh)  # scale shows the whole source
    assert 1 <= width <= tw and 1 <= height <= th
    assert abs(width / height - sw / sh) <= (sw / sh) * (
        1 / min(width, height)
    )  # aspect, to a pixel
    if upscale or (tw <= sw and th <= sh):
        assert width == tw or height == th  # touches the box
    if not upscale:
        assert width <= sw and height <= sh


@pytest.mark.parametrize("upscale", [False, True])
@pytest.mark.parametrize("method", ["crop", "scale", "smart"])
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("size", ["100x", "x100", "30x", "x30", "1x", "x1"])
def test_plan_one_side_keeps_aspect_for_every_method(
    source: tuple[int, int], size: str, method: str, upscale: bool
) -> None:
    sw, sh = source
    result = plan(spec(size, method), sw, sh, upscale)
    width, height = result.size
    assert result.box == (0, 0, sw, sh)
    given = int(size.strip("x"))
    if size.endswith("x"):
        expected_width = given if upscale or given <= sw else sw
        assert width == expected_width
        assert height == max(1, round(sh * expected_width / sw))
    else:
        expected_height = given if upscale or given <= sh else sh
        assert height == expected_height
        assert width == max(1, round(sw * expected_height / sh))


EXTREME_SOURCES = [(1, 1000), (1000, 1), (1, 1), (2, 999)]


@pytest.mark.parametrize("upscale", [False, True])
@pytest.mark.parametrize("method", ["crop", "scale", "smart"])
@pytest.mark.parametrize("source", EXTREME_SOURCES)
@pytest.mark.parametrize(
    "size", ["100x100", "1x1", "100x", "x100", "1x", "x1", "10x1000", "1000x10"]
)
def test_plan_never_produces_zero_size(
    source: tuple[int, int], size: str, method: str, upscale: bool
) -> None:
    result = plan(spec(size, method), *source, upscale)
    assert result.size[0] >= 1 and result.size[1] >= 1
    check_box_inside(result, *source)
    check_centred(result, *source)


def test_plan_one_pixel_wide_source_crops_a_centred_pixel() -> None:
    assert plan_crop(1, 1000, 100, 100, False) == Plan((1, 1), (0, 499.5, 1, 500.5))
    assert plan_crop(1, 1000, 100, 100, True) == Plan((100, 100), (0, 499.5, 1, 500.5))
    assert plan_scale(1, 1000, 100, 100, False).size == (1, 100)
    assert plan_scale(1000, 1, None, 10, False).size == (1000, 1)
    assert plan_scale(1000, 1, 10, None, False).size == (10, 1)


# -- render: sizes and formats ---------------------------------------------------

RENDER_SIZES = [
    # 640x480 source, no upscaling
    ("100x100", "crop", (100, 100)),
    ("100x100", "smart", (100, 100)),
    ("100x100", "scale", (100, 75)),
    ("200x50", "crop", (200, 50)),
    ("200x50", "scale", (67, 50)),
    ("100x", "crop", (100, 75)),
    ("100x", "scale", (100, 75)),
    ("100x", "smart", (100, 75)),
    ("x100", "crop", (133, 100)),
    ("x100", "scale", (133, 100)),
    ("x100", "smart", (133, 100)),
    ("1000x1000", "crop", (480, 480)),
    ("1000x1000", "scale", (640, 480)),
]


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    return images.jpeg_bytes((640, 480))


@pytest.mark.parametrize(("size", "method", "expected"), RENDER_SIZES)
def test_render_output_size(
    photo_jpeg: bytes, size: str, method: str, expected: tuple[int, int]
) -> None:
    assert render_image(photo_jpeg, size, method).size == expected


@pytest.mark.parametrize(
    ("size", "method", "expected"),
    [
        ("1000x1000", "crop", (1000, 1000)),
        ("1000x1000", "scale", (1000, 750)),
        ("x960", "smart", (1280, 960)),
    ],
)
def test_render_upscale_meets_the_box(
    photo_jpeg: bytes, size: str, method: str, expected: tuple[int, int]
) -> None:
    assert render_image(photo_jpeg, size, method, upscale=True).size == expected


@pytest.mark.parametrize("ext", ALL_EXTS)
@pytest.mark.parametrize("method", ["crop", "scale", "smart"])
def test_render_output_format(photo_jpeg: bytes, ext: str, method: str) -> None:
    out = render_image(photo_jpeg, "80x60", method, ext)
    assert out.format == FORMATS[ext]
    assert out.size == (80, 60)


@pytest.mark.parametrize("ext", ALL_EXTS)
@pytest.mark.parametrize("source_format", ["PNG", "GIF", "WEBP", "TIFF", "BMP", ext_param("AVIF")])
def test_render_accepts_every_input_format(source_format: str, ext: str) -> None:
    data = images.encode(images.photo((160, 120)), source_format)
    out = render_image(data, "40x40", "crop", ext)
    assert (out.format, out.size) == (FORMATS[ext], (40, 40))


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


@pytest.mark.parametrize("method", ["crop", "scale", "smart"])
@pytest.mark.parametrize("source", [(1, 1000), (1000, 1), (1, 1)])
@pytest.mark.parametrize("size", ["100x100", "1x1", "x10", "10x"])
def test_render_one_pixel_edge_sources(source: tuple[int, int], size: str, method: str) -> None:
    data = images.encode(Image.new("RGB", source, RED), "PNG")
    out = render_image(data, size, method, "png")
    assert out.width >= 1 and out.height >= 1
    assert out.size == plan(spec(size, method), *source, False).size
    assert near(out.convert("RGB").getpixel((0, 0)), RED, 2)


def test_render_refuses_unbounded_upscaled_free_side() -> None:
    """``4096x`` on a 1x1000 source with upscaling would be 4096x4096000 pixels."""
    data = images.encode(Image.new("RGB", (1, 1000), RED), "PNG")
    with pytest.raises(SourceTooLarge):
        render_bytes(data, "4096x", "scale", "png", upscale=True)
    # The same request without upscaling stays at source size.
    assert render_image(data, "4096x", "scale", "png").size == (1, 1000)


# -- content ------------------------------------------------------------------------


def centre_and_edges() -> bytes:
    """300x100: a red 100x100 square in the middle, blue on both sides."""
    im = Image.new("RGB", (300, 100), BLUE)
    im.paste(RED, (100, 0, 200, 100))
    return images.encode(im, "PNG")


def test_crop_shows_the_centre() -> None:
    out = render_image(centre_and_edges(), "50x50", "crop", "png").convert("RGB")
    assert out.size == (50, 50)
    for xy in [(25, 25), (1, 1), (48, 1), (1, 48), (48, 48)]:
        assert near(out.getpixel(xy), RED, 10), xy


def test_scale_of_the_same_source_keeps_the_edges() -> None:
    out = render_image(centre_and_edges(), "60x60", "scale", "png").convert("RGB")
    assert out.size == (60, 20)
    assert near(out.getpixel((30, 10)), RED, 10)
    assert near(out.getpixel((1, 10)), BLUE, 10)
    assert near(out.getpixel((58, 10)), BLUE, 10)


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_scale_shows_all_four_corners(ext: str) -> None:
    im = Image.new("RGB", (400, 300), WHITE)
    corners = {(0, 0): RED, (360, 0): GREEN, (0, 260): BLUE, (360, 260): YELLOW}
    for (x, y), colour in corners.items():
        im.paste(colour, (x, y, x + 40, y + 40))
    out = render_image(images.encode(im, "PNG"), "100x100", "scale", ext).convert("RGB")
    assert out.size == (100, 75)
    assert near(out.getpixel((3, 3)), RED)
    assert near(out.getpixel((96, 3)), GREEN)
    assert near(out.getpixel((3, 71)), BLUE)
    assert near(out.getpixel((96, 71)), YELLOW)
    assert near(out.getpixel((50, 37)), WHITE)


def flat_columns(im: Image.Image) -> float:
    """The fraction of columns with (almost) no variation: the flat grey part."""
    grey = im.convert("L")
    flat = 0
    for x in range(grey.width):
        column = grey.crop((x, 0, x + 1, grey.height))
        if ImageStat.Stat(column).stddev[0] < 4:
            flat += 1
    return flat / grey.width


@pytest.fixture(scope="module")
def grey_and_texture() -> bytes:
    """400x200: the left half flat grey, the right half random noise."""
    im = Image.new("L", (400, 200), 128)
    im.paste(noise((200, 200)), (200, 0))
    return images.encode(im.convert("RGB"), "PNG")


def test_smart_keeps_the_high_entropy_side(grey_and_texture: bytes) -> None:
    smart = render_image(grey_and_texture, "50x100", "smart", "png")
    crop = render_image(grey_and_texture, "50x100", "crop", "png")
    assert smart.size == crop.size == (50, 100)
    assert flat_columns(smart) <= 0.1
    assert 0.35 <= flat_columns(crop) <= 0.65  # the centre straddles both halves


def test_smart_keeps_the_high_entropy_side_vertically() -> None:
    im = Image.new("L", (200, 400), 128)
    im.paste(noise((200, 200), seed=3), (0, 0))  # texture on top this time
    out = render_image(images.encode(im, "PNG"), "100x50", "smart", "png").convert("L")
    assert out.size == (100, 50)
    rows_flat = sum(
        ImageStat.Stat(out.crop((0, y, out.width, y + 1))).stddev[0] < 4 for y in range(out.height)
    )
    assert rows_flat <= 5


# -- EXIF orientation ----------------------------------------------------------------


def marked_source() -> Image.Image:
    """800x480 blue with a red block in the top-left corner: every orientation differs."""
    im = Image.new("RGB", (800, 480), BLUE)
    im.paste(RED, (0, 0, 200, 120))
    return im


def corner_points(size: tuple[int, int], inset: int) -> dict[str, tuple[int, int]]:
    width, height = size
    return {
        "top-left": (inset, inset),
        "top-right": (width - 1 - inset, inset),
        "bottom-left": (inset, height - 1 - inset),
        "bottom-right": (width - 1 - inset, height - 1 - inset),
    }


def red_corners(im: Image.Image, inset: int) -> set[str]:
    rgb = im.convert("RGB")
    return {
        name
        for name, xy in corner_points(rgb.size, inset).items()
        if near(rgb.getpixel(xy), RED, 60)
    }


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_upright_output(orientation: int) -> None:
    data = images.with_orientation(marked_source(), orientation)
    with Image.open(io.BytesIO(data)) as source:
        reference = ImageOps.exif_transpose(source)
    assert reference is not None
    expected_corners = red_corners(reference, 10)
    assert len(expected_corners) == 1  # the reference itself is unambiguous

    out = render_image(data, "100x100", "scale", "png")
    assert out.size == ((60, 100) if orientation >= 5 else (100, 60))
    assert red_corners(out, 3) == expected_corners
    assert mean_difference(out, reference.resize(out.size, Image.Resampling.LANCZOS)) < 8


@pytest.mark.parametrize("orientation", [6, 8])
@pytest.mark.parametrize(
    ("size", "method", "expected"),
    [
        ("50x", "crop", (50, 83)),
        ("x50", "scale", (30, 50)),
        ("40x100", "crop", (40, 100)),
        ("100x100", "smart", (100, 100)),
    ],
)
def test_exif_rotation_swaps_the_source_sides(
    orientation: int, size: str, method: str, expected: tuple[int, int]
) -> None:
    """The 800x480 source is 480x800 once upright; the plan uses the upright sides."""
    data = images.with_orientation(marked_source(), orientation)
    assert render_image(data, size, method).size == expected


# -- modes -----------------------------------------------------------------------------


def halves(
    mode_colour_left: Any, mode_colour_right: Any, mode: str, size: tuple[int, int] = (80, 80)
) -> Image.Image:
    im = Image.new(mode, size, mode_colour_left)
    im.paste(mode_colour_right, (size[0] // 2, 0, size[0], size[1]))
    return im


def test_cmyk_jpeg_becomes_rgb_with_its_colours() -> None:
    source = halves(RED, BLUE, "RGB").convert("CMYK")
    data = images.encode(source, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = render_image(data, "40x40", "scale", "jpg")
    assert out.mode == "RGB"
    assert near(out.getpixel((5, 20)), RED)
    assert near(out.getpixel((34, 20)), BLUE)


def test_cmyk_profile_is_not_attached_to_rgb_output() -> None:
    """The CMYK pixels are converted to RGB: a CMYK ICC profile would misdescribe them."""
    cmyk_profile = profile_for(b"CMYK")
    data = images.encode(halves(RED, BLUE, "RGB").convert("CMYK"), "JPEG", icc_profile=cmyk_profile)
    for ext in ("jpg", "png", "webp"):
        profile = render_image(data, "40x40", "scale", ext).info.get("icc_profile")
        assert not profile or profile[16:20] == b"RGB ", ext


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


@pytest.mark.parametrize(
    ("source_format", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("PNG", "jpg"), ("JPEG", "png")]
)
def test_greyscale_stays_greyscale(source_format: str, ext: str) -> None:
    data = images.encode(halves(30, 220, "L"), source_format)
    out = render_image(data, "40x40", "scale", ext)
    assert out.mode == "L"
    assert near(out.getpixel((5, 20)), (30,), 10)
    assert near(out.getpixel((34, 20)), (220,), 10)


def test_sixteen_bit_greyscale_renders_its_range() -> None:
    gradient = Image.linear_gradient("L").resize((256, 256)).convert("I").point(lambda v: v * 257)
    data = images.encode(gradient.convert("I;16"), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    out = render_image(data, "64x64", "scale", "png")
    assert out.mode == "L"
    low, high = cast(tuple[int, int], out.getextrema())
    assert low <= 10 and high >= 245  # the full range, not clipped to white
    assert near(out.getpixel((32, 32)), (128,), 28)  # mid-grey in the middle


def test_sixteen_bit_mid_grey_is_mid_grey() -> None:
    data = images.encode(Image.new("I;16", (50, 50), 32768), "PNG")
    out = render_image(data, "20x20", "scale", "jpg")
    assert near(out.getpixel((10, 10)), (128,), 3)


def test_bilevel_source() -> None:
    data = images.encode(halves(0, 1, "1"), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "1"
    for ext in ("png", "jpg", "gif"):
        out = render_image(data, "40x40", "scale", ext).convert("L")
        assert px(out, (5, 20))[0] <= 10, ext
        assert px(out, (34, 20))[0] >= 245, ext


# -- metadata ----------------------------------------------------------------------------


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


# -- animation --------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ALL_EXTS)
def test_animated_gif_gives_its_first_frame(ext: str) -> None:
    data = images.animated_gif()
    with Image.open(io.BytesIO(data)) as source:
        assert source.n_frames == 4  # type: ignore[attr-defined]
    out = render_image(data, "60x40", "crop", ext)
    assert getattr(out, "n_frames", 1) == 1
    assert not getattr(out, "is_animated", False)
    assert near(out.convert("RGB").getpixel((30, 20)), RED, 10)


# -- the JPEG fast path (reduced-scale decoding) ----------------------------------


class Spies:
    """Records ``draft`` and ``resize`` calls while calling Pillow's own methods."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.drafts: list[tuple[tuple[int, int], tuple[int, int]]] = []
        self.resizes: list[tuple[tuple[int, int], tuple[int, int], Any]] = []
        for cls in (Image.Image, JpegImagePlugin.JpegImageFile):
            monkeypatch.setattr(cls, "draft", self._draft_spy(cls.draft))
        original_resize = Image.Image.resize

        def resize(im: Image.Image, size: Any, *args: Any, **kwargs: Any) -> Image.Image:
            self.resizes.append((im.size, tuple(size), kwargs.get("box")))
            return original_resize(im, size, *args, **kwargs)

        monkeypatch.setattr(Image.Image, "resize", resize)

    def _draft_spy(self, original: Any) -> Any:
        def draft(im: Image.Image, mode: Any, size: Any) -> Any:
            before = im.size
            result = original(im, mode, size)
            self.drafts.append((before, im.size))
            return result

        return draft


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    return images.jpeg_bytes((4000, 3000))


@pytest.mark.parametrize(
    ("size", "method"), [("100x100", "crop"), ("100x100", "scale"), ("100x", "smart")]
)
def test_large_jpeg_is_decoded_at_reduced_scale(
    big_jpeg: bytes, monkeypatch: pytest.MonkeyPatch, size: str, method: str
) -> None:
    spies = Spies(monkeypatch)
    out = render_image(big_jpeg, size, method)
    assert spies.drafts, "draft() was not called"
    before, after = spies.drafts[0]
    assert before == (4000, 3000)
    assert after[0] <= 4000 // 4
    decoded, requested, box = spies.resizes[0]
    assert decoded == after and requested == out.size
    # Quality: the region still has at least REDUCING_GAP (2) times the output's pixels.
    assert box[2] - box[0] >= 2 * out.width and box[3] - box[1] >= 2 * out.height


def test_large_rotated_jpeg_is_decoded_at_reduced_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    big = Image.new("RGB", (4000, 3000), BLUE)
    big.paste(RED, (0, 0, 1000, 750))
    data = images.with_orientation(big, 6)
    spies = Spies(monkeypatch)
    out = render_image(data, "150x150", "scale", "png")
    assert out.size == (112, 150)  # 3000x4000 once upright
    assert spies.drafts and spies.drafts[0][1][0] <= 1000
    decoded, _, box = spies.resizes[0]
    assert decoded[0] < decoded[1]  # upright (portrait) by the time it is resized
    assert box[2] - box[0] >= 2 * 112 and box[3] - box[1] >= 2 * 150
    # Orientation 6 puts the source's top-left corner at the top right.
    assert red_corners(out, 2) == {"top-right"}


def test_upscaled_jpeg_is_not_drafted(photo_jpeg: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    spies = Spies(monkeypatch)
    assert render_image(photo_jpeg, "1000x", "scale", upscale=True).size == (1000, 750)
    assert all(after == before for before, after in spies.drafts)
    assert spies.resizes[0][0] == (640, 480)


def test_png_source_is_not_drafted(monkeypatch: pytest.MonkeyPatch) -> None:
    data = images.encode(images.photo((1600, 1200)), "PNG")
    spies = Spies(monkeypatch)
    assert render_image(data, "100x100", "crop").size == (100, 100)
    assert spies.drafts == []
    assert spies.resizes[0][0] == (1600, 1200)


# -- refusals -----------------------------------------------------------------------------


def truncated_jpeg() -> bytes:
    data = images.jpeg_bytes((640, 480))
    return data[: len(data) // 2]


def eps_file() -> bytes:
    return images.encode(Image.new("RGB", (10, 8), RED), "EPS")


def ico_file() -> bytes:
    return images.encode(Image.new("RGB", (16, 16), RED), "ICO")


def psd_file() -> bytes:
    """A minimal valid 4x3 RGB PSD (Pillow reads PSD but cannot write it)."""
    width, height = 4, 3
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    sections = struct.pack(">III", 0, 0, 0)  # colour mode data, image resources, layers
    return header + sections + struct.pack(">H", 0) + bytes(3 * width * height)


@pytest.mark.parametrize(
    ("factory", "pillow_format"), [(eps_file, "EPS"), (ico_file, "ICO"), (psd_file, "PSD")]
)
def test_untrusted_formats_are_refused(factory: Any, pillow_format: str) -> None:
    data = factory()
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == pillow_format  # a valid file: refused by policy, not by accident
    with pytest.raises(BadSourceImage):
        open_source(io.BytesIO(data), 120_000_000)
    with pytest.raises(BadSourceImage):
        render_bytes(data, "10x10")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all, just some words" * 10,
        b"\xff\xd8\xff",
        bytes(range(256)) * 4,
        b"GIF89a",
    ],
)
def test_junk_is_refused(data: bytes) -> None:
    with pytest.raises(BadSourceImage):
        open_source(io.BytesIO(data), 120_000_000)
    with pytest.raises(BadSourceImage):
        render_bytes(data, "10x10")


def test_truncated_jpeg_is_refused_at_decode() -> None:
    data = truncated_jpeg()
    assert open_source(io.BytesIO(data), 120_000_000).size == (640, 480)  # the header is fine
    with pytest.raises(BadSourceImage):
        render_bytes(data, "100x100")


def test_truncated_png_is_refused_at_decode() -> None:
    data = images.encode(images.photo((320, 240)), "PNG")
    with pytest.raises(BadSourceImage):
        render_bytes(data[: len(data) // 2], "100x100", ext="png")


@pytest.fixture
def load_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Sizes of every image whose pixel data Pillow started to decode."""
    calls: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def load(im: ImageFile.ImageFile) -> Any:
        calls.append(im.size)
        return original(im)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    yield calls


def test_over_max_pixels_is_refused_before_decoding(
    photo_jpeg: bytes, load_calls: list[tuple[int, int]]
) -> None:
    with pytest.raises(SourceTooLarge):
        open_source(io.BytesIO(photo_jpeg), 640 * 480 - 1)
    with pytest.raises(SourceTooLarge):
        render_bytes(photo_jpeg, "100x100", max_pixels=640 * 480 - 1)
    assert load_calls == []
    # Exactly at the budget is allowed.
    assert render_image(photo_jpeg, "100x100", max_pixels=640 * 480).size == (100, 100)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return images.bomb_png()  # 20000x20000 declared, ~50 kB on disk


@pytest.fixture(scope="module")
def small_bomb() -> bytes:
    return images.bomb_png(11_000, 11_000)  # 121 MP: over our budget, under Pillow's own bomb limit


@pytest.mark.parametrize("which", ["bomb", "small_bomb"])
def test_bomb_png_is_refused_without_decoding(
    which: str, request: pytest.FixtureRequest, load_calls: list[tuple[int, int]]
) -> None:
    data = request.getfixturevalue(which)
    assert len(data) < 100_000
    with pytest.raises(SourceTooLarge):
        open_source(io.BytesIO(data), 120_000_000)
    with pytest.raises(SourceTooLarge):
        render_bytes(data, "100x100", ext="png")
    assert load_calls == []  # refused from the header: no pixel was decoded


def test_source_too_large_is_a_bad_source_image() -> None:
    """Callers that handle BadSourceImage (4xx) also handle the size refusals."""
    assert issubclass(SourceTooLarge, BadSourceImage)


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


@pytest.mark.parametrize("mode", ["RGB", "RGBa", "L"])
def test_strip_parallel_resample_matches_a_single_resize(mode: str) -> None:
    """Large outputs are resampled in strips on threads; seams must not show.

    Compared in the premultiplied space where resampling happens (un-premultiplying
    magnifies rounding where alpha is tiny).
    """
    import numpy as np

    from restthumbs import processors
    from testsuite.images import photo

    source = photo((1500, 1000), mode="RGBA" if mode == "RGBa" else mode).convert(mode)
    size, box = (800, 533), (10.0, 5.5, 1490.0, 990.0)
    single = source.resize(
        size, Image.Resampling.LANCZOS, box=box, reducing_gap=processors.REDUCING_GAP
    )
    strips = processors._resize_in_strips(source, size, box, 2)
    diff = np.abs(np.asarray(single, dtype=int) - np.asarray(strips, dtype=int))
    assert strips.size == size
    assert diff.max() <= 1
    # resample() takes the parallel path for an output this large.
    assert size[0] * size[1] >= processors.PARALLEL_MIN_PIXELS
