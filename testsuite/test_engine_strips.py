"""restthumbs.engine.strips: large PNGs decoded in bands, reduced as they go."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from PIL import Image

from restthumbs.engine import render, strips
from restthumbs.engine.decoding import normalize_mode
from restthumbs.exceptions import BadSourceImage
from restthumbs.spec import build_spec

from . import images
from .engine_helpers import mean_difference
from .test_hostile_sources import corrupt_idat


def png(im: Image.Image, **params: Any) -> bytes:
    return images.encode(im, "PNG", **params)


def opened(data: bytes) -> Any:
    return Image.open(io.BytesIO(data))


def whole_then_reduced(data: bytes, factor: tuple[int, int]) -> Image.Image:
    """What the pipeline does without bands: decode whole, then reduce (alpha premultiplied)."""
    im = opened(data)
    im.load()
    im = normalize_mode(im)
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(im.mode)
    reduced = (im.convert(premultiplied) if premultiplied else im).reduce(factor)
    return reduced.convert(premultiplied.upper()) if premultiplied else reduced


def sources() -> dict[str, bytes]:
    photo = images.photo((1203, 917))
    alpha = images.photo((1203, 917), "RGBA")
    palette = photo.convert("P")
    return {
        "RGB": png(photo),
        "RGBA": png(alpha),
        "L": png(photo.convert("L")),
        "LA": png(alpha.convert("LA")),
        "P": png(palette),
        "P+tRNS": png(palette, transparency=3),
        "RGB+tRNS": png(photo, transparency=(0, 40, 200)),
        "L+tRNS": png(photo.convert("L"), transparency=100),
    }


@pytest.mark.parametrize("kind", list(sources()))
@pytest.mark.parametrize("factor", [(3, 3), (2, 5), (7, 1)])
def test_bands_give_exactly_the_whole_image_reduced(
    kind: str, factor: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = sources()[kind]
    monkeypatch.setattr(strips, "BAND_BYTES", 64 * 1024)  # many bands, a short last one
    im = opened(data)
    assert strips.can_decode_in_bands(im)
    banded = strips.decode_reduced(im, factor)
    expected = whole_then_reduced(data, factor)
    assert (banded.mode, banded.size) == (expected.mode, expected.size)
    assert banded.tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    ("source", "why"),
    [
        (png(Image.new("I;16", (64, 64))), "16-bit"),
        (images.animated_gif(), "not a PNG"),
        (images.jpeg_bytes((64, 64)), "not a PNG"),
    ],
)
def test_what_cannot_be_decoded_in_bands(source: bytes, why: str) -> None:
    assert not strips.can_decode_in_bands(opened(source)), why


def test_an_interlaced_png_is_decoded_whole() -> None:
    """Adam7 passes are not rows: Pillow decodes them whole (budget permitting)."""
    data = bytearray(png(images.photo((64, 64))))
    # IHDR's interlace byte is the last of its 13 bytes of data; fix the CRC after it.
    data[28] = 1
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    assert opened(bytes(data)).info.get("interlace")
    assert not strips.can_decode_in_bands(opened(bytes(data)))


def test_corrupt_pixel_data_in_a_band_is_bad_source_image() -> None:
    data = corrupt_idat(png(Image.effect_noise((900, 700), 80).convert("RGB")))
    with pytest.raises(BadSourceImage):
        strips.decode_reduced(opened(data), (3, 3))


def test_a_bad_idat_crc_is_ignored_as_pillow_ignores_it() -> None:
    """Both paths must agree on a file (test_fuzz_images: accepted or refused whatever
    the size asked); Pillow's whole decode does not check IDAT CRCs, so bands do not."""
    data = bytearray(png(images.photo((300, 200))))
    at = data.find(b"IDAT")
    size = struct.unpack(">I", data[at - 4 : at])[0]
    data[at + 4 + size] ^= 0xFF  # the CRC's first byte
    assert strips.decode_reduced(opened(bytes(data)), (2, 2)).size == (150, 100)


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_a_truncated_png_is_bad_source_image(keep: float) -> None:
    data = png(Image.effect_noise((600, 400), 80).convert("RGB"))
    with pytest.raises(BadSourceImage):
        strips.decode_reduced(opened(data[: int(len(data) * keep)]), (2, 2))


def test_exif_orientation_after_the_pixels_is_found() -> None:
    """PNG may carry eXIf after IDAT; the banded reader keeps reading to IEND for it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    data = bytearray(png(images.photo((400, 300))))
    chunk = b"eXIf" + exif.tobytes()
    crc = struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    iend = data.rfind(b"IEND") - 4
    data[iend:iend] = struct.pack(">I", len(chunk) - 4) + chunk + crc
    im = opened(bytes(data))
    assert "exif" not in im.info  # Pillow has not seen it: it follows the pixels
    reduced = strips.decode_reduced(im, (2, 2))
    assert reduced.getexif().get(0x0112) == 6


def test_a_large_png_renders_through_bands_like_a_whole_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the threshold the view's renderer takes the banded path; the picture agrees."""
    data = png(images.photo((1600, 1200), "RGBA"))
    spec = build_spec("a.png", "200x150", "crop", "png")
    whole = Image.open(io.BytesIO(render(io.BytesIO(data), spec)))
    calls: list[tuple[int, int]] = []
    original = strips.decode_reduced

    def spy(im: Any, factor: tuple[int, int]) -> Image.Image:
        calls.append(factor)
        return original(im, factor)

    monkeypatch.setattr(strips, "decode_reduced", spy)
    monkeypatch.setattr(strips, "MIN_WHOLE_BYTES", 1024)
    banded = Image.open(io.BytesIO(render(io.BytesIO(data), spec)))
    # 1600/200/2 = 4 as stored; 1200/200/2 = 3 if an eXIf after the pixels turned it.
    assert calls == [(3, 3)]
    assert banded.size == whole.size == (200, 150)
    assert banded.mode == whole.mode
    assert mean_difference(banded, whole) < 2.0
