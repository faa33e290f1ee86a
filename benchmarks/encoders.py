"""What ``benchmarks/formats.py`` measures with: one workload's pixels, the encoders, SSIM.

A :class:`Case` is one corpus source at one size: restthumbs' resized pixels just
before encoding (a lossless PNG render, decoded), and the full-resolution LANCZOS
reference of ``benchmarks/quality.py`` that every output is scored against. An
encoder is a function ``(pixels, quality) -> bytes``: restthumbs' own
(:func:`shipped`), Pillow with restthumbs' parameters but another speed or method
(:func:`pillow`), or libvips' ``webpsave``/``heifsave`` (:func:`vips`), imgproxy's
engine. Timing is interleaved (:func:`interleaved`): on a shared machine, noise then
falls on every contender alike.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from benchmarks.quality import flatten, reference, scores

Encoder = Callable[[Image.Image, int], bytes]


@dataclass
class Case:
    """One source at one size, with every (bytes, SSIM) measured on it remembered."""

    source: str
    workload: str
    path: Path
    size: str
    method: str
    pixels: Image.Image
    reference: Image.Image
    seen: dict[tuple[str, int], tuple[int, float]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.source} {self.workload}"

    def ssim(self, data: bytes) -> float:
        """SSIM of encoded ``data`` against the full-resolution reference (alpha on white)."""
        return scores(self.reference, flatten(Image.open(io.BytesIO(data))))[0]

    def measure(self, label: str, encoder: Encoder, quality: int) -> tuple[int, float]:
        """(bytes, SSIM) of ``encoder`` at ``quality``; ``label`` names the encoder."""
        key = (label, quality)
        if key not in self.seen:
            data = encoder(self.pixels, quality)
            self.seen[key] = (len(data), self.ssim(data))
        return self.seen[key]


def load_case(path: Path, workload: str, size: str, method: str) -> Case:
    from restthumbs.engine import render
    from restthumbs.spec import build_spec

    with open(path, "rb") as f:
        data = render(f, build_spec(path.name, size, method, "png"))
    pixels = Image.open(io.BytesIO(data))
    pixels.load()
    return Case(path.name, workload, path, size, method, pixels, reference(path, size, method))


# -- encoders -----------------------------------------------------------------


def shipped(format_name: str) -> Encoder:
    """restthumbs' encoder, exactly as the renderer calls it."""
    from restthumbs.engine.encoding import encode

    def run(im: Image.Image, quality: int) -> bytes:
        return encode(im, format_name, quality, None)

    return run


def pillow(format_name: str, **options: Any) -> Encoder:
    """Pillow with restthumbs' parameters for ``format_name``, ``options`` replacing some."""
    from restthumbs.engine.encoding import ENCODER_OPTIONS

    params = {**ENCODER_OPTIONS[format_name], **options}

    def run(im: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        im.save(buffer, format_name, quality=quality, **params)
        return buffer.getvalue()

    return run


def vips(format_name: str, effort: int) -> Encoder:
    """libvips' encoder at ``effort`` (``heifsave``'s effort is 9 - libavif's speed)."""
    import numpy as np
    import pyvips

    def run(im: Image.Image, quality: int) -> bytes:
        image = pyvips.Image.new_from_array(np.asarray(im), interpretation="srgb")
        if format_name == "WEBP":
            return bytes(image.webpsave_buffer(Q=quality, effort=effort))
        return bytes(image.heifsave_buffer(Q=quality, effort=effort, compression="av1"))

    return run


# -- searching and timing -----------------------------------------------------


def lowest_quality(case: Case, label: str, encoder: Encoder, target: float) -> int | None:
    """The lowest quality (1-100) whose SSIM reaches ``target``, by bisection."""
    lo, hi = 1, 100
    if case.measure(label, encoder, hi)[1] < target:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if case.measure(label, encoder, mid)[1] >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def bytes_at(case: Case, label: str, encoder: Encoder, target: float) -> tuple[float, int] | None:
    """The bytes ``encoder`` needs for SSIM ``target``, and the quality that reaches it.

    Interpolated between the lowest quality that reaches it and the one below, so
    an encoder is not charged for the overshoot of a whole quality step.
    """
    quality = lowest_quality(case, label, encoder, target)
    if quality is None:
        return None
    size_hi, ssim_hi = case.measure(label, encoder, quality)
    if quality == 1:
        return float(size_hi), quality
    size_lo, ssim_lo = case.measure(label, encoder, quality - 1)
    if ssim_hi <= ssim_lo:
        return float(size_hi), quality
    share = min(1.0, max(0.0, (target - ssim_lo) / (ssim_hi - ssim_lo)))
    return size_lo + share * (size_hi - size_lo), quality


def interleaved(tasks: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median milliseconds of each task, all run in turn ``repeat`` times.

    The order rotates every round, so no task always follows the same neighbour.
    """
    times: dict[str, list[float]] = {name: [] for name in tasks}
    names = list(tasks)
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            tasks[name]()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}
