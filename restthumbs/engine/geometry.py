"""Thumbnail geometry: the output size and the source region it shows.

Pure arithmetic on dimensions, apart from :func:`smart_box`, which looks at pixels
(on a small greyscale proxy) to slide a crop to its most detailed window. Nothing
here decodes a file or encodes an image.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from ..exceptions import SourceTooLarge
from ..spec import ThumbnailSpec
from .encoding import check_encodable

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Plan:
    """The output size and the region of the (oriented) source it shows."""

    size: tuple[int, int]
    box: Box


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


def check_output_size(thumb_plan: Plan, max_pixels: int, format_name: str) -> None:
    """Refuse a plan whose output is over ``max_pixels`` (:class:`SourceTooLarge`) or
    larger than ``format_name`` can hold (:class:`OutputTooLarge`: a free side of a
    source of extreme aspect ratio, ``100x`` of a 10x70000 image)."""
    check_encodable(thumb_plan.size, format_name)
    width, height = thumb_plan.size
    if width * height > max_pixels:
        # With upscaling, ``Wx``/``xH`` on a source of extreme aspect ratio asks for
        # an unbounded free side (1x1000 at 4096x is 4096x4096000): refuse, as for a bomb.
        raise SourceTooLarge(
            f"The thumbnail would have {width * height} pixels, over the limit of {max_pixels}."
        )


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
