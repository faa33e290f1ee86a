"""Encoding a still thumbnail: per-format parameters, alpha, the ICC profile, no metadata.

:func:`encode` writes JPEG, PNG, WebP, GIF or AVIF with nothing from the source but
the pixels and a profile that fits them: no EXIF, GPS, comments or XMP.
:func:`can_encode` says which of those formats this Pillow build can write. An
animation is encoded with its frames by :func:`.animation.render_animation`.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, features

from ..exceptions import OutputTooLarge

#: The longest side each output format can hold, in pixels. JPEG's is 65500
#: (libjpeg's JPEG_MAX_DIMENSION), WebP's 16383 (a 14-bit field), GIF's 65535
#: (16 bits); an AVIF wider than 32768 is written but no decoder built on
#: libavif's defaults reads it back; PNG's is 2**31 - 1.
MAX_SIDE: dict[str, int] = {
    "JPEG": 65_500,
    "WEBP": 16_383,
    "GIF": 65_535,
    "AVIF": 32_768,
    "PNG": 2**31 - 1,
}


def check_encodable(size: tuple[int | None, int | None], format_name: str) -> None:
    """Refuse a size (either side may be unknown: ``None``) that ``format_name`` cannot hold."""
    limit = MAX_SIDE.get(format_name)
    if limit is None or max(side or 0 for side in size) <= limit:
        return
    width, height = (side if side is not None else "" for side in size)
    raise OutputTooLarge(
        f"A {width}x{height} thumbnail is larger than {format_name} can hold "
        f"({limit} pixels a side)."
    )


@functools.cache
def can_encode(format_name: str) -> bool:
    """Whether this Pillow build can write ``format_name`` (AVIF is optional)."""
    if format_name == "AVIF":
        return bool(features.check("avif"))
    Image.init()
    return format_name in Image.SAVE


def flatten(im: Image.Image) -> Image.Image:
    """Composite on white for formats without alpha."""
    if im.mode in ("RGB", "L"):
        return im
    rgba = im.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def icc_fits(icc_profile: bytes, mode: str, format_name: str) -> bool:
    """Whether the profile's colour space (ICC header bytes 16-20) is the one written.

    A CMYK source's CMYK profile must not be attached to the RGB pixels it was
    converted to; WEBP and AVIF store greyscale as RGB.
    """
    grey = mode in ("L", "LA") and format_name not in ("WEBP", "AVIF")
    return icc_profile[16:20] == (b"GRAY" if grey else b"RGB ")


#: Each format's encoder parameters beside the quality (``THUMBNAILS_QUALITY``, whose
#: per-format defaults are in :mod:`restthumbs.conf`). WebP's ``method`` and AVIF's
#: ``speed`` trade encoding time for bytes; both were chosen with
#: ``benchmarks/formats.py`` (docs/performance.md, "Formats"). AVIF's speed 9 is libaom's
#: fast all-intra mode: speeds 5-8 make 14-61% smaller files for the same SSIM, but took
#: 5-21x as long (175-737 ms for an 800 px thumbnail), more than a whole JPEG miss path.
ENCODER_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"optimize": True, "progressive": True},
    "WEBP": {"method": 4},
    "AVIF": {"speed": 9},
    "PNG": {"compress_level": 6},
}

#: The formats whose encoder takes a quality.
LOSSY_FORMATS = ("JPEG", "WEBP", "AVIF")


def encode(im: Image.Image, format_name: str, quality: int, icc_profile: bytes | None) -> bytes:
    params: dict[str, object] = dict(ENCODER_OPTIONS.get(format_name, {}))
    if format_name in LOSSY_FORMATS:
        params["quality"] = quality
    if format_name == "JPEG":
        im = flatten(im)
    elif format_name == "GIF" and im.mode == "LA":
        im = im.convert("RGBA")  # Pillow's GIF writer turns LA into L, dropping the alpha
    if icc_profile and format_name != "GIF" and icc_fits(icc_profile, im.mode, format_name):
        params["icc_profile"] = icc_profile
    im.info = {}  # nothing from the source (EXIF, GPS, comments, XMP) reaches the output
    buffer = io.BytesIO()
    im.save(buffer, format_name, **params)
    return buffer.getvalue()
