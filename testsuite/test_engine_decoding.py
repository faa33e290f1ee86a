"""Decoding (:mod:`restthumbs.engine.decoding`): refusals, orientation, reduced JPEG decode, modes.

Every image is generated with Pillow; assertions look at real output bytes and
pixels. The only spies wrap Pillow methods (calling the original) to prove which
decode path ran, or that nothing was decoded, something the pixels alone cannot show.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import Any, cast

import pytest
from PIL import Image, ImageChops, ImageFile, ImageOps, ImageStat, JpegImagePlugin

from restthumbs.engine import open_source
from restthumbs.exceptions import BadSourceImage, SourceTooLarge

from . import images
from .engine_helpers import BLUE, RED, halves, near, px, render_bytes, render_image


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    return images.jpeg_bytes((640, 480))


# -- refusals ------------------------------------------------------------------------------


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


# -- EXIF orientation ----------------------------------------------------------------------


def mean_rgb_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference of two RGB images of the same size."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3


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
    assert mean_rgb_difference(out, reference.resize(out.size, Image.Resampling.LANCZOS)) < 8


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


# -- the JPEG fast path (reduced-scale decoding) -------------------------------------------


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


# -- modes ---------------------------------------------------------------------------------


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
