"""Hostile sources (issue 10): each hole found by trying, with the test that failed before its fix.

- a PNG whose header is valid and whose compressed pixel data is corrupt: a 4xx,
  nothing stored (it rendered garbage with a 200: ``getexif()`` loaded the pixels,
  its error was swallowed, and the next ``load()`` returned the half-decoded image);
- an output larger than its format can hold (``100x`` of a very tall source): a 4xx
  (it was a 500 from the encoder), and refused when the URL is built where the size
  alone says so;
- a TIFF whose orientation Pillow applies itself: rotated once, not twice.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from PIL import Image

from restthumbs import thumbnail_url
from restthumbs.engine import render
from restthumbs.engine.encoding import MAX_SIDE
from restthumbs.exceptions import BadSourceImage, InvalidSpec, OutputTooLarge
from restthumbs.spec import build_spec

from . import images
from .utils import body, files_under


def assert_refused(response: Any, status: int, thumbs_dir: Path) -> None:
    assert response.status_code == status, (response.status_code, body(response))
    assert response["Cache-Control"] == "no-store"
    assert files_under(thumbs_dir) == []


# -- decoding errors are never a success ---------------------------------------------


def corrupt_idat(png: bytes, offset_fraction: float = 0.5, length: int = 200) -> bytes:
    """``png`` with bytes in the middle of its first IDAT flipped, the chunk CRC fixed,
    so only the zlib stream is broken (the file is still a well-formed PNG)."""
    data = bytearray(png)
    at = data.find(b"IDAT")
    size = struct.unpack(">I", data[at - 4 : at])[0]
    start = at + 4 + int(size * offset_fraction)
    for i in range(start, min(start + length, at + 4 + size)):
        data[i] ^= 0x5A
    crc = zlib.crc32(bytes(data[at : at + 4 + size])) & 0xFFFFFFFF
    data[at + 4 + size : at + 8 + size] = struct.pack(">I", crc)
    return bytes(data)


def noisy(size: tuple[int, int], mode: str) -> Image.Image:
    """Incompressible pixels, so a corruption in the middle of IDAT hits pixel data."""
    im = Image.effect_noise(size, 80).convert("RGB")
    return im.convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
@pytest.mark.parametrize("ext", ["jpg", "png", "webp"])
def test_a_png_with_corrupt_pixel_data_is_refused(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path, mode: str, ext: str
) -> None:
    write_source("broken.png", corrupt_idat(images.encode(noisy((300, 200), mode), "PNG")))
    response = client.get(thumbnail_url("broken.png", "100x100", "crop", ext))
    assert_refused(response, 422, thumbs_dir)


def test_a_png_with_corrupt_pixel_data_fails_in_the_engine() -> None:
    source = corrupt_idat(images.encode(noisy((300, 200), "RGB"), "PNG"))
    with pytest.raises(BadSourceImage):
        render(io.BytesIO(source), build_spec("a.png", "100x100", "crop", "png"))


def test_a_png_with_exif_after_its_pixels_still_turns_upright(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    """Reading EXIF after the pixels (where PNG may keep it) must not lose orientation."""
    exif = Image.Exif()
    exif[0x0112] = 6
    write_source("sideways.png", images.encode(images.photo((300, 200)), "PNG", exif=exif))
    response = client.get(thumbnail_url("sideways.png", "60x", "scale", "png"))
    assert response.status_code == 200
    assert Image.open(io.BytesIO(body(response))).size == (60, 90)


# -- outputs a format cannot hold ---------------------------------------------------


@pytest.mark.parametrize(
    ("source_size", "size", "ext"),
    [
        ((4, 70_000), "4x", "jpg"),  # 4x70000, over JPEG's 65500
        ((2, 17_000), "2x", "webp"),  # 2x17000, over WebP's 16383
        ((2, 66_000), "2x", "gif"),  # over GIF's 65535
        ((2, 33_000), "2x", "avif"),  # over what AVIF decoders read (32768)
    ],
)
def test_an_output_over_the_format_limit_is_a_400(
    client: Any,
    write_source: Callable[..., Path],
    thumbs_dir: Path,
    source_size: tuple[int, int],
    size: str,
    ext: str,
) -> None:
    write_source("tall.png", images.encode(Image.new("L", source_size, 128), "PNG"))
    with override_settings(THUMBNAILS_MAX_SIZE=100_000):
        url = thumbnail_url("tall.png", size, "scale", ext)
        response = client.get(url)
    assert_refused(response, 400, thumbs_dir)
    assert "can hold" in body(response).decode()


def test_a_free_side_over_the_format_limit_is_a_400_in_the_engine() -> None:
    source = images.encode(Image.new("L", (10, 20_000), 128), "PNG")
    with pytest.raises(OutputTooLarge):
        render(io.BytesIO(source), build_spec("a.png", "10x", "scale", "webp"))


def test_upscaled_free_side_over_the_format_limit_is_refused() -> None:
    """With upscaling, ``200x`` of a 1x1000 source is 200x200000: under the pixel limit."""
    source = images.encode(Image.new("L", (1, 1000), 128), "PNG")
    spec = build_spec("a.png", "200x", "crop", "jpg")
    with pytest.raises(OutputTooLarge):
        render(io.BytesIO(source), spec, upscale=True)


@pytest.mark.parametrize(("ext", "limit"), [("webp", 16383), ("jpg", 65500)])
def test_a_requested_side_over_the_format_limit_is_refused_when_the_url_is_built(
    ext: str, limit: int
) -> None:
    assert MAX_SIDE[{"jpg": "JPEG", "webp": "WEBP"}[ext]] == limit
    with override_settings(THUMBNAILS_MAX_SIZE=100_000):
        assert thumbnail_url("a.png", f"{limit}x", "scale", ext)
        with pytest.raises(InvalidSpec, match="can hold"):
            thumbnail_url("a.png", f"{limit + 1}x", "scale", ext)
        with pytest.raises(InvalidSpec, match="can hold"):
            thumbnail_url("a.png", f"10x{limit + 1}", "crop", ext)


def test_the_view_refuses_a_requested_side_over_the_format_limit(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    from .test_bad_input import signed_path

    write_source("a.png", images.encode(images.photo((64, 64)), "PNG"))
    with override_settings(THUMBNAILS_MAX_SIZE=100_000, THUMBNAILS_UPSCALE=True):
        response = client.get("/" + signed_path("a.png", "16384x", "scale", "webp"))
    assert_refused(response, 400, thumbs_dir)


# -- orientation applied exactly once ------------------------------------------------


def marked(size: tuple[int, int]) -> Image.Image:
    """Red everywhere, a blue block in the top-left corner: asymmetric under any rotation."""
    im = Image.new("RGB", size, (255, 0, 0))
    im.paste((0, 0, 255), (0, 0, size[0] // 3, size[1] // 4))
    return im


def tiff_with_orientation(orientation: int, compression: str) -> bytes:
    """What a camera stores: the pixels as shot, the orientation in a tag."""
    upright = marked((300, 200))
    stored = upright.transpose(Image.Transpose.ROTATE_90) if orientation == 6 else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    return images.encode(stored, "TIFF", compression=compression, exif=exif.tobytes())


@pytest.mark.parametrize("compression", ["raw", "tiff_lzw", "tiff_deflate", "jpeg", "packbits"])
def test_a_tiff_orientation_is_applied_once(
    client: Any, write_source: Callable[..., Path], compression: str
) -> None:
    write_source("camera.tif", tiff_with_orientation(6, compression))
    response = client.get(thumbnail_url("camera.tif", "150x100", "crop", "png"))
    assert response.status_code == 200
    out = Image.open(io.BytesIO(body(response))).convert("RGB")
    # Orientation 6 says "rotate 90 degrees clockwise to display": the stored
    # pixels (rotated counter-clockwise) come back as drawn, 300x200 -> 150x100.
    assert out.size == (150, 100)
    r, _g, b = out.getpixel((10, 10))
    assert b > 200 and r < 60, out.getpixel((10, 10))  # the blue block, top left
    r, _g, b = out.getpixel((140, 90))
    assert r > 200 and b < 60, out.getpixel((140, 90))
