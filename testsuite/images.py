"""Generate real test images with Pillow (no binary fixtures in the repository)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw


def photo(size: tuple[int, int] = (640, 480), mode: str = "RGB", seed: int = 1) -> Image.Image:
    """A photographic-like image: gradients plus shapes, so resampling has detail to keep."""
    width, height = size
    base = Image.linear_gradient("L").resize(size)
    radial = Image.radial_gradient("L").resize(size)
    im = Image.merge("RGB", (base, radial, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    draw = ImageDraw.Draw(im)
    step = max(8, min(width, height) // 12)
    for i in range(0, width, step):
        draw.line([(i, 0), (width - i // 2, height)], fill=((i * 7 + seed) % 256, 40, 200), width=2)
    draw.ellipse(
        [width // 4, height // 4, width // 2, height // 2], fill=(250, 220, 10), outline=(0, 0, 0)
    )
    if mode == "RGB":
        return im
    if mode == "RGBA":
        im = im.convert("RGBA")
        alpha = Image.linear_gradient("L").resize(size)
        im.putalpha(alpha)
        return im
    return im.convert(mode)


def encode(im: Image.Image, format: str = "JPEG", **params: Any) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format, **params)
    return buffer.getvalue()


def jpeg_bytes(size: tuple[int, int] = (640, 480), **params: Any) -> bytes:
    return encode(photo(size), "JPEG", quality=90, **params)


def with_orientation(im: Image.Image, orientation: int) -> bytes:
    """A JPEG whose EXIF says ``orientation``."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(im, "JPEG", quality=90, exif=exif.tobytes())


def with_gps(im: Image.Image) -> bytes:
    """A JPEG carrying a GPS IFD (latitude/longitude) and a camera make."""
    exif = Image.Exif()
    exif[0x010F] = "TestCamera"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 22.0, 0.0)
    gps[3] = "E"
    gps[4] = (4.0, 53.0, 0.0)
    return encode(im, "JPEG", quality=90, exif=exif.tobytes())


def animated_gif(size: tuple[int, int] = (120, 80), frames: int = 4) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", size, colours[i % len(colours)]) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG that declares a huge canvas (a decompression bomb): 1-bit, all zero."""
    im = Image.new("1", (width, height))
    return encode(im, "PNG", optimize=True)
