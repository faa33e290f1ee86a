"""The conductor (:func:`restthumbs.engine.render`): every method, size and format, end to end.

The steps have their own test modules (``test_engine_geometry.py``, ...); these tests
check what the whole pipeline returns for each combination.
"""

from __future__ import annotations

import pytest
from PIL import Image

from restthumbs.engine import plan
from restthumbs.exceptions import SourceTooLarge

from . import images
from .engine_helpers import (
    ALL_EXTS,
    FORMATS,
    RED,
    ext_param,
    near,
    render_bytes,
    render_image,
    spec,
)

# -- render: sizes and formats -------------------------------------------------------------

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


# -- render: edge sources ------------------------------------------------------------------


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
