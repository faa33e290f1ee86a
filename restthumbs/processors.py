"""The Pillow engine: decode, plan, resample, encode. No storage, locks or HTTP.

The pipeline is built for a cold render on a large photo:

1. :func:`open_source` reads only the header, refuses non-image formats we do not
   trust and sources over the pixel budget, before anything is decoded.
2. :func:`plan` computes the output size and the source region (box) from the
   header's dimensions, in the orientation EXIF says.
3. JPEG sources are decoded at the smallest DCT scale (1/2, 1/4, 1/8) whose
   result still covers the box at the output size (``Image.draft``); then EXIF
   orientation is applied to the small image.
4. One ``resize`` with ``box=`` and ``reducing_gap=`` crops at the reduced scale,
   shrinks by an integer factor with ``reduce()`` and finishes with LANCZOS.
   Alpha is premultiplied first, so transparent sources get ``reduce()`` too.
5. Sources tagged with a non-sRGB ICC profile (Adobe RGB, Display P3, CMYK) are
   converted to sRGB on the small output; an sRGB profile is kept as it is.
6. The result is encoded with no other metadata (no EXIF, no GPS, no XMP).

An animated GIF/WebP gives its first frame, unless an :class:`AnimationPolicy`
keeps the animation (GIF or WebP output, within a frame and pixel budget).
"""

from __future__ import annotations

import functools
import io
import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageCms, ImageOps, ImageSequence, features

from .exceptions import BadSourceImage, SourceTooLarge
from .spec import ThumbnailSpec

logger = logging.getLogger("restthumbs")

#: ``reduce()`` stops at this multiple of the output size; LANCZOS does the
#: rest. 2.0 is Pillow's own default for ``thumbnail()``.
REDUCING_GAP = 2.0

#: JPEG DCT scaling stops at this multiple of the output size. 1.0 is the
#: smallest scale that still covers the target; ``benchmarks/quality.py``
#: measures SSIM >= 0.99 against a full-resolution LANCZOS resample with it.
DRAFT_GAP = 1.0

#: Input formats we decode. Everything else (EPS, which shells out to
#: Ghostscript; PSD; ICO; ...) is refused without being parsed further.
INPUT_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF")

#: Source formats whose frames are an animation (PNG: APNG), as opposed to
#: several still images (MPO's preview, TIFF's pages).
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP")

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class AnimationPolicy:
    """Keep an animated source's frames (GIF/WebP output only) within a budget.

    ``max_pixels`` bounds the decoding work: frames x source pixels.
    """

    keep: bool = False
    max_frames: int = 100
    max_pixels: int = 50_000_000


FIRST_FRAME = AnimationPolicy()


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
        x0, y0, x1, y1 = scale_box(candidate, px, py)
        window = proxy.crop((round(x0), round(y0), round(x1), round(y1)))
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
    """Bring any source mode to one of RGB, RGBA, L, LA, or CMYK.

    CMYK stays CMYK through the resample: :func:`to_srgb` converts the small
    output, with the source's profile when it has one.
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
        need = (math.ceil(osw * scale * DRAFT_GAP), math.ceil(osh * scale * DRAFT_GAP))
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


# -- resampling and colour ----------------------------------------------------


def resample(im: Image.Image, size: tuple[int, int], box: Box) -> Image.Image:
    """One LANCZOS resample of ``box`` to ``size`` after an integer ``reduce()``.

    Alpha is premultiplied here rather than left to ``resize``: some Pillow
    releases we support dropped ``reducing_gap`` on their own RGBA path, which
    ran LANCZOS over the full-size source.
    """
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(im.mode)
    if premultiplied:
        im = im.convert(premultiplied)
    strips = min(_cpu_count(), size[1] // 64) if size[0] * size[1] >= PARALLEL_MIN_PIXELS else 1
    if strips > 1:
        out = _resize_in_strips(im, size, box, strips)
    else:
        out = im.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)
    if premultiplied:
        out = out.convert(premultiplied.upper())
    return out


#: Outputs at least this large are resampled in horizontal strips on several
#: threads (Pillow releases the GIL while resampling): an 800x533 fit from a
#: 24 MP JPEG spends ~40% less time resampling on two cores. Strips use the
#: source rows above and below them as filter support, so the seams match a
#: single resize to within 1 level of rounding.
PARALLEL_MIN_PIXELS = 250_000


@functools.cache
def _cpu_count() -> int:
    return min(
        4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Created on first use (after a pre-forking server forked), never at import."""
    return ThreadPoolExecutor(max_workers=_cpu_count(), thread_name_prefix="restthumbs-resample")


