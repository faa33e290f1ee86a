"""The demo's samples: which files ``restthumbs serve --demo`` writes, and what each shows.

The pictures are drawn by :mod:`.drawing`. :func:`write_samples` never
overwrites a file: an existing name is kept as is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .drawing import draw_animation, draw_landscape, draw_logo, draw_portrait, draw_rotated

#: The directory, below the user's ``--source-dir``, that holds the samples.
DEMO_DIRNAME = "restthumbs-demo"


@dataclass(frozen=True)
class Sample:
    """One sample: its file name, what it shows, how it is drawn and shown."""

    filename: str
    title: str
    note: str
    draw: Callable[[], bytes]
    ext: str  # the output extension used for it in the demo grid


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "landscape.jpg",
        "Landscape",
        "1600×1000 JPEG; the detail is on the right, so smart keeps the cabin where crop centres.",
        draw_landscape,
        "jpg",
    ),
    Sample("portrait.jpg", "Portrait", "800×1200 JPEG, taller than wide.", draw_portrait, "jpg"),
    Sample(
        "transparent.png",
        "Transparency",
        "640×640 PNG with alpha, kept in PNG (JPEG output is flattened on white).",
        draw_logo,
        "png",
    ),
    Sample(
        "animated.gif",
        "Animated GIF",
        "480×300, 12 frames; thumbnails show the first frame.",
        draw_animation,
        "gif",
    ),
    Sample(
        "rotated.jpg",
        "EXIF orientation",
        "Stored sideways (900×600) with EXIF orientation 6; thumbnails come out upright.",
        draw_rotated,
        "jpg",
    ),
)


def write_samples(directory: str, source_root: str) -> list[dict[str, Any]]:
    """Write every missing sample into ``directory`` (inside ``source_root``).

    Returns one dictionary per sample that is readable there: its source path
    (relative to ``source_root``), title, note, grid extension and pixel size.
    Existing files are never overwritten (``"xb"`` fails rather than replace).
    """
    os.makedirs(directory, exist_ok=True)
    written = []
    for sample in SAMPLES:
        path = os.path.join(directory, sample.filename)
        try:
            with open(path, "xb") as f:
                f.write(sample.draw())
        except FileExistsError:
            pass  # a file of the user's, or one from an earlier run: keep it
        info = _describe(sample, path, source_root)
        if info is not None:
            written.append(info)
    return written


def _describe(sample: Sample, path: str, source_root: str) -> dict[str, Any] | None:
    try:
        with Image.open(path) as im:
            width, height = im.size
    except Exception:
        return None  # not ours and not an image: leave it out of the demo
    return {
        "path": os.path.relpath(path, source_root).replace(os.sep, "/"),
        "title": sample.title,
        "note": sample.note,
        "ext": sample.ext,
        "width": width,
        "height": height,
    }
