"""The animation policy (:mod:`restthumbs.engine.animation`): first frame, or every frame.

Animated GIF/WebP/APNG sources generated here go through
:func:`restthumbs.engine.render` (or the view), and the tests look at the output's
frames, timing, loop count and pixels; the settings that fill
:class:`~restthumbs.engine.AnimationPolicy` are checked through the view and the
system checks.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from PIL import Image, ImageChops, ImageSequence

from restthumbs import thumbnail_url
from restthumbs.engine import FIRST_FRAME, AnimationPolicy
from restthumbs.exceptions import BadSourceImage

from . import images
from .engine_helpers import ALL_EXTS, BLUE, RED, WHITE, YELLOW, near, render_bytes, render_image
from .images import encode
from .utils import body, files_under

DARK_GREEN = (0, 160, 0)  # the animations' second frame colour

KEEP = AnimationPolicy(keep=True)


# -- animation: sources --------------------------------------------------------------------

FRAME_COLOURS = [RED, DARK_GREEN, BLUE, YELLOW]
DURATIONS = [100, 200, 150, 300]  # GIF stores centiseconds: multiples of 10 survive
LOOP = 3
SQUARE = 30  # the moving white square's side; its left edge is at 10 + 30 * frame


def animation_frames(count: int = 4, size: tuple[int, int] = (160, 120)) -> list[Image.Image]:
    """Distinct solid colours, with a white square moving right by 30 px each frame."""
    frames = []
    for i in range(count):
        im = Image.new("RGB", size, FRAME_COLOURS[i % len(FRAME_COLOURS)])
        left = (10 + SQUARE * i) % max(1, size[0] - SQUARE)
        im.paste(WHITE, (left, 40, left + SQUARE, 40 + SQUARE))
        frames.append(im)
    return frames


def animated(
    format_name: str, count: int = 4, size: tuple[int, int] = (160, 120), **params: Any
) -> bytes:
    frames = animation_frames(count, size)
    params.setdefault("duration", DURATIONS[:count] if count <= len(DURATIONS) else 100)
    params.setdefault("loop", LOOP)
    data = encode(frames[0], format_name, save_all=True, append_images=frames[1:], **params)
    with Image.open(io.BytesIO(data)) as check:
        assert check.format == format_name and check.n_frames == count  # type: ignore[attr-defined]
    return data


def decoded_frames(data: bytes) -> tuple[Image.Image, list[tuple[Image.Image, int | None]]]:
    """The output image and each frame as (RGB copy, duration in ms)."""
    im = Image.open(io.BytesIO(data))
    frames = []
    for frame in ImageSequence.Iterator(im):
        frame.load()
        frames.append((frame.convert("RGB"), frame.info.get("duration")))
    return im, frames


def frame_count(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as im:
        return int(getattr(im, "n_frames", 1))


def white_bbox(frame: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of the (near-)white pixels: where the square is."""
    r, g, b = frame.split()
    lowest = ImageChops.darker(ImageChops.darker(r, g), b)
    return lowest.point(lambda v: 255 if v >= 200 else 0).getbbox()


def expected_square(
    index: int, box: tuple[float, float, float, float], size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """Where frame ``index``'s square lands in an output of ``size`` showing ``box``."""
    left, top, right, bottom = box
    sx, sy = size[0] / (right - left), size[1] / (bottom - top)
    x0, y0 = 10 + SQUARE * index, 40
    return (
        max(0.0, (x0 - left) * sx),
        max(0.0, (y0 - top) * sy),
        min(size[0], (x0 + SQUARE - left) * sx),
        min(size[1], (y0 + SQUARE - top) * sy),
    )


@pytest.fixture(scope="module")
def anim_gif() -> bytes:
    return animated("GIF")


@pytest.fixture(scope="module")
def anim_webp() -> bytes:
    return animated("WEBP", lossless=True)


# -- animation: the default keeps the first frame ------------------------------------------


@pytest.mark.parametrize("ext", ALL_EXTS)
def test_animated_gif_gives_its_first_frame(ext: str) -> None:
    data = images.animated_gif()
    with Image.open(io.BytesIO(data)) as source:
        assert source.n_frames == 4  # type: ignore[attr-defined]
    out = render_image(data, "60x40", "crop", ext)
    assert getattr(out, "n_frames", 1) == 1
    assert not getattr(out, "is_animated", False)
    assert near(out.convert("RGB").getpixel((30, 20)), RED, 10)


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "gif"])
def test_default_policy_gives_first_frame_of_animated_webp(anim_webp: bytes, ext: str) -> None:
    data = render_bytes(anim_webp, "80x80", "crop", ext)
    assert render_bytes(anim_webp, "80x80", "crop", ext, animation=FIRST_FRAME) == data
    assert frame_count(data) == 1
    out = Image.open(io.BytesIO(data)).convert("RGB")
    assert out.size == (80, 80)
    assert near(out.getpixel((70, 5)), RED, 12)
    assert white_bbox(out) is not None  # the first frame's square, not a blank


