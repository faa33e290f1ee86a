"""The geometry (:mod:`restthumbs.engine.geometry`): plans, and what each method shows.

Plans are checked as numbers, over explicit cases and over a grid of sources and
boxes; crop, scale and smart are then checked on the pixels of rendered thumbnails.
"""

from __future__ import annotations

import random

import pytest
from PIL import Image, ImageStat

from restthumbs.engine import Plan, plan, plan_crop, plan_scale

from . import images
from .engine_helpers import BLUE, GREEN, RED, WHITE, YELLOW, near, render_image, spec

# -- helpers -------------------------------------------------------------------------------


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


# -- geometry: explicit cases --------------------------------------------------------------

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


# -- geometry: properties over a grid ------------------------------------------------------

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


# -- content -------------------------------------------------------------------------------


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
