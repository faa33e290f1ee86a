"""The Pillow engine: decode, plan, resample, encode. No storage, locks or HTTP.

The pipeline is built for a cold render on a large photo:

1. :func:`open_source` reads only the header, refuses non-image formats we do not
   trust and sources over the pixel budget, before anything is decoded; the
   memory the decoding will take is checked against a budget (:mod:`.budget`).
2. :func:`plan` computes the output size and the source region (box) from the
   header's dimensions, in the orientation EXIF says.
3. JPEG sources are decoded at the smallest DCT scale (1/2, 1/4, 1/8) whose
   result still covers the box at the output size (``Image.draft``); large
   PNGs are decoded in bands and reduced as they go (:mod:`.strips`); then EXIF
   orientation is applied to the small image.
4. One ``resize`` with ``box=`` and ``reducing_gap=`` crops at the reduced scale,
   shrinks by an integer factor with ``reduce()`` and finishes with LANCZOS.
   Alpha is premultiplied first, so transparent sources get ``reduce()`` too.
5. Sources tagged with a non-sRGB ICC profile (Adobe RGB, Display P3, CMYK) are
   converted to sRGB on the small output; an sRGB profile is kept as it is.
6. The result is encoded with no other metadata (no EXIF, no GPS, no XMP).

An animated GIF/WebP gives its first frame, unless an :class:`AnimationPolicy`
keeps the animation (GIF or WebP output, within a frame and pixel budget).

Each step has its module: :mod:`.decoding` (steps 1 and 3, with :mod:`.budget`
and :mod:`.strips`), :mod:`.geometry` (2, and
the smart crop), :mod:`.resampling` (4), :mod:`.colour` (5), :mod:`.encoding` (6) and
:mod:`.animation`. :func:`render` below runs them in order; the names other modules
use are re-exported here. :func:`render_many` (:mod:`.multi`) renders several specs of
one source from one decode, for ``thumbnails_warm``.
"""

from __future__ import annotations

from typing import IO

from PIL import Image

from ..exceptions import BadSourceImage, SourceTooLarge, ThumbnailError
from ..spec import ThumbnailSpec
from .animation import FIRST_FRAME, AnimationPolicy, keeps_animation, render_animation
from .budget import DEFAULT_MAX_MEMORY
from .colour import to_srgb
from .decoding import INPUT_FORMATS, decode, normalize_mode, open_source
from .encoding import can_encode, encode
from .geometry import Plan, check_output_size, plan, plan_crop, plan_scale, smart_box
from .multi import render_many
from .resampling import resample

__all__ = [
    "FIRST_FRAME",
    "INPUT_FORMATS",
    "AnimationPolicy",
    "Plan",
    "can_encode",
    "open_source",
    "plan",
    "plan_crop",
    "plan_scale",
    "render",
    "render_many",
]


def render(
    fp: IO[bytes],
    spec: ThumbnailSpec,
    *,
    upscale: bool = False,
    quality: int = 85,
    max_pixels: int = 120_000_000,
    max_memory: int = DEFAULT_MAX_MEMORY,
    animation: AnimationPolicy = FIRST_FRAME,
) -> bytes:
    """Render ``spec`` from the source file ``fp`` and return the encoded bytes.

    Raises :class:`BadSourceImage` (or :class:`SourceTooLarge`) for anything that
    is wrong with the source, :class:`OutputTooLarge` for an output its format
    cannot hold; other exceptions are bugs and propagate.
    """
    im = open_source(fp, max_pixels)
    icc_profile = im.info.get("icc_profile")
    if keeps_animation(im, spec, animation, upscale, max_memory):
        return render_animation(im, spec, upscale, quality, max_pixels)
    try:
        im, thumb_plan = decode(im, spec, upscale, max_memory)
        im = normalize_mode(im)
    except ThumbnailError:
        raise  # refused by a budget or found broken by a check of ours
    except Image.DecompressionBombError as e:
        raise SourceTooLarge(f"The source image is too large: {e}") from e
    except Exception as e:  # truncated or corrupt data surfaces here, as many types
        raise BadSourceImage(f"The source image cannot be decoded: {e}") from e
    check_output_size(thumb_plan, max_pixels, spec.format)
    if spec.method == "smart":
        thumb_plan = Plan(thumb_plan.size, smart_box(im, thumb_plan.box))
    out, icc_profile = to_srgb(resample(im, thumb_plan.size, thumb_plan.box), icc_profile)
    return encode(out, spec.format, quality, icc_profile)