# -- animation: kept -----------------------------------------------------------------------

CROP_BOX = (20.0, 0.0, 140.0, 120.0)  # 160x120 -> 80x80 crop


@pytest.mark.parametrize(
    ("source_format", "ext", "out_format"),
    [
        ("GIF", "gif", "GIF"),
        ("GIF", "webp", "WEBP"),
        ("WEBP", "webp", "WEBP"),
        ("WEBP", "gif", "GIF"),
        ("PNG", "gif", "GIF"),  # APNG
    ],
)
def test_kept_animation_has_every_frame_with_timing_and_colours(
    source_format: str, ext: str, out_format: str
) -> None:
    params: dict[str, Any] = {"lossless": True} if source_format == "WEBP" else {}
    source = animated(source_format, **params)
    out, frames = decoded_frames(render_bytes(source, "80x80", "crop", ext, animation=KEEP))
    assert out.format == out_format
    assert getattr(out, "is_animated", False) and len(frames) == 4
    assert out.info.get("loop") == LOOP
    assert [duration for _, duration in frames] == DURATIONS
    for i, (frame, _) in enumerate(frames):
        assert frame.size == (80, 80)
        assert near(frame.getpixel((75, 75)), FRAME_COLOURS[i], 12), i
        assert white_bbox(frame) == pytest.approx(expected_square(i, CROP_BOX, (80, 80)), abs=2), i


@pytest.mark.parametrize("ext", ["gif", "webp"])
@pytest.mark.parametrize(
    ("size", "method", "expected_size", "box"),
    [
        ("80x80", "crop", (80, 80), CROP_BOX),
        ("80x80", "scale", (80, 60), (0.0, 0.0, 160.0, 120.0)),
        ("40x", "crop", (40, 30), (0.0, 0.0, 160.0, 120.0)),
        ("x60", "scale", (80, 60), (0.0, 0.0, 160.0, 120.0)),
    ],
)
def test_kept_animation_crop_and_scale_geometry(
    anim_gif: bytes,
    ext: str,
    size: str,
    method: str,
    expected_size: tuple[int, int],
    box: tuple[float, float, float, float],
) -> None:
    _, frames = decoded_frames(render_bytes(anim_gif, size, method, ext, animation=KEEP))
    assert len(frames) == 4
    for i, (frame, _) in enumerate(frames):
        assert frame.size == expected_size
        square = white_bbox(frame)
        assert square == pytest.approx(expected_square(i, box, expected_size), abs=2), i


@pytest.mark.parametrize("ext", ["gif", "webp"])
def test_kept_animation_smart_uses_the_first_frames_box_for_all(anim_gif: bytes, ext: str) -> None:
    """The first frame's square is at the left edge: crop cuts it, smart keeps it whole."""
    _, smart = decoded_frames(render_bytes(anim_gif, "80x80", "smart", ext, animation=KEEP))
    _, crop = decoded_frames(render_bytes(anim_gif, "80x80", "crop", ext, animation=KEEP))
    assert len(smart) == len(crop) == 4
    boxes = [white_bbox(frame) for frame, _ in smart]
    assert all(frame.size == (80, 80) for frame, _ in smart)
    assert all(box is not None for box in boxes)
    first = boxes[0]
    assert first is not None and first[2] - first[0] >= 19  # all 30 px of it, at 1/1.5
    crop_first = white_bbox(crop[0][0])
    assert crop_first is not None and crop_first[2] - crop_first[0] <= 14  # 10 px cut off
    # One box for every frame: the square moves by the same 20 px in the output.
    lefts = [box[0] for box in boxes if box is not None]
    assert [b - a for a, b in itertools.pairwise(lefts)] == pytest.approx([20] * 3, abs=2)


@pytest.mark.parametrize("ext", ["gif", "webp"])
def test_gif_without_loop_extension_still_plays_once(ext: str) -> None:
    frames = animation_frames()
    source = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    with Image.open(io.BytesIO(source)) as check:
        assert "loop" not in check.info  # no NETSCAPE extension: browsers play it once
    out, frames_out = decoded_frames(render_bytes(source, "80x80", "crop", ext, animation=KEEP))
    assert len(frames_out) == 4
    if ext == "gif":
        assert "loop" not in out.info
    else:
        assert out.info.get("loop") == 1  # WebP's "play once"; 0 would be forever


