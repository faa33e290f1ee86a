"""Memory and time budgets of a render: estimated and refused before decoding.

- ``THUMBNAILS_MAX_RENDER_MEMORY``: the image buffers one render may use,
  computed per format and mode from the header (after JPEG's reduced-scale
  decode; per band for a PNG decoded in bands);
- a progressive JPEG of too many scans (each makes libjpeg walk every block
  again) is refused unread;
- an animated GIF's frames are counted no further than the frame budget.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from PIL import GifImagePlugin, Image, ImageFile

from restthumbs import thumbnail_url
from restthumbs.engine import AnimationPolicy, budget, render
from restthumbs.engine.decoding import MAX_JPEG_SCANS
from restthumbs.exceptions import SourceTooLarge
from restthumbs.spec import build_spec

from . import images
from .utils import body, files_under

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("mode", "transparency", "expected"),
    [
        ("L", False, 1),  # used as it is
        ("RGB", False, 4),  # Pillow stores RGB in 4 bytes
        ("CMYK", False, 4),
        ("1", False, 2),  # to L
        ("P", False, 5),  # to RGB
        ("P", True, 9),  # to RGBA, premultiplied
        ("RGBA", False, 8),  # premultiplied
        ("LA", False, 8),
        ("RGB", True, 12),  # a colour key to RGBA, premultiplied
        ("I;16", False, 10),  # to I, scaled
        ("YCbCr", False, 8),  # to RGB
    ],
)
def test_working_bytes_per_pixel(mode: str, transparency: bool, expected: int) -> None:
    assert budget.working_bytes(mode, transparency) == expected


def test_the_estimate_adds_rotation_and_output() -> None:
    plain = budget.estimate("RGB", (1000, 1000), (0, 0))
    assert plain == 4_000_000
    assert budget.estimate("RGB", (1000, 1000), (0, 0), rotated=True) == 8_000_000
    assert budget.estimate("RGB", (1000, 1000), (100, 100)) == plain + 12 * 10_000


def big_webp() -> bytes:
    return images.encode(Image.effect_noise((3000, 3000), 40).convert("RGB"), "WEBP", quality=20)


def test_a_source_over_the_memory_budget_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self))
    spec = build_spec("a.webp", "100x100", "crop", "jpg")
    with pytest.raises(SourceTooLarge) as caught:
        render(io.BytesIO(big_webp()), spec, max_memory=16 * MIB)
    assert loads == []  # refused from the header alone
    assert "THUMBNAILS_MAX_RENDER_MEMORY" in (caught.value.detail or "")


def test_the_view_refuses_over_budget_with_422_and_stores_nothing(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("big.webp", big_webp())
    with override_settings(THUMBNAILS_MAX_RENDER_MEMORY=16 * MIB):
        response = client.get(thumbnail_url("big.webp", "100x100", "crop", "jpg"))
    assert response.status_code == 422
    assert response["Cache-Control"] == "no-store"
    assert b"MiB" not in body(response)  # the numbers go to the log, not to the client
    assert files_under(thumbs_dir) == []
    # Within the default budget it renders.
    response = client.get(thumbnail_url("big.webp", "100x100", "crop", "jpg"))
    assert response.status_code == 200


def test_a_jpeg_is_budgeted_at_its_reduced_scale() -> None:
    """48 MB to decode whole, under 1 MB at 1/8: a 4 MiB budget renders a small thumbnail."""
    data = images.jpeg_bytes((4000, 3000))
    small = render(
        io.BytesIO(data), build_spec("a.jpg", "100x100", "crop", "jpg"), max_memory=4 * MIB
    )
    assert Image.open(io.BytesIO(small)).size == (100, 100)
    with pytest.raises(SourceTooLarge):  # at full scale it would not fit
        render(io.BytesIO(data), build_spec("a.jpg", "3000x", "scale", "jpg"), max_memory=4 * MIB)


def test_a_large_png_fits_a_budget_its_whole_decode_would_not() -> None:
    data = images.encode(images.photo((4000, 3000)), "PNG", compress_level=1)
    assert budget.estimate("RGB", (4000, 3000), (0, 0)) > 40 * MIB
    out = render(
        io.BytesIO(data), build_spec("a.png", "200x150", "crop", "png"), max_memory=24 * MIB
    )
    assert Image.open(io.BytesIO(out)).size == (200, 150)


CHILD = """
import io, json, sys
from PIL import Image
from restthumbs.engine import render
from restthumbs.spec import build_spec
def peak():  # VmHWM: ru_maxrss would carry the parent's (pytest's) peak over
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
with open(sys.argv[2], "rb") as warm:  # imports and first-use allocations, not counted
    render(warm, build_spec("w.png", "64x64", "crop", "png"))
