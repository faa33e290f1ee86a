"""Resampling: one LANCZOS pass after an integer ``reduce()``, alpha premultiplied.

:func:`resample` crops ``box`` out of the decoded image and shrinks it to the output
size in a single ``resize``. Large outputs are cut into horizontal strips resampled on
a small thread pool, created on first use and never at import.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from .geometry import Box

#: ``reduce()`` stops at this multiple of the output size; LANCZOS does the
#: rest. 2.0 is Pillow's own default for ``thumbnail()``.
REDUCING_GAP = 2.0

#: Outputs at least this large are resampled in horizontal strips on several
#: threads (Pillow releases the GIL while resampling): an 800x533 fit from a
#: 24 MP JPEG spends ~40% less time resampling on two cores. Strips use the
#: source rows above and below them as filter support, so the seams match a
#: single resize to within 1 level of rounding.
PARALLEL_MIN_PIXELS = 250_000


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
