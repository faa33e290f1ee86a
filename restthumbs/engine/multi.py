"""Several thumbnails of one source from one decode: what ``thumbnails_warm`` renders.

:func:`render_many` is :func:`restthumbs.engine.render` for a list of specs. The
header is read once and the pixels are decoded once, at the scale the most
demanding spec needs: a JPEG at the smallest DCT scale that still covers every
plan, a large PNG in bands reduced by the factors that suit every plan. Each spec
is then planned, resampled, converted to sRGB and encoded from that one image, in
the order given, one output in memory at a time. The view keeps rendering one
thumbnail per request with :func:`~restthumbs.engine.render`.

How the outputs compare with the view's (``testsuite/test_engine_multi.py``):

- a spec whose own render decodes at the same scale as the shared decode (the
  most demanding spec, and any other at that scale; every spec of a source that is
  not a JPEG or a large PNG) is byte-identical to the view's thumbnail;
- a smaller ``crop`` or ``scale`` spec of a JPEG starts from the shared decode
  ``reduce()``d by an integer factor to the size its own render decodes at (1/8
  rather than 1/4 of the source, say; DCT scaling averages blocks too): the same
  size, format and region, pixels within about 2 levels of 255 on average;
- a smaller ``smart`` spec of a JPEG is rendered from its own decode, at its own
  scale, byte-identical: the window a smart crop settles on depends on the exact
  pixels it searches, and a different decode can move it.

An animated source whose animation some spec keeps is rendered spec by spec with
:func:`~restthumbs.engine.render` (each reads the file again): its frames decode
per output format anyway.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import IO

from PIL import Image, ImageFile, ImageOps

from ..exceptions import BadSourceImage, SourceTooLarge, ThumbnailError
from ..spec import ThumbnailSpec
from . import budget, strips
from .animation import FIRST_FRAME, AnimationPolicy, keeps_animation
from .budget import DEFAULT_MAX_MEMORY
from .colour import to_srgb
from .decoding import (
    _band_factor,
    _check_budget,
    _check_scans,
    _header_orientation,
    _orientation,
    _oriented,
    _plan,
    draft_size,
    normalize_mode,
    open_source,
)
from .encoding import check_encodable, encode
from .geometry import Plan, check_output_size, scale_box, smart_box
from .resampling import resample

#: One spec's outcome: the encoded thumbnail, or why this spec alone cannot be rendered.
Output = bytes | ThumbnailError

#: The plan of a spec rendered from its own decode (a smart crop at another DCT scale).
ALONE = Plan((0, 0), (0.0, 0.0, 0.0, 0.0))


def render_many(
    fp: IO[bytes],
    specs: Sequence[ThumbnailSpec],
    *,
    qualities: Sequence[int],
    upscale: bool = False,
    max_pixels: int = 120_000_000,
    max_memory: int = DEFAULT_MAX_MEMORY,
    animation: AnimationPolicy = FIRST_FRAME,
) -> Iterator[Output]:
    """Yield, for each of ``specs`` in order, its encoded bytes or its own error.

    What is wrong with the source itself (not an image, truncated, over a budget)
    is raised, as :func:`~restthumbs.engine.render` raises it, before the first
    output; what only one spec cannot do (a free side its format cannot hold) is
    that spec's output. ``qualities`` gives each spec's encoder quality.
    """
    if len(qualities) != len(specs):
        raise ValueError("render_many() needs one quality per spec.")
    im = open_source(fp, max_pixels)
    if any(keeps_animation(im, spec, animation, upscale, max_memory) for spec in specs):
        yield from _one_by_one(fp, specs, qualities, upscale, max_pixels, max_memory, animation)
        return
    icc_profile = im.info.get("icc_profile")
    try:
        im, plans, reductions = _decode_shared(im, specs, upscale, max_memory)
        im = normalize_mode(im)
    except ThumbnailError:
        raise
    except Image.DecompressionBombError as e:
        raise SourceTooLarge(f"The source image is too large: {e}") from e
    except Exception as e:  # truncated or corrupt data surfaces here, as many types
        raise BadSourceImage(f"The source image cannot be decoded: {e}") from e
    reduced: dict[int, Image.Image] = {1: im}
    for spec, quality, thumb_plan, k in zip(specs, qualities, plans, reductions, strict=True):
        if thumb_plan is ALONE:
            yield from _one_by_one(
                fp, [spec], [quality], upscale, max_pixels, max_memory, animation
            )
            continue
        if isinstance(thumb_plan, ThumbnailError):
            yield thumb_plan
            continue
        try:
            check_output_size(thumb_plan, max_pixels, spec.format)
        except ThumbnailError as e:
            yield e
            continue
        if k not in reduced:  # the size its own decode has: DCT scaling averages blocks too
            reduced[k] = im.reduce(k)
        source = reduced[k]
        box = scale_box(thumb_plan.box, source.width / im.width, source.height / im.height)
        if spec.method == "smart":
            box = smart_box(source, box)
        out, profile = to_srgb(resample(source, thumb_plan.size, box), icc_profile)
        yield encode(out, spec.format, quality, profile)


def _one_by_one(
    fp: IO[bytes],
    specs: Sequence[ThumbnailSpec],
    qualities: Sequence[int],
    upscale: bool,
    max_pixels: int,
    max_memory: int,
    animation: AnimationPolicy,
) -> Iterator[Output]:
    from . import render

    for spec, quality in zip(specs, qualities, strict=True):
        fp.seek(0)
        try:
            yield render(
                fp,
                spec,
                upscale=upscale,
                quality=quality,
                max_pixels=max_pixels,
                max_memory=max_memory,
                animation=animation,
            )
        except (BadSourceImage, SourceTooLarge):
            raise  # the source itself: every spec would fail the same way
        except ThumbnailError as e:
            yield e


def _decode_shared(
    im: Image.Image, specs: Sequence[ThumbnailSpec], upscale: bool, max_memory: int
) -> tuple[Image.Image, list[Plan | ThumbnailError], list[int]]:
    """:func:`.decoding.decode` for several specs: one decode that covers every plan.

    Returns the oriented image, each spec's plan scaled to it (or the error
    that spec alone has, its output being one its format cannot hold), and the
    factor by which to ``reduce()`` the image for each spec, so that it starts
    from the size its own render decodes at (a JPEG's DCT scale: 1, 2, 4 or 8).
    """
    sw, sh = im.size  # the header's: a reduced decode makes the image smaller
    reductions = [1] * len(specs)
    if im.format in ("JPEG", "MPO"):
        orientation = _orientation(im)
        plans = _plans(specs, sw, sh, orientation, upscale)
        good = [p for p in plans if isinstance(p, Plan)]
        if good:
            needs = [draft_size(im.size, p, orientation) for p in good]
            need = (max(n[0] for n in needs), max(n[1] for n in needs))
            shared = dct_scale(im.size, need)
            if need[0] < sw and need[1] < sh:
                im.draft(None, need)
            own = [
                dct_scale((sw, sh), draft_size((sw, sh), p, orientation))
                if isinstance(p, Plan)
                else shared
                for p in plans
            ]
            reductions = [max(1, scale // shared) for scale in own]
            plans = [
                ALONE if isinstance(p, Plan) and spec.method == "smart" and k > 1 else p
                for spec, p, k in zip(specs, plans, reductions, strict=True)
            ]
            good = [p for p in plans if isinstance(p, Plan) and p is not ALONE]
        _check_scans(im)
        _check_budget(im, (sw, sh), _largest(good), max_memory, rotated=orientation != 1)
        im.load()
    else:
        guess = _header_orientation(im)  # the real one is read after decoding
        guessed = [p for p in _plans(specs, sw, sh, guess, upscale) if isinstance(p, Plan)]
        factor = _shared_band_factor(im, specs, upscale)
        if factor is not None and isinstance(im, ImageFile.ImageFile):
            needed = strips.estimate(im, factor, _largest(guessed))
            budget.check(needed, max_memory, "The source image")
            im = strips.decode_reduced(im, factor)
        else:
            _check_budget(im, (sw, sh), _largest(guessed), max_memory, rotated=guess != 1)
            im.load()
        orientation = _orientation(im)
        plans = _plans(specs, sw, sh, orientation, upscale)
    if orientation != 1:
        im = ImageOps.exif_transpose(im)
    osw, osh = _oriented(sw, sh, orientation)
    cw, ch = im.size
    scaled: list[Plan | ThumbnailError] = [
        Plan(p.size, scale_box(p.box, cw / osw, ch / osh))
        if isinstance(p, Plan) and p is not ALONE
        else p
        for p in plans
    ]
    return im, scaled, reductions


def _plans(
    specs: Sequence[ThumbnailSpec], sw: int, sh: int, orientation: int, upscale: bool
) -> list[Plan | ThumbnailError]:
    plans: list[Plan | ThumbnailError] = []
    for spec in specs:
        thumb_plan = _plan(spec, sw, sh, orientation, upscale)
        try:
            check_encodable(thumb_plan.size, spec.format)
        except ThumbnailError as e:
            plans.append(e)
            continue
        plans.append(thumb_plan)
    return plans


def dct_scale(size: tuple[int, int], need: tuple[int, int]) -> int:
    """The DCT scale (1, 2, 4 or 8) Pillow's ``draft`` picks for ``need``, as
    :func:`.decoding._draft` asks it (only when both sides are smaller)."""
    if not (need[0] < size[0] and need[1] < size[1]):
        return 1
    most = min(size[0] // max(1, need[0]), size[1] // max(1, need[1]))
    return next(s for s in (8, 4, 2, 1) if most >= s)


def _largest(plans: Sequence[Plan]) -> tuple[int, int]:
    """The largest output: outputs are made one after another, so the peak holds one."""
    return max((p.size for p in plans), key=lambda s: s[0] * s[1], default=(0, 0))


def _shared_band_factor(
    im: Image.Image, specs: Sequence[ThumbnailSpec], upscale: bool
) -> tuple[int, int] | None:
    """The ``reduce()`` factors a banded decode may use for every spec: the smallest."""
    factors = [_band_factor(im, spec, upscale) for spec in specs]
    if not factors or any(f is None for f in factors):
        return None
    fx = min(f[0] for f in factors if f is not None)
    fy = min(f[1] for f in factors if f is not None)
    if fx < 2 and fy < 2:
        return None
    return fx, fy
