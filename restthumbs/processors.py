"""The Pillow engine: decode, plan, resample, encode. No storage, locks or HTTP.

The pipeline is built for a cold render on a large photo:

1. :func:`open_source` reads only the header, refuses non-image formats we do not
   trust and sources over the pixel budget, before anything is decoded.
2. :func:`plan` computes the output size and the source region (box) from the
   header's dimensions, in the orientation EXIF says.
3. JPEG sources are decoded at the smallest DCT scale (1/2, 1/4, 1/8) that still
   covers the box at ``REDUCING_GAP`` times the output size (``Image.draft``);
   then EXIF orientation is applied to the small image.
4. One ``resize`` with ``box=`` and ``reducing_gap=`` crops at the reduced scale,
   shrinks by an integer factor with ``reduce()`` and finishes with LANCZOS.
5. The result is encoded with no metadata but its ICC profile (no EXIF, no GPS).
"""

from __future__ import annotations

import functools
import io
import logging
import math
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, features

from .exceptions import BadSourceImage, SourceTooLarge
from .spec import ThumbnailSpec

logger = logging.getLogger("restthumbs")

#: Decoding and reducing stop at this multiple of the output size; LANCZOS does
#: the rest. 2.0 is Pillow's own default for ``thumbnail()`` and keeps quality
#: indistinguishable from a full-resolution resample.
REDUCING_GAP = 2.0

#: Input formats we decode. Everything else (EPS, which shells out to
#: Ghostscript; PSD; ICO; ...) is refused without being parsed further.
INPUT_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF")

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Plan:
    """The output size and the region of the (oriented) source it shows."""

    size: tuple[int, int]
    box: Box


@functools.cache
def input_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in INPUT_FORMATS if f in Image.OPEN)


@functools.cache
def can_encode(format_name: str) -> bool:
    """Whether this Pillow build can write ``format_name`` (AVIF is optional)."""
    if format_name == "AVIF":
        return bool(features.check("avif"))
    Image.init()
    return format_name in Image.SAVE


# -- geometry ---------------------------------------------------------------


def _at_least_one(value: float) -> int:
    return max(1, round(value))


def plan_scale(sw: int, sh: int, tw: int | None, th: int | None, upscale: bool) -> Plan:
    """Fit inside the box, aspect kept; with one side given, that side is met."""
    factors = [t / s for t, s in ((tw, sw), (th, sh)) if t]
    factor = min(factors)
    if not upscale:
        factor = min(factor, 1.0)
    size = (_at_least_one(sw * factor), _at_least_one(sh * factor))
    return Plan(size, (0.0, 0.0, float(sw), float(sh)))


def plan_crop(sw: int, sh: int, tw: int | None, th: int | None, upscale: bool) -> Plan:
    """Fill the box exactly, centred. Without upscaling, a source smaller than
    the box gives the largest region of the box's aspect ratio, at source scale."""
    if tw is None or th is None:
        return plan_scale(sw, sh, tw, th, upscale)
    aspect = tw / th
    if sw / sh > aspect:
        region_w, region_h = sh * aspect, float(sh)
    else:
        region_w, region_h = float(sw), sw / aspect
    if upscale or region_w >= tw:
        size = (tw, th)
    else:
        size = (_at_least_one(region_w), _at_least_one(region_h))
    left, top = (sw - region_w) / 2, (sh - region_h) / 2
    return Plan(size, (left, top, left + region_w, top + region_h))


def plan(spec: ThumbnailSpec, sw: int, sh: int, upscale: bool) -> Plan:
    if spec.method == "scale":
        return plan_scale(sw, sh, spec.width, spec.height, upscale)
    return plan_crop(sw, sh, spec.width, spec.height, upscale)


def scale_box(box: Box, fx: float, fy: float) -> Box:
    return (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy)


