"""Decoding a source: identify it from its header, then decode only what the plan needs.

:func:`open_source` reads the header alone, refuses formats we do not trust and
sources over the pixel budget before a pixel is decoded. :func:`decode` computes the
plan in the orientation EXIF says, lets JPEG decode at a reduced DCT scale
(``Image.draft``) and turns the image upright. :func:`normalize_mode` brings any mode
to one the resampler and the encoders handle. Pillow's own errors propagate from
:func:`decode`; the conductor turns them into :class:`BadSourceImage`.
"""

from __future__ import annotations

import functools
import math
from typing import IO

from PIL import Image, ImageFile, ImageOps

from ..exceptions import BadSourceImage, SourceTooLarge
from ..spec import ThumbnailSpec
from . import budget, strips
from .encoding import check_encodable
from .geometry import Plan, plan, scale_box
from .resampling import REDUCING_GAP

#: JPEG DCT scaling stops at this multiple of the output size. 1.0 is the
#: smallest scale that still covers the target; ``benchmarks/quality.py``
#: measures SSIM >= 0.99 against a full-resolution LANCZOS resample with it.
DRAFT_GAP = 1.0

#: A progressive JPEG with more scans is refused: encoders write about 10 (mozjpeg's
#: optimised scripts a few more); a file with thousands is an attack on decode time.
MAX_JPEG_SCANS = 100

#: Input formats we decode. Everything else (EPS, which shells out to
#: Ghostscript; PSD; ICO; ...) is refused without being parsed further.
INPUT_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF")


@functools.cache
def input_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in INPUT_FORMATS if f in Image.OPEN)


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
    """The EXIF orientation (1-8) of ``im``; 1 if it has none or it cannot be read.

    Only called where reading EXIF cannot decode pixels: on a JPEG's header, or
    after ``load()``. (PNG's ``getexif()`` loads the image to look for an eXIf
    chunk after the pixels; a decoding error swallowed there would leave a
    half-decoded image that a second ``load()`` returns as if complete.)
    """
    try:
        value = im.getexif().get(0x0112, 1)
        return int(value) if value in range(1, 9) else 1
    except Exception:
        return 1


def _header_orientation(im: Image.Image) -> int:
    """The orientation the header's EXIF says, read without decoding, for the checks
    made before decoding. A TIFF's is applied by Pillow itself, as it loads (1)."""
    exif = im.info.get("exif")
    if not exif or im.format == "TIFF":
        return 1
    try:
        value = Image.Exif()
        value.load(exif)
        orientation = value.get(0x0112, 1)
        return int(orientation) if orientation in range(1, 9) else 1
    except Exception:
        return 1


def normalize_mode(im: Image.Image) -> Image.Image:
    """Bring any source mode to one of RGB, RGBA, L, LA, or CMYK.

    CMYK stays CMYK through the resample: :func:`.colour.to_srgb` converts the
    small output, with the source's profile when it has one.
    """
    mode = im.mode
    if mode == "CMYK":
        return im
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


def decode(
    im: Image.Image, spec: ThumbnailSpec, upscale: bool, max_memory: int
) -> tuple[Image.Image, Plan]:
    """Decode as little as the plan needs; return the oriented image and its plan.

    The pixels are decoded exactly once, and a decoding error propagates. What
    the decoding will cost is checked against ``max_memory`` first
    (:mod:`.budget`). A JPEG decodes at a reduced DCT scale; a large PNG in
    bands, reduced as it goes (:mod:`.strips`). EXIF orientation is applied
    exactly once: a JPEG's is read from its header (the plan, and so the
    reduced DCT scale, depend on it); every other format's after decoding,
    because some plugins apply it themselves as they load (Pillow rotates a
    TIFF and drops its orientation tag) and PNG may keep it after the pixels.
    The plan is computed on the header's dimensions and then scaled to the
    decoded image, so a reduced decode never changes the output size.
    """
    sw, sh = im.size  # the header's: a reduced decode makes the image smaller
    if im.format in ("JPEG", "MPO"):
        orientation = _orientation(im)
        thumb_plan = _plan(spec, sw, sh, orientation, upscale)
        check_encodable(thumb_plan.size, spec.format)
        _draft(im, thumb_plan, orientation)
        _check_scans(im)
        _check_budget(im, (sw, sh), thumb_plan.size, max_memory, rotated=orientation != 1)
        im.load()
    else:
        guess = _header_orientation(im)  # the real one is read after decoding
        output = _plan(spec, sw, sh, guess, upscale).size
        check_encodable(output, spec.format)
        factor = _band_factor(im, spec, upscale)
        if factor is not None and isinstance(im, ImageFile.ImageFile):
            budget.check(strips.estimate(im, factor, output), max_memory, "The source image")
            im = strips.decode_reduced(im, factor)
        else:
            _check_budget(im, (sw, sh), output, max_memory, rotated=guess != 1)
            im.load()
        orientation = _orientation(im)
        thumb_plan = _plan(spec, sw, sh, orientation, upscale)
    if orientation != 1:
        im = ImageOps.exif_transpose(im)
    osw, osh = _oriented(sw, sh, orientation)
    cw, ch = im.size
    box = scale_box(thumb_plan.box, cw / osw, ch / osh)
    return im, Plan(thumb_plan.size, box)


