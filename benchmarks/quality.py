#!/usr/bin/env python3
"""Image quality of restthumbs' fast path against a full-resolution reference.

    pip install -e ".[bench]"
    python benchmarks/quality.py [--quick]

For every source of the render benchmark's corpus and every workload, the
reference is the same crop box resampled with LANCZOS from the fully decoded
source (no ``draft``, no ``reduce``); restthumbs' output is decoded and compared
with SSIM (scikit-image, on luminance and per channel) and PSNR. The pixels are
compared before JPEG encoding too (``--raw``), so encoder loss does not hide
resampling loss. Target: SSIM >= 0.98 for every workload.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.systems import WORKLOADS, ensure_corpus


def setup_django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(SECRET_KEY="quality", INSTALLED_APPS=["restthumbs"], USE_TZ=True)
        django.setup()


def reference(path: Path, size: str, method: str) -> Image.Image:
    """The slow, faithful pipeline: full decode, exact box, one LANCZOS resample."""
    from restthumbs.engine import decoding, geometry
    from restthumbs.spec import build_spec

    spec = build_spec(path.name, size, "crop" if method == "smart" else method, "png")
    im = Image.open(path)
    im.load()
    im = decoding.normalize_mode(im)
    plan = geometry.plan(spec, im.width, im.height, upscale=False)
    out = im.resize(plan.size, Image.Resampling.LANCZOS, box=plan.box)
    return flatten(out)


def flatten(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    rgba = im.convert("RGBA")
    bg = Image.new("RGB", rgba.size, (255, 255, 255))
    bg.paste(rgba, mask=rgba.getchannel("A"))
    return bg


def restthumbs_output(path: Path, size: str, method: str, ext: str) -> Image.Image:
    from restthumbs.engine import render
    from restthumbs.spec import build_spec

    spec = build_spec(path.name, size, method, ext)
    with open(path, "rb") as f:
        data = render(f, spec, quality=85)
    return flatten(Image.open(io.BytesIO(data)))


def scores(a: Image.Image, b: Image.Image) -> tuple[float, float]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    ssim = structural_similarity(x, y, channel_axis=2, data_range=255)
    psnr = peak_signal_noise_ratio(x, y, data_range=255)
    return float(ssim), float(psnr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="skip the 12 MP source")
    args = parser.parse_args(argv)
    setup_django()
    corpus = ensure_corpus(args.quick)
    worst = 1.0
    jpeg_not_worse = True
    print("SSIM/PSNR against a full-decode LANCZOS reference. png: restthumbs' lossless output")
    print("(the resampling itself); jpg: restthumbs' JPEG; naive jpg: the reference itself saved")
    print("as a baseline JPEG at the same quality (what a naive pipeline ships).")
    print(
        f"{'workload':10s} {'source':10s} {'SSIM png':>9s} {'PSNR png':>9s} "
        f"{'SSIM jpg':>9s} {'PSNR jpg':>9s} {'naive jpg':>9s}"
    )
    for workload, (size, method) in WORKLOADS.items():
        if method == "smart":
            continue  # smart moves the box on purpose; its resampling is crop's
        for name, path in corpus.items():
            ref = reference(path, size, method)
            png = restthumbs_output(path, size, method, "png")
            jpg = restthumbs_output(path, size, method, "jpg")
            s_png, p_png = scores(ref, png)
            s_jpg, p_jpg = scores(ref, jpg)
            buffer = io.BytesIO()
            ref.save(buffer, "JPEG", quality=85)
            s_naive, _ = scores(ref, Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
            worst = min(worst, s_png)
            jpeg_not_worse &= s_jpg >= s_naive - 0.005
            print(
                f"{workload:10s} {name:10s} {s_png:9.4f} {p_png:9.2f} "
                f"{s_jpg:9.4f} {p_jpg:9.2f} {s_naive:9.4f}"
            )
    print(f"\nworst resampling SSIM: {worst:.4f} (target >= 0.98)")
    print(f"restthumbs JPEG at least as good as the naive JPEG (within 0.005): {jpeg_not_worse}")
    return 0 if worst >= 0.98 and jpeg_not_worse else 1


if __name__ == "__main__":
    raise SystemExit(main())