@pytest.mark.parametrize("ext", ["jpg", "png"])
def test_keep_with_a_still_output_format_gives_first_frame(anim_gif: bytes, ext: str) -> None:
    data = render_bytes(anim_gif, "80x80", "crop", ext, animation=KEEP)
    assert data == render_bytes(anim_gif, "80x80", "crop", ext)
    assert frame_count(data) == 1
    assert near(Image.open(io.BytesIO(data)).convert("RGB").getpixel((75, 75)), RED, 12)


@pytest.mark.parametrize(("max_frames", "expected"), [(3, 1), (4, 4), (100, 4)])
def test_max_frames_budget(anim_gif: bytes, max_frames: int, expected: int) -> None:
    policy = AnimationPolicy(keep=True, max_frames=max_frames)
    data = render_bytes(anim_gif, "80x80", "crop", "gif", animation=policy)
    assert frame_count(data) == expected
    assert near(Image.open(io.BytesIO(data)).convert("RGB").getpixel((75, 75)), RED, 12)


@pytest.mark.parametrize(("max_pixels", "expected"), [(4 * 160 * 120 - 1, 1), (4 * 160 * 120, 4)])
def test_max_pixels_budget_counts_frames_times_source_pixels(
    anim_gif: bytes, max_pixels: int, expected: int
) -> None:
    policy = AnimationPolicy(keep=True, max_pixels=max_pixels)
    assert (
        frame_count(render_bytes(anim_gif, "80x80", "crop", "webp", animation=policy)) == expected
    )


@pytest.mark.parametrize("ext", ["gif", "webp"])
@pytest.mark.parametrize("source_format", ["GIF", "WEBP", "PNG"])
def test_still_source_is_unaffected_by_keep(source_format: str, ext: str) -> None:
    source = encode(animation_frames(1)[0], source_format)
    kept = render_bytes(source, "80x80", "crop", ext, animation=KEEP)
    assert kept == render_bytes(source, "80x80", "crop", ext)
    assert frame_count(kept) == 1


def multi_image(format_name: str) -> bytes:
    """A 400x300 red primary image followed by a smaller blue one (preview, page 2)."""
    extra = {"compression": None} if format_name == "TIFF" else {}
    primary = Image.new("RGB", (400, 300), RED)
    data = encode(
        primary,
        format_name,
        save_all=True,
        append_images=[Image.new("RGB", (160, 120), BLUE)],
        **extra,
    )
    with Image.open(io.BytesIO(data)) as check:
        assert check.format == format_name and check.n_frames == 2  # type: ignore[attr-defined]
    return data


@pytest.mark.parametrize("ext", ["gif", "webp"])
@pytest.mark.parametrize("source_format", ["MPO", "TIFF"])
def test_multi_image_stills_are_not_animations(source_format: str, ext: str) -> None:
    """An MPO's preview or a TIFF's second page is not a frame: keep renders the primary."""
    data = render_bytes(multi_image(source_format), "100x100", "crop", ext, animation=KEEP)
    assert frame_count(data) == 1
    out = Image.open(io.BytesIO(data)).convert("RGB")
    assert out.size == (100, 100)
    assert near(out.getpixel((50, 50)), RED, 12)


# -- animation: truncated sources ----------------------------------------------------------


def gif_frame_offsets(data: bytes) -> tuple[list[int], list[int]]:
    """Per frame: where its graphic control extension starts, and where its pixel data starts."""
    extensions = []
    position = data.find(b"!\xf9\x04")
    while position != -1:
        extensions.append(position)
        position = data.find(b"!\xf9\x04", position + 1)
    pixels = []
    with Image.open(io.BytesIO(data)) as im:
        for index in range(im.n_frames):  # type: ignore[attr-defined]
            im.seek(index)
            pixels.append(im.tile[0][2])
    return extensions, pixels


@pytest.mark.parametrize("where", ["frame header", "frame pixels"])
def test_truncated_animated_gif_is_refused(anim_gif: bytes, where: str) -> None:
    extensions, pixels = gif_frame_offsets(anim_gif)
    assert len(extensions) == len(pixels) == 4
    cut = extensions[2] + 1 if where == "frame header" else (pixels[2] + pixels[3]) // 2
    with pytest.raises(BadSourceImage):
        render_bytes(anim_gif[:cut], "80x80", "crop", "gif", animation=KEEP)