def _resize_in_strips(im: Image.Image, size: tuple[int, int], box: Box, strips: int) -> Image.Image:
    width, height = size
    left, top, right, bottom = box
    step = (bottom - top) / height
    cuts = [round(height * i / strips) for i in range(strips + 1)]

    def strip(i: int) -> Image.Image:
        y0, y1 = cuts[i], cuts[i + 1]
        region = (left, top + y0 * step, right, top + y1 * step)
        return im.resize(
            (width, y1 - y0), Image.Resampling.LANCZOS, box=region, reducing_gap=REDUCING_GAP
        )

    out = Image.new(im.mode, size)
    for i, part in enumerate(_pool().map(strip, range(strips))):
        out.paste(part, (0, cuts[i]))
    return out


@functools.lru_cache(maxsize=32)
def _profile_info(icc_profile: bytes) -> tuple[str, bool]:
    """``(colour space, is sRGB)`` of an embedded profile; ``("", False)`` if unreadable."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        description = ImageCms.getProfileDescription(profile) or ""
    except Exception:
        return "", False
    space = icc_profile[16:20].decode("latin-1").strip()
    return space, "srgb" in description.lower()


@functools.lru_cache(maxsize=32)
def _srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.buildTransform(
            source, ImageCms.createProfile("sRGB"), mode, "RGB", ImageCms.Intent.PERCEPTUAL
        )
    except Exception:
        return None


def to_srgb(im: Image.Image, icc_profile: bytes | None) -> tuple[Image.Image, bytes | None]:
    """Convert a thumbnail to sRGB; return it with the profile to embed, if any.

    Runs on the small output, so colour management costs next to nothing. An
    sRGB (or matching greyscale) profile is kept as it is; other RGB and CMYK
    profiles are applied and dropped (untagged images are sRGB to browsers); a
    profile that does not describe the pixels, or cannot be read, is dropped.
    """
    space, is_srgb = _profile_info(icc_profile) if icc_profile else ("", False)
    if im.mode == "CMYK":
        transform = _srgb_transform(icc_profile, "CMYK") if space == "CMYK" else None
        if transform is None:
            return im.convert("RGB"), None
        converted = ImageCms.applyTransform(im, transform)
        assert converted is not None  # None only with inPlace=True
        return converted, None
    if space == "GRAY":
        return im, icc_profile if im.mode in ("L", "LA") else None
    if space != "RGB" or im.mode not in ("RGB", "RGBA"):
        return im, None
    if is_srgb:
        return im, icc_profile
    transform = _srgb_transform(icc_profile, "RGB")
    if transform is None:
        return im, None
    if im.mode == "RGBA":
        alpha = im.getchannel("A")
        converted = ImageCms.applyTransform(im.convert("RGB"), transform)
        assert converted is not None
        converted.putalpha(alpha)
        return converted, None
    converted = ImageCms.applyTransform(im, transform)
    assert converted is not None
    return converted, None


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
    animation: AnimationPolicy = FIRST_FRAME,
) -> bytes:
    """Render ``spec`` from the source file ``fp`` and return the encoded bytes.

    Raises :class:`BadSourceImage` (or :class:`SourceTooLarge`) for anything that
    is wrong with the source; other exceptions are bugs and propagate.
    """
    im = open_source(fp, max_pixels)
    icc_profile = im.info.get("icc_profile")
    if _keeps_animation(im, spec, animation):
        return _render_animation(im, spec, upscale, quality, max_pixels)
    try:
        im, thumb_plan = decode(im, spec, upscale)
        im = _normalize_mode(im)
    except Image.DecompressionBombError as e:
        raise SourceTooLarge(f"The source image is too large: {e}") from e
    except Exception as e:  # truncated or corrupt data surfaces here, as many types
        raise BadSourceImage(f"The source image cannot be decoded: {e}") from e
    _check_output_size(thumb_plan, max_pixels)
    if spec.method == "smart":
        thumb_plan = Plan(thumb_plan.size, smart_box(im, thumb_plan.box))
    out, icc_profile = to_srgb(resample(im, thumb_plan.size, thumb_plan.box), icc_profile)
    return encode(out, spec.format, quality, icc_profile)


def _check_output_size(thumb_plan: Plan, max_pixels: int) -> None:
    width, height = thumb_plan.size
    if width * height > max_pixels:
        # With upscaling, ``Wx``/``xH`` on a source of extreme aspect ratio asks for
        # an unbounded free side (1x1000 at 4096x is 4096x4096000): refuse, as for a bomb.
        raise SourceTooLarge(
            f"The thumbnail would have {width * height} pixels, over the limit of {max_pixels}."
        )


# -- animation ----------------------------------------------------------------


def _keeps_animation(im: Image.Image, spec: ThumbnailSpec, policy: AnimationPolicy) -> bool:
    """Whether to render every frame: asked for, animated, GIF/WebP out, in budget."""
    if not policy.keep or spec.format not in ("GIF", "WEBP"):
        return False
    if im.format not in ANIMATED_FORMATS:
        return False  # MPO and TIFF hold several still images, of different sizes
    try:
        frames = getattr(im, "n_frames", 1)
    except Exception as e:  # counting parses every frame header: a truncated file fails here
        raise BadSourceImage(f"The animated source image cannot be decoded: {e}") from e
    if frames < 2:
        return False
    if frames > policy.max_frames or frames * im.width * im.height > policy.max_pixels:
        logger.info(
            "Animated source over budget (%d frames of %dx%d); keeping its first frame.",
            frames,
            im.width,
            im.height,
        )
        return False
    return True


def _render_animation(
    im: Image.Image, spec: ThumbnailSpec, upscale: bool, quality: int, max_pixels: int
) -> bytes:
    """Every frame through the same plan (smart: the first frame's box), re-encoded."""
    thumb_plan = plan(spec, im.width, im.height, upscale)
    _check_output_size(thumb_plan, max_pixels)
    frames: list[Image.Image] = []
    durations: list[int] = []
    try:
        for index, frame in enumerate(ImageSequence.Iterator(im)):
            rgba = frame.convert("RGBA")
            if index == 0 and spec.method == "smart":
                thumb_plan = Plan(thumb_plan.size, smart_box(rgba, thumb_plan.box))
            frames.append(resample(rgba, thumb_plan.size, thumb_plan.box))
            durations.append(int(frame.info.get("duration", 100)))
    except Exception as e:
        raise BadSourceImage(f"The animated source image cannot be decoded: {e}") from e
    params: dict[str, object] = {
        "save_all": True,
        "append_images": frames[1:],
        "duration": durations,
    }
    loop = im.info.get("loop")
    if loop is not None:
        params["loop"] = int(loop)
    elif spec.format == "WEBP":
        params["loop"] = 1  # a GIF without a loop extension plays once; WebP says so with 1
    if spec.format == "WEBP":
        params.update(quality=quality, method=4)
    else:
        params.update(disposal=2, optimize=False)
    first = frames[0]
    first.info = {}
    buffer = io.BytesIO()
    first.save(buffer, spec.format, **params)
    return buffer.getvalue()