before = peak()
with open(sys.argv[1], "rb") as source:  # read by the renderer as a storage file is
    render(source, build_spec("a.png", "400x300", "crop", "jpg"))
print(json.dumps({"grew": peak() - before}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's VmHWM")
def test_a_24_mp_png_renders_in_a_bounded_peak(tmp_path: Path) -> None:
    """Measured in a fresh process: a whole decode would add about 96 MB (4 bytes a pixel)."""
    source = tmp_path / "big.png"
    source.write_bytes(images.encode(images.photo((6000, 4000)), "PNG", compress_level=1))
    warm = tmp_path / "warm.png"
    warm.write_bytes(images.encode(images.photo((300, 200)), "PNG"))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(warm)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    grew = json.loads(result.stdout.strip().splitlines()[-1])["grew"]
    assert grew < 40, grew  # MiB


# -- time: progressive scans, frame counts ---------------------------------------------


def jpeg_with_scans(extra: int) -> bytes:
    """A progressive JPEG whose last scan is repeated ``extra`` times.

    libjpeg only warns about a repeated scan and decodes it again: each costs a
    walk over every block of the image, so a small file can cost minutes.
    """
    data = images.encode(images.photo((400, 300)), "JPEG", quality=80, progressive=True)
    last = data.rindex(b"\xff\xda")
    return data[:-2] + data[last:-2] * extra + data[-2:]


def test_a_jpeg_with_too_many_scans_is_refused_unread(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("scans.jpg", jpeg_with_scans(MAX_JPEG_SCANS))
    response = client.get(thumbnail_url("scans.jpg", "100x100", "crop", "jpg"))
    assert response.status_code == 422
    assert files_under(thumbs_dir) == []


def test_an_ordinary_progressive_jpeg_renders(
    client: Any, write_source: Callable[..., Path]
) -> None:
    write_source("ok.jpg", jpeg_with_scans(20))  # 30 scans: more than any encoder writes
    assert client.get(thumbnail_url("ok.jpg", "100x100", "crop", "jpg")).status_code == 200


def many_frames_gif(frames: int) -> bytes:
    colours = [Image.new("P", (4, 4), i % 200) for i in range(frames)]
    buffer = io.BytesIO()
    colours[0].save(buffer, "GIF", save_all=True, append_images=colours[1:], duration=20)
    return buffer.getvalue()


def test_gif_frames_are_counted_no_further_than_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    data = many_frames_gif(3000)
    seeks: list[int] = []
    original = GifImagePlugin.GifImageFile._seek

    def counting(self: Any, frame: int, *args: Any, **kwargs: Any) -> None:
        seeks.append(frame)
        original(self, frame, *args, **kwargs)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "_seek", counting)
    policy = AnimationPolicy(keep=True, max_frames=50)
    out = render(io.BytesIO(data), build_spec("a.gif", "4x4", "crop", "gif"), animation=policy)
    assert getattr(Image.open(io.BytesIO(out)), "n_frames", 1) == 1  # over budget: first frame
    assert max(seeks) <= 51 and len(seeks) < 200, (max(seeks), len(seeks))
