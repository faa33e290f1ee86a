"""Resampling (:mod:`restthumbs.engine.resampling`): the premultiplied alpha fast path, strips.

The only spy wraps ``Image.reduce`` (calling the original) to show which resampling
path ran; the outputs are compared with a full-resolution LANCZOS resample.
"""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image, ImageDraw

from .engine_helpers import mean_difference, near, render_image
from .images import encode

# -- the alpha fast path -------------------------------------------------------------------


class ReduceSpy:
    """Records ``(mode, size, factor)`` of every ``Image.reduce`` call; calls the real one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, tuple[int, int], int]] = []
        original = Image.Image.reduce

        def reduce(im: Image.Image, factor: Any, box: Any = None) -> Image.Image:
            smallest = min(factor) if isinstance(factor, (tuple, list)) else factor
            self.calls.append((im.mode, im.size, smallest))
            return original(im, factor, box)

        monkeypatch.setattr(Image.Image, "reduce", reduce)

    def premultiplied(self) -> list[int]:
        """Factors of the reductions that ran on premultiplied (RGBa/La) pixels."""
        return [factor for mode, _, factor in self.calls if mode in ("RGBa", "La")]


@pytest.fixture
def reduce_spy(monkeypatch: pytest.MonkeyPatch) -> ReduceSpy:
    return ReduceSpy(monkeypatch)


def alpha_source(mode: str = "RGBA") -> Image.Image:
    """1600x1200 in thirds: transparent (green under alpha 0), half-transparent red, opaque.

    The opaque third is blue with a yellow disc, so there is detail to resample. A
    resampler that does not premultiply blends the hidden green into the red edge.
    """
    im = Image.new("RGBA", (1600, 1200), (0, 255, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.rectangle((533, 0, 1066, 1199), fill=(255, 0, 0, 128))
    draw.rectangle((1067, 0, 1599, 1199), fill=(0, 0, 255, 255))
    draw.ellipse((1150, 300, 1500, 900), fill=(255, 255, 0, 255))
    return im if mode == "RGBA" else im.convert(mode)


@pytest.fixture(scope="module")
def alpha_png() -> bytes:
    return encode(alpha_source(), "PNG")


@pytest.mark.parametrize(
    ("size", "method", "box"),
    [
        ("200x200", "scale", (0, 0, 1600, 1200)),
        ("100x100", "crop", (200, 0, 1400, 1200)),
        ("160x40", "crop", (0, 400, 1600, 800)),
    ],
)
def test_large_rgba_source_is_reduced_and_matches_a_full_lanczos(
    alpha_png: bytes,
    reduce_spy: ReduceSpy,
    size: str,
    method: str,
    box: tuple[float, float, float, float],
) -> None:
    out = render_image(alpha_png, size, method, "png")
    assert out.mode == "RGBA"
    assert reduce_spy.premultiplied(), reduce_spy.calls
    assert min(reduce_spy.premultiplied()) >= 2
    # The reference: Pillow's premultiplied LANCZOS over every pixel, no reduce() step.
    reference = alpha_source().resize(out.size, Image.Resampling.LANCZOS, box=box)
    assert mean_difference(out, reference) <= 1.0


def test_large_la_source_takes_the_fast_path_too(reduce_spy: ReduceSpy) -> None:
    source = alpha_source("LA")
    out = render_image(encode(source, "PNG"), "200x200", "scale", "png")
    assert out.mode == "LA" and out.size == (200, 150)
    assert reduce_spy.premultiplied() and min(reduce_spy.premultiplied()) >= 2
    reference = source.resize(out.size, Image.Resampling.LANCZOS)
    assert mean_difference(out, reference) <= 1.0


def test_alpha_fast_path_keeps_transparency_and_undarkened_edges(
    alpha_png: bytes, reduce_spy: ReduceSpy
) -> None:
    out = render_image(alpha_png, "400x400", "scale", "png")
    assert out.size == (400, 300)
    assert reduce_spy.premultiplied() and min(reduce_spy.premultiplied()) >= 2
    # Columns 0-132 come from the transparent third (533 px / 4), 134-265 from the red.
    transparent = out.crop((0, 0, 128, 300))
    assert transparent.getchannel("A").getextrema() == (0, 0)
    red_band = out.crop((120, 0, 262, 300))
    checked = 0
    for r, g, b, a in red_band.get_flattened_data():  # type: ignore[misc]
        if a >= 16:  # where a viewer can see it at all, it is red, not dark red or green
            assert r >= 240 and g <= 12 and b <= 12, (r, g, b, a)
            checked += 1
    assert checked >= 120 * 300  # the whole band but the transparent edge
    assert near(out.getpixel((200, 150)), (255, 0, 0, 128), 2)


# -- strips on threads ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "RGBa", "L"])
def test_strip_parallel_resample_matches_a_single_resize(mode: str) -> None:
    """Large outputs are resampled in strips on threads; seams must not show.

    Compared in the premultiplied space where resampling happens (un-premultiplying
    magnifies rounding where alpha is tiny).
    """
    import numpy as np

    from restthumbs.engine import resampling
    from testsuite.images import photo

    source = photo((1500, 1000), mode="RGBA" if mode == "RGBa" else mode).convert(mode)
    size, box = (800, 533), (10.0, 5.5, 1490.0, 990.0)
    single = source.resize(
        size, Image.Resampling.LANCZOS, box=box, reducing_gap=resampling.REDUCING_GAP
    )
    strips = resampling._resize_in_strips(source, size, box, 2)
    diff = np.abs(np.asarray(single, dtype=int) - np.asarray(strips, dtype=int))
    assert strips.size == size
    assert diff.max() <= 1
    # resample() takes the parallel path for an output this large.
    assert size[0] * size[1] >= resampling.PARALLEL_MIN_PIXELS
