"""Several thumbnails from one decode (:func:`restthumbs.engine.render_many`), against
what the view renders for each (:func:`restthumbs.engine.render`).

The promise (documented in ``engine/multi.py`` and ``docs/commands.md``): a spec
whose own render decodes at the same scale as the shared decode, always the
most demanding one, is byte-identical; a smaller one, resampled from a larger
decode, has the same size, format and crop, and pixels within a level or two.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageFile

from restthumbs.engine import AnimationPolicy, render, render_many
from restthumbs.exceptions import BadSourceImage, OutputTooLarge, ThumbnailError

from . import images
from .engine_helpers import mean_difference, spec

#: A 12 MP photo's shape, scaled down to keep the suite quick; the DCT scales
#: used (1/8, 1/4, 1/2) are those a 12 MP source gets for these sizes.
SOURCE = (2400, 1600)
SPECS = [("100x100", "crop", "jpg"), ("300x300", "smart", "webp"), ("1000x", "scale", "jpg")]


def many(data: bytes, specs: list[tuple[str, str, str]], **kwargs: Any) -> list[Any]:
    built = [spec(*s) for s in specs]
    return list(render_many(io.BytesIO(data), built, qualities=[85] * len(built), **kwargs))


def single(data: bytes, size: str, method: str, ext: str, **kwargs: Any) -> bytes:
    return render(io.BytesIO(data), spec(size, method, ext), quality=85, **kwargs)


def grainy_photo(size: tuple[int, int], seed: int = 3) -> Image.Image:
    """Smooth colour fields and fine grain, as ``benchmarks/systems.py`` makes its corpus."""
    import numpy as np

    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 256, size=(h // 64, w // 64, 3), dtype=np.uint8)
    base = Image.fromarray(small, "RGB").resize(size, Image.Resampling.BICUBIC)
    grain = rng.normal(0, 12, size=(h, w, 3))
    return Image.fromarray(
        np.clip(np.asarray(base, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    )


def decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im.convert("RGB")


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The formats of the images whose pixels were decoded (``load()`` with tiles left)."""
    seen: list[str] = []
    original = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> Any:
        if self.tile:
            seen.append(str(self.format))
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    yield seen


def test_one_spec_is_byte_identical_to_render() -> None:
    data = images.jpeg_bytes(SOURCE)
    for size, method, ext in SPECS:
        assert many(data, [(size, method, ext)]) == [single(data, size, method, ext)]


def test_a_jpeg_is_decoded_once_at_the_scale_the_largest_needs(decodes: list[str]) -> None:
    data = images.jpeg_bytes(SOURCE)
    many(data, [SPECS[0], SPECS[2], ("500x500", "crop", "png")])
    assert decodes == ["JPEG"]  # the source, once, for a crop, a fit and another crop
    decodes.clear()
    outputs = many(data, SPECS)
    assert decodes == ["JPEG", "JPEG"]  # and once more for the smaller smart crop
    # The most demanding spec decodes at the same DCT scale either way: byte-identical.
    assert outputs[2] == single(data, *SPECS[2])
    # A smaller smart crop has its own decode (its window depends on the exact pixels).
    assert outputs[1] == single(data, *SPECS[1])
    # A smaller crop comes from the larger decode: same size and format, near-identical.
    view = single(data, *SPECS[0])
    assert outputs[0] != view
    assert Image.open(io.BytesIO(outputs[0])).format == "JPEG"
    assert decoded(outputs[0]).size == decoded(view).size == (100, 100)
    assert mean_difference(decoded(outputs[0]), decoded(view)) < 2.5


def test_smart_crops_on_a_grainy_photo_match_the_view() -> None:
    # Film grain makes the entropy of neighbouring windows nearly equal: the
    # window would move with the decode if smart crops shared the larger one.
    data = images.encode(grainy_photo(SOURCE), "JPEG", quality=92)
    specs = [("120x120", "smart", "jpg"), ("200x200", "crop", "jpg"), ("1200x", "scale", "jpg")]
    outputs = many(data, specs)
    assert outputs[0] == single(data, *specs[0])
    assert outputs[2] == single(data, *specs[2])
    assert mean_difference(decoded(outputs[1]), decoded(single(data, *specs[1]))) < 2.5


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied_once(orientation: int) -> None:
    data = images.with_orientation(images.photo(SOURCE), orientation)
    specs = [("120x80", "crop", "jpg"), ("600x", "scale", "png")]
    outputs = many(data, specs)
    for (size, method, ext), output in zip(specs, outputs, strict=True):
        view = decoded(single(data, size, method, ext))
        assert decoded(output).size == view.size
        assert mean_difference(decoded(output), view) < 2.0


@pytest.mark.parametrize("fmt, ext", [("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif")])
def test_other_formats_decode_whole_and_are_byte_identical(fmt: str, ext: str) -> None:
    data = images.encode(images.photo((400, 300)), fmt)
    specs = [("60x60", "crop", "jpg"), ("200x", "scale", ext), ("90x90", "smart", "png")]
    assert many(data, specs) == [single(data, *s) for s in specs]


def test_one_spec_that_cannot_be_made_fails_alone() -> None:
    # 100 px wide, 20,000 tall: WebP cannot hold the height, JPEG can.
    data = images.encode(Image.new("RGB", (100, 20_000), (200, 30, 30)), "PNG")
    outputs = many(data, [("100x", "scale", "webp"), ("50x50", "crop", "jpg")])
    assert isinstance(outputs[0], OutputTooLarge)
    assert outputs[1] == single(data, "50x50", "crop", "jpg")


def test_a_bad_source_raises_before_any_output() -> None:
    with pytest.raises(BadSourceImage):
        many(b"not an image at all", SPECS)
    jpeg = images.jpeg_bytes((640, 480))
    with pytest.raises(ThumbnailError):
        many(jpeg[: len(jpeg) // 2], SPECS)


def test_a_kept_animation_is_rendered_spec_by_spec() -> None:
    data = images.animated_gif()
    keep = AnimationPolicy(keep=True)
    specs = [("60x40", "crop", "gif"), ("30x20", "scale", "jpg")]
    outputs = many(data, specs, animation=keep)
    assert outputs == [single(data, *s, animation=keep) for s in specs]
    assert getattr(Image.open(io.BytesIO(outputs[0])), "n_frames", 1) == 4


def test_one_quality_per_spec() -> None:
    with pytest.raises(ValueError, match="one quality per spec"):
        list(render_many(io.BytesIO(b""), [spec("10x10")], qualities=[]))