def smart_box(im: Image.Image, box: Box) -> Box:
    """Slide ``box`` along its free axis to the window of highest entropy.

    The search runs on a greyscale proxy of at most ~128 px on its long side,
    never on the full-resolution image.
    """
    width, height = im.size
    left, top, right, bottom = box
    bw, bh = right - left, bottom - top
    slack_x, slack_y = width - bw, height - bh
    if slack_x < 1 and slack_y < 1:
        return box
    factor = max(1, max(width, height) // 128)
    proxy = (im.reduce(factor) if factor > 1 else im).convert("L")
    px, py = proxy.width / width, proxy.height / height
    steps = 24
    best: tuple[float, float, Box] | None = None
    for i in range(steps + 1):
        if slack_x >= 1:
            candidate = (slack_x * i / steps, top, slack_x * i / steps + bw, bottom)
        else:
            candidate = (left, slack_y * i / steps, right, slack_y * i / steps + bh)
        window = proxy.crop(tuple(round(v) for v in scale_box(candidate, px, py)))
        entropy = window.entropy()
        # Ties go to the window nearest the centre.
        distance = -abs(i - steps / 2)
        key = (round(entropy, 6), distance)
        if best is None or key > best[:2]:
            best = (key[0], key[1], candidate)
    assert best is not None
    return best[2]


# -- decoding ---------------------------------------------------------------


def open_source(fp: IO[bytes], max_pixels: int) -> Image.Image:
    """Identify the image from its header and enforce the pixel budget."""
    try:
        im = Image.open(fp, formats=input_formats())
    except Image.DecompressionBombError as e:
        raise SourceTooLarge(f"The source image is too large: {e}") from e
    except Exception as e:  # Pillow raises many types on junk headers
        raise BadSourceImage(f"The source is not a supported image ({type(e).__name__}).") from e
    width, height = im.size
    if width < 1 or height < 1:
        raise BadSourceImage("The source image has no pixels.")
    if width * height > max_pixels:
        raise SourceTooLarge(
            f"The source image has {width * height} pixels, over the limit of {max_pixels}."
        )
    return im


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
        return int(value) if value in range(1, 9) else 1
    except Exception:
        return 1


def _normalize_mode(im: Image.Image) -> Image.Image:
    """Bring any source mode to one of RGB, RGBA, L, LA."""
    mode = im.mode
    if mode in ("1", "L", "RGB") and "transparency" in im.info:
        # A tRNS colour key: make it a real alpha channel, or resampling blends
        # the key colour into its neighbours and encoding drops it.
        return im.convert("RGBA" if mode == "RGB" else "LA")
    if mode in ("RGB", "RGBA", "L", "LA"):
        return im
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I") or mode == "F":
        # 16/32-bit greyscale: keep the top 8 bits rather than clipping at 255.
        scale = 1 / 256 if mode.startswith("I;16") or im.getextrema()[1] > 255 else 1  # type: ignore[operator]
        return im.convert("I").point(lambda v: v * scale).convert("L")
    if mode in ("RGBa", "La"):
        return im.convert(mode.upper())
    return im.convert("RGBA" if "A" in mode else "RGB")


def decode(im: Image.Image, spec: ThumbnailSpec, upscale: bool) -> tuple[Image.Image, Plan]:
    """Decode as little as the plan needs; return the oriented image and its plan.

    The plan is computed on the header's dimensions and then scaled to the
    decoded image, so draft rounding never changes the output size.
    """
    sw, sh = im.size
    orientation = _orientation(im)
    swapped = orientation in (5, 6, 7, 8)
    osw, osh = (sh, sw) if swapped else (sw, sh)
    thumb_plan = plan(spec, osw, osh, upscale)
    if im.format in ("JPEG", "MPO"):
        left, top, right, bottom = thumb_plan.box
        scale = max(thumb_plan.size[0] / (right - left), thumb_plan.size[1] / (bottom - top))
        need = (math.ceil(osw * scale * REDUCING_GAP), math.ceil(osh * scale * REDUCING_GAP))
        if swapped:
            need = (need[1], need[0])
        if need[0] < sw and need[1] < sh:
            im.draft(None, need)
    im.load()
    if orientation != 1:
        im = ImageOps.exif_transpose(im)
    cw, ch = im.size
    box = scale_box(thumb_plan.box, cw / osw, ch / osh)
    return im, Plan(thumb_plan.size, box)


# -- encoding ---------------------------------------------------------------


def _flatten(im: Image.Image) -> Image.Image:
    """Composite on white for formats without alpha."""
    if im.mode in ("RGB", "L"):
        return im
    rgba = im.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _icc_fits(icc_profile: bytes, mode: str, format_name: str) -> bool:
    """Whether the profile's colour space (ICC header bytes 16-20) is the one written.

    A CMYK source's CMYK profile must not be attached to the RGB pixels it was
    converted to; WEBP and AVIF store greyscale as RGB.
    """
    grey = mode in ("L", "LA") and format_name not in ("WEBP", "AVIF")
    return icc_profile[16:20] == (b"GRAY" if grey else b"RGB ")


def encode(im: Image.Image, format_name: str, quality: int, icc_profile: bytes | None) -> bytes:
    params: dict[str, object] = {}
    if format_name == "JPEG":
        im = _flatten(im)
        params.update(quality=quality, optimize=True, progressive=True)
    elif format_name == "WEBP":
        params.update(quality=quality, method=4)
    elif format_name == "AVIF":
        params.update(quality=quality)
    elif format_name == "PNG":
        params.update(compress_level=6)
    elif format_name == "GIF" and im.mode == "LA":
        im = im.convert("RGBA")  # Pillow's GIF writer turns LA into L, dropping the alpha
    if icc_profile and format_name != "GIF" and _icc_fits(icc_profile, im.mode, format_name):
        params["icc_profile"] = icc_profile
    im.info = {}  # nothing from the source (EXIF, GPS, comments, XMP) reaches the output
    buffer = io.BytesIO()
    im.save(buffer, format_name, **params)
    return buffer.getvalue()


def render(
    fp: IO[bytes],
    spec: ThumbnailSpec,
    *,
    upscale: bool = False,
    quality: int = 85,
    max_pixels: int = 120_000_000,
) -> bytes:
    """Render ``spec`` from the source file ``fp`` and return the encoded bytes.

    Raises :class:`BadSourceImage` (or :class:`SourceTooLarge`) for anything that
    is wrong with the source; other exceptions are bugs and propagate.
    """
    im = open_source(fp, max_pixels)
    icc_profile = im.info.get("icc_profile")
    try:
        im, thumb_plan = decode(im, spec, upscale)
        im = _normalize_mode(im)
    except Image.DecompressionBombError as e:
        raise SourceTooLarge(f"The source image is too large: {e}") from e
    except Exception as e:  # truncated or corrupt data surfaces here, as many types
        raise BadSourceImage(f"The source image cannot be decoded: {e}") from e
    width, height = thumb_plan.size
    if width * height > max_pixels:
        # With upscaling, ``Wx``/``xH`` on a source of extreme aspect ratio asks for
        # an unbounded free side (1x1000 at 4096x is 4096x4096000): refuse, as for a bomb.
        raise SourceTooLarge(
            f"The thumbnail would have {width * height} pixels, over the limit of {max_pixels}."
        )
    if spec.method == "smart":
        thumb_plan = Plan(thumb_plan.size, smart_box(im, thumb_plan.box))
    out = im.resize(
        thumb_plan.size, Image.Resampling.LANCZOS, box=thumb_plan.box, reducing_gap=REDUCING_GAP
    )
    return encode(out, spec.format, quality, icc_profile)
