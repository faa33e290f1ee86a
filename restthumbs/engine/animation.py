"""The animation policy: an animated source gives its first frame, or every frame.

:class:`AnimationPolicy` says whether to keep an animation and within which budget;
:func:`keeps_animation` decides for one source and one output format, and
:func:`render_animation` renders every frame through one plan and encodes them as an
animated GIF or WebP.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageSequence

from ..exceptions import BadSourceImage
from ..spec import ThumbnailSpec
from . import budget
from .encoding import ENCODER_OPTIONS
from .geometry import Plan, check_output_size, plan, smart_box
from .resampling import resample

logger = logging.getLogger("restthumbs")

#: Source formats whose frames are an animation (PNG: APNG), as opposed to
#: several still images (MPO's preview, TIFF's pages).
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP")


@dataclass(frozen=True)
class AnimationPolicy:
    """Keep an animated source's frames (GIF/WebP output only) within a budget.

    ``max_pixels`` bounds the decoding work: frames x source pixels.
    """

    keep: bool = False
    max_frames: int = 100
    max_pixels: int = 50_000_000


FIRST_FRAME = AnimationPolicy()


def keeps_animation(
    im: Image.Image, spec: ThumbnailSpec, policy: AnimationPolicy, upscale: bool, max_memory: int
) -> bool:
    """Whether to render every frame: asked for, animated, GIF/WebP out, in budget.

    Over any budget (frames, frames x pixels, memory) the first frame is rendered.
    """
    if not policy.keep or spec.format not in ("GIF", "WEBP"):
        return False
    if im.format not in ANIMATED_FORMATS:
        return False  # MPO and TIFF hold several still images, of different sizes
    try:
        frames = _frames_up_to(im, policy.max_frames + 1)
    except Exception as e:  # counting parses frame headers: a truncated file fails here
        raise BadSourceImage(f"The animated source image cannot be decoded: {e}") from e
    if frames < 2:
        return False
    output = plan(spec, im.width, im.height, upscale).size
    # One frame at a time through RGBA and premultiplied RGBA; every output frame is kept.
    needed = budget.estimate("RGBA", im.size, output) + frames * 4 * output[0] * output[1]
    if (
        frames > policy.max_frames
        or frames * im.width * im.height > policy.max_pixels
        or needed > max_memory
    ):
        logger.info(
            "Animated source over budget (%d frames of %dx%d); keeping its first frame.",
            frames,
            im.width,
            im.height,
        )
        return False
    return True


def _frames_up_to(im: Image.Image, limit: int) -> int:
    """The number of frames, counted no further than ``limit``.

    A GIF's frame count is known only by walking its frames (in Python, block by
    block): a file of a million tiny frames must not be walked to the end.
    """
    if im.format != "GIF":
        return int(getattr(im, "n_frames", 1))
    try:
        im.seek(limit - 1)
    except EOFError:
        im.seek(0)
        return int(getattr(im, "n_frames", 1))  # fewer than limit: bounded work
    im.seek(0)
    return limit


def render_animation(
    im: Image.Image, spec: ThumbnailSpec, upscale: bool, quality: int, max_pixels: int
) -> bytes:
    """Every frame through the same plan (smart: the first frame's box), re-encoded."""
    thumb_plan = plan(spec, im.width, im.height, upscale)
    check_output_size(thumb_plan, max_pixels, spec.format)
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
        params.update(ENCODER_OPTIONS["WEBP"], quality=quality)  # a still WebP's parameters
    else:
        params.update(disposal=2, optimize=False)
    first = frames[0]
    first.info = {}
    buffer = io.BytesIO()
    first.save(buffer, spec.format, **params)
    return buffer.getvalue()
