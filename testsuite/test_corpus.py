"""The renderer over a corpus of odd images: generated here, or real ones from a directory.

**Generated** (always runs): every input format x every mode Pillow writes for it (1, L,
LA, P with and without transparency, PA, RGB, RGBA, CMYK, YCbCr, LAB, I;16, I, F; each
kept once per mode it decodes to) x EXIF orientation 1-8 x ICC profile (sRGB, Adobe
RGB, CMYK, grey, garbage, garbage claiming RGB) where the format carries them, each
source also carrying EXIF (camera, GPS), XMP and a comment. Every source goes through
:func:`restthumbs.engine.render`, and every output:

- decodes as its format, at the size of the box (``24x`` scale of a 96x64 picture is
  24x16, a ``16x16`` crop is 16x16; ``16x`` is small enough for a PNG to be decoded in
  bands);
- is upright: orientation applied exactly once (a black block drawn in the top-left
  corner of the upright picture is found there, and nowhere else);
- carries no EXIF, XMP, comment or text, and no profile but an sRGB or grey one the
  source had.

In CI, the full orientation set without a profile, and every profile with orientations
1 and 6; ``RESTTHUMBS_FUZZ=long`` crosses them all.

**A directory of real-world files** (only when ``RESTTHUMBS_CORPUS`` names one, e.g. a
checkout of Pillow's ``Tests/images``; nothing of it is committed)::

    RESTTHUMBS_CORPUS=/path/to/images pytest testsuite/test_corpus.py -n 2

Every file there that Pillow identifies or that has an image extension is rendered
at several sizes, methods and output formats: anything but ``BadSourceImage``,
``SourceTooLarge`` or ``InvalidSpec`` is a bug, and so is a hang, an output that does
not decode or has the wrong size, or a 200 for a file Pillow cannot decode. What such
a run finds is kept below as regression fixtures, made in code.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from restthumbs.engine import AnimationPolicy, can_encode, render
from restthumbs.engine.decoding import input_formats
from restthumbs.exceptions import BadSourceImage, InvalidSpec
from restthumbs.spec import EXTENSIONS, build_spec

from . import odd_images
from .fuzzing import Hang, bounded, scale

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")

#: The upright picture every generated source shows (before the camera's rotation).
PICTURE = (96, 64)
OUTPUT_EXTS = [ext for ext in ("png", "jpg", "webp", "gif", "avif") if can_encode(EXTENSIONS[ext])]


# -- the generated corpus -------------------------------------------------------------


def _decoded(data: bytes) -> tuple[str, str]:
    """The format and mode Pillow reads (``+t``: with a transparent colour)."""
    with Image.open(io.BytesIO(data)) as im:
        return str(im.format), im.mode + ("+t" if "transparency" in im.info else "")


@functools.cache
def format_modes() -> list[tuple[str, str, str]]:
    """``(format, source mode, decoded mode)``: each mode a format decodes to, once."""
    found: dict[tuple[str, str], str] = {}
    for format_name in odd_images.FORMATS:
        for mode in odd_images.MODES:
            im = odd_images.in_mode(odd_images.upright(PICTURE, alpha=True), mode)
            data = odd_images.encode_as(
                im, format_name, **odd_images.save_params(format_name, 1, None)
            )
            if data is None:
                continue
            decoded_format, decoded_mode = _decoded(data)
            if decoded_format == format_name:  # a CMYK MPO is read as a plain JPEG
                found.setdefault((format_name, decoded_mode), mode)
    return [(format_name, mode, decoded) for (format_name, decoded), mode in found.items()]


def variants(format_name: str) -> Iterator[tuple[int, str | None]]:
    """``(orientation, profile name)`` pairs to try for ``format_name``."""
    orientations = range(1, 9) if format_name in odd_images.EXIF_FORMATS else [1]
    names: list[str | None] = [None]
    if format_name in odd_images.ICC_FORMATS:
        names += list(odd_images.profiles())
    if scale() > 1:
        for orientation in orientations:
            yield from ((orientation, name) for name in names)
        return
    yield from ((orientation, None) for orientation in orientations)
    for orientation in sorted({1, 6} & set(orientations)):
        yield from ((orientation, name) for name in names if name is not None)


def source_of(format_name: str, mode: str, orientation: int, profile: str | None) -> bytes | None:
    im = odd_images.in_mode(odd_images.upright(PICTURE, alpha=True), mode)
    stored = odd_images.stored_for(im, orientation)
    icc = odd_images.profiles()[profile] if profile else None
    return odd_images.encode_as(
        stored, format_name, **odd_images.save_params(format_name, orientation, icc)
    )


def flattened_grey(im: Image.Image) -> Image.Image:
    """``im`` as the greyscale a browser shows, composited on white."""
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("L")


def upright_problems(out: Image.Image) -> list[str]:
    """The black block must be in the top-left corner and in no other corner."""
    grey = flattened_grey(out)
    w, h = grey.size
    corners = {
        "top-left": grey.getpixel((1, 1)),
        "top-right": grey.getpixel((w - 2, 1)),
        "bottom-left": grey.getpixel((1, h - 2)),
        "bottom-right": grey.getpixel((w - 2, h - 2)),
    }
    dark = sorted(name for name, value in corners.items() if value < 100)  # type: ignore[operator]
    if dark != ["top-left"]:
        return [f"not upright: dark corners {dark}, corner values {corners}"]
    return []


def metadata_problems(out: Image.Image, source_profile: str | None) -> list[str]:
    problems = []
    if len(out.getexif()):
        problems.append(f"EXIF in the output: {dict(out.getexif())}")
    for key in ("xmp", "XML:com.adobe.xmp", "comment", "Comment", "Description", "exif"):
        if out.info.get(key):
            problems.append(f"{key!r} in the output")
    if getattr(out, "text", None):
        problems.append(f"text chunks in the output: {out.text}")  # type: ignore[attr-defined]
    icc = out.info.get("icc_profile")
    kept = {odd_images.profiles()[name] for name in ("srgb", "grey") if name == source_profile}
    if icc and icc not in kept:
        problems.append(f"a profile the output must not carry (source: {source_profile})")
    return problems


def render_out(data: bytes, size: str, method: str, ext: str) -> Image.Image:
    spec = build_spec("corpus/source", size, method, ext)
    encoded = bounded(lambda: render(io.BytesIO(data), spec), f"render {size}/{method}/.{ext}")
    out = Image.open(io.BytesIO(encoded))
    out.load()
    assert out.format == EXTENSIONS[ext], (out.format, ext)
    return out


def corpus_problems(
    format_name: str, mode: str, orientation: int, profile: str | None
) -> list[str]:
    """Every property a generated source breaks, each prefixed with what the source was."""
    data = source_of(format_name, mode, orientation, profile)
    label = f"{format_name} {mode} orientation {orientation} profile {profile}"
    if data is None:
        return []  # this combination is not writable (e.g. an orientation Pillow drops)
    problems: list[str] = []
    ext = OUTPUT_EXTS[orientation % len(OUTPUT_EXTS)]
    try:
        scaled = render_out(data, "24x", "scale", "png")
        if scaled.size != (24, 16):
            problems.append(f"24x scale is {scaled.size}, not (24, 16)")
        else:
            problems += upright_problems(scaled)
        problems += metadata_problems(scaled, profile)
        cropped = render_out(data, "16x16", "crop", ext)
        if cropped.size != (16, 16):
            problems.append(f"16x16 crop as .{ext} is {cropped.size}")
        problems += metadata_problems(cropped, profile)
        # A quarter of the picture or less: a PNG is decoded in bands, reduced as it goes.
        small = render_out(data, "16x", "scale", "png")
        if small.size != (16, 11):
            problems.append(f"16x scale is {small.size}, not (16, 11)")
        else:
            problems += [f"16x: {problem}" for problem in upright_problems(small)]
        smart = render_out(data, "x12", "smart", "jpg")
        if smart.size != (18, 12):
            problems.append(f"x12 smart is {smart.size}, not (18, 12)")
    except Hang as e:
        problems.append(str(e))
    except Exception as e:
        problems.append(f"{type(e).__name__}: {e}")
    return [f"{label}: {problem}" for problem in problems]


#: (format, decoded mode) -> the bug that holds it back, for strict xfails.
KNOWN: dict[tuple[str, str], str] = {}


def corpus_params() -> list[Any]:
    params = []
    for format_name, mode, decoded in format_modes():
        marks = []
        if (format_name, decoded) in KNOWN:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[(format_name, decoded)]))
        params.append(
            pytest.param(format_name, mode, id=f"{format_name}-{mode}->{decoded}", marks=marks)
        )
    return params


@pytest.mark.parametrize(("format_name", "mode"), corpus_params())
def test_generated_corpus(format_name: str, mode: str) -> None:
    problems: list[str] = []
    for orientation, profile in variants(format_name):
        problems += corpus_problems(format_name, mode, orientation, profile)
    assert not problems, "\n".join(problems[:20])


def test_the_generated_corpus_covers_every_format_and_mode() -> None:
    """What the corpus is made of: a failure here means a format or mode went missing."""
    pairs = {(f, decoded) for f, _, decoded in format_modes()}
    for format_name in ("PNG", "TIFF"):
        modes = {decoded for f, decoded in pairs if f == format_name}
        assert {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"} <= modes, modes
    png = {decoded for f, decoded in pairs if f == "PNG"}
    assert "P+t" in png, png
    tiff = {decoded for f, decoded in pairs if f == "TIFF"}
    assert {"CMYK", "YCbCr", "LAB", "I", "F", "PA"} <= tiff, tiff
    jpeg = {decoded for f, decoded in pairs if f == "JPEG"}
    assert {"L", "RGB", "CMYK"} <= jpeg, jpeg
    assert {f for f, _ in pairs} == set(odd_images.FORMATS)


@pytest.mark.parametrize("name", list(odd_images.profiles()))
def test_each_profile_is_what_it_says(name: str) -> None:
    """The hand-made profiles are real ones (LittleCMS reads them); the garbage is not."""
    from PIL import ImageCms

    data = odd_images.profiles()[name]
    if name.startswith("garbage"):
        with pytest.raises((ImageCms.PyCMSError, OSError)):
            ImageCms.ImageCmsProfile(io.BytesIO(data))
        return
    profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
    space = {"srgb": "RGB ", "adobe-rgb": "RGB ", "cmyk": "CMYK", "grey": "GRAY"}[name]
    assert profile.profile.xcolor_space == space


# -- a directory of real-world files --------------------------------------------------

CORPUS = os.environ.get("RESTTHUMBS_CORPUS")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".png", ".apng", ".gif", ".webp", ".tif", ".tiff"}
IMAGE_SUFFIXES |= {".bmp", ".dib", ".avif", ".avifs", ".mpo", ".heic", ".heif", ".jfif"}

#: (size, method, ext, keep animations) each corpus file is rendered with.
CORPUS_SPECS = [
    ("100x100", "crop", "jpg", False),
    ("64x", "scale", "png", False),
    ("x80", "smart", "webp", False),
    ("50x30", "crop", "gif", True),
    ("200x", "crop", "png", False),
]
if can_encode("AVIF"):
    CORPUS_SPECS.append(("120x120", "scale", "avif", False))


def corpus_files() -> list[Path]:
    """Files of ``RESTTHUMBS_CORPUS`` Pillow identifies (any format) or named as images."""
    if not CORPUS:
        return []
    found = []
    for path in sorted(Path(CORPUS).rglob("*")):
        if not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            found.append(path)
            continue
        try:
            with Image.open(path):
                found.append(path)
        except Exception:
            pass
    return found


def reference(data: bytes) -> Image.Image | None:
    """The first frame as Pillow decodes and orients it, or ``None`` if it cannot."""
    try:
        with Image.open(io.BytesIO(data), formats=input_formats()) as im:
            im.load()
            return ImageOps.exif_transpose(im)
    except Exception:
        return None


def expected_size(width: int, height: int, size: str, method: str) -> tuple[int, int]:
    """The box without upscaling, computed here rather than by restthumbs' geometry."""
    w, _, h = size.partition("x")
    box_w, box_h = int(w) if w else None, int(h) if h else None
    if method == "scale" or box_w is None or box_h is None:
        factor = min(f for f in (box_w and box_w / width, box_h and box_h / height, 1.0) if f)
        return max(1, round(width * factor)), max(1, round(height * factor))
    ratio = box_w / box_h
    region_w, region_h = (
        (height * ratio, height) if width / height > ratio else (width, width / ratio)
    )
    if region_w >= box_w:
        return box_w, box_h
    return max(1, round(region_w)), max(1, round(region_h))


