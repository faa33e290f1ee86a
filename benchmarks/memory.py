#!/usr/bin/env python3
"""Peak memory of one render per input format, each measured in a fresh process.

    python benchmarks/memory.py                  # 24 MP sources (12 MP for GIF)
    python benchmarks/memory.py --megapixels 12

For each input format and mode it writes one photo-like source (in a temporary
directory), then starts a new Python process that imports restthumbs, renders
a small warm-up image (so imports and first-use allocations are not counted),
and renders a 400x300 crop of the source as JPEG through
``restthumbs.engine.render`` with the default budgets. Reported: the growth of
the process's peak RSS during that render (``ru_maxrss``), the time, and what
the estimate of ``restthumbs.engine.budget`` said beforehand, or the refusal.
The same numbers are in ``docs/security.md``. This is not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHILD = """
import io, json, sys, time
from django.conf import settings
settings.configure()  # the domain errors' messages are translatable
import django
django.setup()
from restthumbs.engine import render
from restthumbs.exceptions import ThumbnailError
from restthumbs.spec import build_spec
def peak():  # VmHWM: ru_maxrss would carry the parent's peak over (Linux)
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
with open(sys.argv[2], "rb") as warm:
    render(warm, build_spec("w.png", "64x64", "crop", "png"))
try:  # what the engine estimates: the detail of a refusal by a budget of one byte
    with open(sys.argv[1], "rb") as source:
        render(source, build_spec("s", "400x300", "crop", "jpg"), max_memory=1)
    estimate = None
except ThumbnailError as e:
    estimate = (e.detail or "").partition("needs about ")[2].partition(" MiB")[0] or None
before, start = peak(), time.perf_counter()
try:
    with open(sys.argv[1], "rb") as source:
        render(source, build_spec("s", "400x300", "crop", "jpg"))
    outcome = "rendered"
except ThumbnailError as e:
    outcome = f"refused: {e.reason}"
print(json.dumps({"grew": peak() - before, "ms": (time.perf_counter() - start) * 1000,
                  "outcome": outcome, "estimate": estimate}))
"""

#: (label, Pillow format, mode, save parameters)
CASES = [
    ("JPEG RGB", "JPEG", "RGB", {"quality": 90}),
    ("JPEG progressive", "JPEG", "RGB", {"quality": 90, "progressive": True}),
    ("PNG RGB (bands)", "PNG", "RGB", {"compress_level": 1}),
    ("PNG RGBA (bands)", "PNG", "RGBA", {"compress_level": 1}),
    ("PNG palette (bands)", "PNG", "P", {"compress_level": 1}),
    ("PNG 16-bit grey (whole)", "PNG", "I;16", {"compress_level": 1}),
    ("TIFF RGB LZW", "TIFF", "RGB", {"compression": "tiff_lzw"}),
    ("BMP RGB", "BMP", "RGB", {}),
    ("WebP RGB", "WEBP", "RGB", {"quality": 80}),
    ("GIF palette", "GIF", "P", {}),
    ("AVIF RGB", "AVIF", "RGB", {"quality": 60, "speed": 8}),
]


def source(path: Path, megapixels: float, format_name: str, mode: str, params: dict) -> bool:
    """Write the source; ``False`` if this Pillow cannot write the format."""
    from PIL import Image, features

    from testsuite import images

    if format_name == "AVIF" and not features.check("avif"):
        return False
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    size = (width, width * 3 // 4)
    im = images.photo(size)
    if mode == "RGBA":
        im = images.photo(size, "RGBA")
    elif mode == "I;16":
        im = im.convert("L").convert("I").point(lambda v: v * 257).convert("I;16")
    elif mode == "P":
        im = im.convert("P")
    else:
        im = im.convert(mode)
    im.save(path, format_name, **params)
    Image.open(path).close()
    return True


def measure(path: Path, warm: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(warm)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=24.0)
    args = parser.parse_args(argv)
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.png"
        Image.new("RGB", (300, 200), "white").save(warm)
        print(
            f"{'source':30} {'pixels':>10} {'estimate':>9} {'peak RSS +':>11} {'time':>9}  outcome"
        )
        for label, format_name, mode, params in CASES:
            megapixels = min(args.megapixels, 12.0) if format_name == "GIF" else args.megapixels
            path = Path(tmp) / f"source.{format_name.lower()}"
            if not source(path, megapixels, format_name, mode, params):
                print(f"{label:30} (this Pillow cannot write it)")
                continue
            with Image.open(path) as im:
                size = im.size
            report = measure(path, warm)
            pixels = f"{size[0]}x{size[1]}"
            print(
                f"{label:30} {pixels:>10} {report['estimate'] or '?':>6} MiB "
                f"{report['grew']:8.1f} MiB {report['ms']:7.0f} ms  {report['outcome']}"
            )
    print("(estimate: what restthumbs.engine.budget computes before decoding, for this render)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