def test_every_truncation_of_an_animated_gif_renders_or_is_refused(anim_gif: bytes) -> None:
    """Cut anywhere after the first frame: a clean shorter animation or BadSourceImage."""
    _, pixels = gif_frame_offsets(anim_gif)
    outcomes: set[str] = set()
    for cut in range(pixels[1] - 40, len(anim_gif)):
        try:
            data = render_bytes(anim_gif[:cut], "80x80", "crop", "webp", animation=KEEP)
        except BadSourceImage:
            outcomes.add("refused")
            continue
        _, frames = decoded_frames(data)
        assert 1 <= len(frames) <= 4 and all(f.size == (80, 80) for f, _ in frames)
        outcomes.add("rendered")
    assert "refused" in outcomes


# -- through the view ----------------------------------------------------------------------


@pytest.fixture
def gif_source(write_source: Callable[..., Path], anim_gif: bytes) -> str:
    write_source("anim/clip.gif", anim_gif)
    return "anim/clip.gif"


def get_thumbnail(client: Any, source: str, ext: str = ".gif") -> Any:
    return client.get(thumbnail_url(source, "80x80", "crop", ext))


def test_view_keeps_animation_when_enabled(client: Any, gif_source: str, thumbs_dir: Path) -> None:
    with override_settings(THUMBNAILS_KEEP_ANIMATION=True):
        response = get_thumbnail(client, gif_source)
        content = body(response)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    out, frames = decoded_frames(content)
    assert out.format == "GIF" and len(frames) == 4
    assert [d for _, d in frames] == DURATIONS
    stored = files_under(thumbs_dir)
    assert len(stored) == 1 and (thumbs_dir / stored[0]).read_bytes() == content


def test_view_gives_a_single_frame_by_default(client: Any, gif_source: str) -> None:
    response = get_thumbnail(client, gif_source)
    assert response.status_code == 200
    assert frame_count(body(response)) == 1


@pytest.mark.parametrize(
    "budget",
    [
        {"THUMBNAILS_MAX_ANIMATION_FRAMES": 3},
        {"THUMBNAILS_MAX_ANIMATION_PIXELS": 4 * 160 * 120 - 1},
    ],
)
def test_view_applies_the_animation_budgets(
    client: Any, gif_source: str, budget: dict[str, int]
) -> None:
    with override_settings(THUMBNAILS_KEEP_ANIMATION=True, **budget):
        response = get_thumbnail(client, gif_source, ".webp")
        content = body(response)
    assert response.status_code == 200
    assert frame_count(content) == 1


@pytest.mark.parametrize(("count", "expected"), [(100, 100), (101, 1)])
def test_view_default_frame_budget_is_100(
    client: Any, write_source: Callable[..., Path], count: int, expected: int
) -> None:
    write_source("anim/long.gif", animated("GIF", count=count, size=(48, 40)))
    with override_settings(THUMBNAILS_KEEP_ANIMATION=True):
        response = get_thumbnail(client, "anim/long.gif")
        content = body(response)
    assert response.status_code == 200
    assert frame_count(content) == expected


@pytest.mark.parametrize("where", ["frame header", "frame pixels"])
def test_view_truncated_animated_gif_is_4xx_and_writes_nothing(
    client: Any, write_source: Callable[..., Path], anim_gif: bytes, thumbs_dir: Path, where: str
) -> None:
    extensions, pixels = gif_frame_offsets(anim_gif)
    cut = extensions[2] + 1 if where == "frame header" else (pixels[2] + pixels[3]) // 2
    write_source("anim/broken.gif", anim_gif[:cut])
    with override_settings(THUMBNAILS_KEEP_ANIMATION=True):
        response = get_thumbnail(client, "anim/broken.gif")
    assert response.status_code == 422, body(response)
    assert response["Cache-Control"] == "no-store"
    assert files_under(thumbs_dir) == []


# -- system checks -------------------------------------------------------------------------


def restthumbs_messages(**overrides: Any) -> list[Any]:
    with override_settings(**overrides):
        return [m for m in run_checks() if str(m.id).startswith("restthumbs.")]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("THUMBNAILS_MAX_ANIMATION_FRAMES", 0),
        ("THUMBNAILS_MAX_ANIMATION_FRAMES", "100"),
        ("THUMBNAILS_MAX_ANIMATION_PIXELS", -1),
        ("THUMBNAILS_MAX_ANIMATION_PIXELS", 1.5e7),
    ],
)
def test_bad_animation_budgets_are_e005(setting: str, value: Any) -> None:
    messages = restthumbs_messages(**{setting: value})
    assert [m.id for m in messages] == ["restthumbs.E005"]
    assert setting in messages[0].msg


def test_small_valid_animation_budgets_pass_the_checks() -> None:
    assert (
        restthumbs_messages(
            THUMBNAILS_KEEP_ANIMATION=True,
            THUMBNAILS_MAX_ANIMATION_FRAMES=1,
            THUMBNAILS_MAX_ANIMATION_PIXELS=1,
        )
        == []
    )