@pytest.mark.skipif(not CORPUS, reason="RESTTHUMBS_CORPUS names no directory of images")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS or "/")))
def test_real_world_corpus_file(path: Path) -> None:
    data = path.read_bytes()
    ref = reference(data)
    problems = []
    for size, method, ext, keep in CORPUS_SPECS:
        spec = build_spec("corpus/" + path.name, size, method, ext)
        policy = AnimationPolicy(keep=keep)
        label = f"{size}/{method}/.{ext}" + (" keeping animations" if keep else "")
        try:
            encoded = bounded(
                lambda spec=spec, policy=policy: render(io.BytesIO(data), spec, animation=policy),
                label,
            )
        except (BadSourceImage, InvalidSpec):
            continue  # a 4xx: fine for any file
        except Exception as e:
            problems.append(f"{label}: {type(e).__name__}: {e}")
            continue
        try:
            out = Image.open(io.BytesIO(encoded))
            out.load()
        except Exception as e:
            problems.append(f"{label}: the output does not decode: {e!r}")
            continue
        if ref is None:
            problems.append(f"{label}: 200 for a file Pillow cannot decode")
            continue
        expected = expected_size(*ref.size, size, method)
        if max(abs(a - b) for a, b in zip(out.size, expected, strict=True)) > 1:
            problems.append(f"{label}: {out.size}, expected {expected} from {ref.size}")
    assert not problems, "\n".join(problems)


# -- regression fixtures: what the corpus runs found ----------------------------------
