"""Helpers shared by the engine's tests (``test_engine_*.py``): render and look at pixels.

Sources are made with :mod:`testsuite.images` or in the test modules; these helpers
run :func:`restthumbs.engine.render` on them and compare what comes out.
"""

from __future__ import annotations

import io
from typing import Any, cast

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from restthumbs.engine import can_encode, render
from restthumbs.spec import ThumbnailSpec, build_spec

# -- colours and output formats ------------------------------------------------------------

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

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


# -- rendering -----------------------------------------------------------------------------


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


# -- looking at pixels ---------------------------------------------------------------------


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
    """Mean absolute per-channel difference of two images of the same size and mode."""
    assert a.size == b.size and a.mode == b.mode
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / len(a.getbands())


def max_difference(a: Image.Image, b: Image.Image) -> int:
    assert a.size == b.size and a.mode == b.mode
    extrema = cast(tuple[tuple[int, int], ...], ImageChops.difference(a, b).getextrema())
    return max(high for _, high in extrema)


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def halves(
    mode_colour_left: Any, mode_colour_right: Any, mode: str, size: tuple[int, int] = (80, 80)
) -> Image.Image:
    im = Image.new(mode, size, mode_colour_left)
    im.paste(mode_colour_right, (size[0] // 2, 0, size[0], size[1]))
    return im