def _check_budget(
    im: Image.Image,
    header_size: tuple[int, int],
    output: tuple[int, int],
    max_memory: int,
    *,
    rotated: bool,
) -> None:
    needed = budget.estimate(
        im.mode,
        im.size,
        output,
        transparency="transparency" in im.info,
        rotated=rotated,
        decoder=budget.decoder_bytes(im) * header_size[0] * header_size[1],
    )
    budget.check(needed, max_memory, f"The {im.format} source ({im.width}x{im.height} {im.mode})")


def _band_factor(im: Image.Image, spec: ThumbnailSpec, upscale: bool) -> tuple[int, int] | None:
    """The ``reduce()`` factors a banded decode may use, or ``None`` if it should not.

    Only worth it for a large image: one whose whole decode would take more
    than :data:`.strips.MIN_WHOLE_BYTES`.

    The orientation is not known before decoding (a PNG may keep it after the
    pixels), so the factors must suit both: the smaller of the two per axis.
    Each keeps at least :data:`.resampling.REDUCING_GAP` times the output, as
    ``resize(reducing_gap=...)`` would.
    """
    if not strips.can_decode_in_bands(im):
        return None
    sw, sh = im.size
    whole = budget.estimate(im.mode, im.size, (0, 0), transparency="transparency" in im.info)
    if whole <= strips.MIN_WHOLE_BYTES:
        return None  # small enough to decode whole: faster, and exactly as before
    factors = []
    for swapped in (False, True):
        p = plan(spec, sh, sw, upscale) if swapped else plan(spec, sw, sh, upscale)
        left, top, right, bottom = p.box
        fx = (right - left) / p.size[0] / REDUCING_GAP
        fy = (bottom - top) / p.size[1] / REDUCING_GAP
        factors.append((fy, fx) if swapped else (fx, fy))
    factor = (int(min(f[0] for f in factors)), int(min(f[1] for f in factors)))
    if factor[0] < 2 and factor[1] < 2:
        return None
    return max(1, factor[0]), max(1, factor[1])


def _check_scans(im: Image.Image) -> None:
    """Refuse a progressive JPEG of more than :data:`MAX_JPEG_SCANS` scans, unread.

    Each scan makes libjpeg walk every block of the image again, and it only
    warns about repeated ones: a few kilobytes of scans can cost minutes. A
    scan starts with an SOS marker (FF DA), which entropy-coded data cannot
    contain (a data FF is followed by 00), so counting them is a byte search.
    """
    if not im.info.get("progressive"):
        return
    fp = getattr(im, "fp", None)
    if fp is None:
        return
    position = fp.tell()
    fp.seek(0)
    scans, tail = 0, b""
    while chunk := fp.read(1 << 20):
        scans += (tail + chunk[:1]).count(b"\xff\xda") + chunk.count(b"\xff\xda")
        tail = chunk[-1:]
    fp.seek(position)
    if scans > MAX_JPEG_SCANS:
        raise SourceTooLarge(
            detail=f"The progressive JPEG has {scans} scans, over the limit of {MAX_JPEG_SCANS}."
        )


def _oriented(width: int, height: int, orientation: int) -> tuple[int, int]:
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _plan(spec: ThumbnailSpec, sw: int, sh: int, orientation: int, upscale: bool) -> Plan:
    return plan(spec, *_oriented(sw, sh, orientation), upscale)


def _draft(im: Image.Image, thumb_plan: Plan, orientation: int) -> None:
    """Let a JPEG decode at the smallest DCT scale that still covers the plan's box."""
    need = draft_size(im.size, thumb_plan, orientation)
    if need[0] < im.size[0] and need[1] < im.size[1]:
        im.draft(None, need)


def draft_size(size: tuple[int, int], thumb_plan: Plan, orientation: int) -> tuple[int, int]:
    """The decoded size (in the stored image's axes) a JPEG of ``size`` needs for the plan."""
    sw, sh = size
    osw, osh = _oriented(sw, sh, orientation)
    left, top, right, bottom = thumb_plan.box
    scale = max(thumb_plan.size[0] / (right - left), thumb_plan.size[1] / (bottom - top))
    need = (math.ceil(osw * scale * DRAFT_GAP), math.ceil(osh * scale * DRAFT_GAP))
    return _oriented(*need, orientation)  # back to the stored image's axes
