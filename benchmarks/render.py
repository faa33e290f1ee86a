#!/usr/bin/env python3
"""Cold-render benchmark: restthumbs against its peers, in one run.

    pip install -e ".[bench]"
    python benchmarks/render.py                 # full run (a few minutes)
    python benchmarks/render.py --quick         # fewer repeats, smaller corpus

It generates a deterministic photographic-like corpus (1, 12 and 24 MP JPEGs
and a large PNG with alpha; cached in ``benchmarks/.corpus``), then, for each
workload (200x200 crop, 200x200 smart crop, 800x800 fit) and source, times:

- ``restthumbs-view``: the full miss path (Django view, streaming backend,
  a fresh thumbnail name every time, so every request renders and stores);
- ``restthumbs``: the renderer alone (``restthumbs.engine.render``);
- ``pillow-floor``: a bare Pillow pipeline with ``draft()`` + ``reduce()``;
- ``pillow-naive``: decode at full size, ``ImageOps.fit``/``thumbnail``
  without draft, the pipeline most hand-written code uses;
- ``sorl``: sorl-thumbnail's PIL engine (get_image, create, encode);
- ``easy``: easy-thumbnails (generate_source_image, process_image, save);
- ``vips``: libvips' ``thumbnail`` via pyvips, when installed.

Each system runs in its own subprocess, so imports and peak RSS do not leak
between them. Reported: the median of the repeats (ms), each peer's ratio to
restthumbs' renderer (>1 means restthumbs is faster), and the peak RSS
increase over the process's baseline after imports (MB). The machine is
shared and noisy: read medians and ratios, not single numbers. This is not a
test and does not run in CI.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / ".corpus"

SOURCES = {
    "1mp.jpg": (1224, 816),
    "12mp.jpg": (4240, 2832),
    "24mp.jpg": (6000, 4000),
    "alpha.png": (3000, 2000),
}
#: Only with --big: the memory target (a 100 MP camera photo, 200x200 crop).
BIG_SOURCES = {"100mp.jpg": (12240, 8160)}
WORKLOADS = {
    "crop200": ("200x200", "crop"),
    "smart200": ("200x200", "smart"),
    "fit800": ("800x800", "scale"),
}
SYSTEMS = ["restthumbs", "restthumbs-view", "pillow-floor", "pillow-naive", "sorl", "easy", "vips"]
QUALITY = 85


# -- corpus -------------------------------------------------------------------


def make_photo(size: tuple[int, int], seed: int, alpha: bool = False) -> Any:
    """Smooth structures plus fine grain: compresses and resamples like a photo."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 256, size=(max(2, h // 64), max(2, w // 64), 3), dtype=np.uint8)
    base = Image.fromarray(small, "RGB").resize(size, Image.Resampling.BICUBIC)
    base = base.filter(ImageFilter.GaussianBlur(3))
    grain = rng.normal(0, 12, size=(h, w, 3))
    arr = np.clip(np.asarray(base, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    im = Image.fromarray(arr, "RGB")
    if alpha:
        mask = Image.radial_gradient("L").resize(size)
        im.putalpha(mask)
    return im


def ensure_corpus(quick: bool, big: bool = False) -> dict[str, Path]:
    CORPUS.mkdir(exist_ok=True)
    paths = {}
    sources = {**SOURCES, **(BIG_SOURCES if big else {})}
    for i, (name, size) in enumerate(sources.items()):
        if quick and name == "12mp.jpg":
            continue
        path = CORPUS / name
        if not path.exists():
            print(f"generating {name} {size[0]}x{size[1]}...", file=sys.stderr)
            im = make_photo(size, seed=i, alpha=name.endswith(".png"))
            if name.endswith(".png"):
                im.save(path, "PNG", compress_level=3)
            else:
                im.save(path, "JPEG", quality=92)
        paths[name] = path
    return paths


# -- systems ------------------------------------------------------------------


def _configure_django(tmp: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench",
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["restthumbs", "sorl.thumbnail", "easy_thumbnails"]
        if _has("sorl") and _has("easy_thumbnails")
        else ["restthumbs"],
        ROOT_URLCONF="restthumbs.urls",
        MEDIA_ROOT=str(CORPUS),
        THUMBNAILS_STORAGE_ROOT=tmp,
        THUMBNAILS_QUALITY=QUALITY,
        THUMBNAILS_MAX_SIZE=4096,
        DATABASES={},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        THUMBNAIL_QUALITY=QUALITY,  # sorl
        THUMBNAIL_DEFAULT_OPTIONS={},  # easy-thumbnails
        USE_TZ=True,
    )
    django.setup()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def build_system(system: str, size: str, method: str, tmp: str) -> Callable[[Path, int], bytes]:
    """Return ``run(path, i) -> encoded bytes`` for ``system``; imports happen here."""
    width, height = (int(v) for v in size.split("x"))

    if system == "restthumbs":
        _configure_django(tmp)
        from restthumbs.engine import render
        from restthumbs.spec import build_spec

        def run(path: Path, i: int) -> bytes:
            spec = build_spec(path.name, size, method, "jpg")
            with open(path, "rb") as f:
                return render(f, spec, quality=QUALITY)

        return run

    if system == "restthumbs-view":
        _configure_django(tmp)
        from django.test import Client, override_settings

        from restthumbs.api import thumbnail_url

        client = Client()

        def run(path: Path, i: int) -> bytes:
            # A fresh key gives a fresh thumbnail name: every request is a cold miss.
            with override_settings(THUMBNAILS_SECRET_KEY=f"bench-{i}-{time.time_ns()}"):
                url = thumbnail_url(path.name, size, method, ".jpg")
                response = client.get(url)
                assert response.status_code == 200, response.status_code
                data = b"".join(response.streaming_content)
                response.close()
                return data

        return run

    if system in ("pillow-floor", "pillow-naive"):
        from PIL import Image, ImageOps

        draft = system == "pillow-floor"

        def run(path: Path, i: int) -> bytes:
            im = Image.open(path)
            if method == "scale":
                if draft:
                    im.draft("RGB", (width * 2, height * 2))
                    im.thumbnail((width, height), Image.Resampling.LANCZOS, reducing_gap=2.0)
                else:
                    im.thumbnail((width, height), Image.Resampling.LANCZOS, reducing_gap=None)
                out = im
            else:
                if draft:
                    scale = max(width / im.width, height / im.height)
                    im.draft("RGB", (int(im.width * scale * 2), int(im.height * scale * 2)))
                    out = ImageOps.fit(im, (width, height), Image.Resampling.LANCZOS)
                else:
                    im.load()
                    out = ImageOps.fit(im, (width, height), Image.Resampling.LANCZOS)
            if out.mode != "RGB":
                out = out.convert("RGB")
            buf = io.BytesIO()
            out.save(buf, "JPEG", quality=QUALITY)
            return buf.getvalue()

        return run

    if system == "sorl":
        _configure_django(tmp)
        from django.core.files.storage import FileSystemStorage
        from sorl.thumbnail import default
        from sorl.thumbnail.images import ImageFile
        from sorl.thumbnail.parsers import parse_geometry

        storage = FileSystemStorage(location=str(CORPUS))
        options = {
            "crop": "center" if method == "crop" else ("smart" if method == "smart" else False),
            "upscale": False,
            "quality": QUALITY,
            "format": "JPEG",
            "colorspace": "RGB",
            "cropbox": None,
            "rounded": None,
            "blur": None,
            "padding": False,
            "padding_color": "#ffffff",
            "orientation": True,
            "progressive": True,
        }

        def run(path: Path, i: int) -> bytes:
            engine = default.engine
            source = ImageFile(path.name, storage)
            image = engine.get_image(source)
            geometry = parse_geometry(size, engine.get_image_ratio(image, options))
            image = engine.create(image, geometry, options)
            return engine._get_raw_data(image, "JPEG", QUALITY, image_info={}, progressive=True)

        return run

    if system == "easy":
        _configure_django(tmp)
        from easy_thumbnails import engine

        opts = {"size": (width, height), "quality": QUALITY}
        if method == "crop":
            opts["crop"] = True
        elif method == "smart":
            opts["crop"] = "smart"

        def run(path: Path, i: int) -> bytes:
            with open(path, "rb") as f:
                image = engine.generate_source_image(f, opts)
                image = engine.process_image(image, opts)
                buf = engine.save_pil_image(image, filename="x.jpg", quality=QUALITY)
                return buf.getvalue()

        return run

    if system == "vips":
        import pyvips

        def run(path: Path, i: int) -> bytes:
            kwargs: dict[str, Any] = {"height": height, "size": "down"}
            if method == "crop":
                kwargs["crop"] = "centre"
            elif method == "smart":
                kwargs["crop"] = "entropy"
            image = pyvips.Image.thumbnail(str(path), width, **kwargs)
            if image.hasalpha():
                image = image.flatten(background=[255, 255, 255])
            return image.write_to_buffer(f".jpg[Q={QUALITY}]")

        return run

    raise SystemExit(f"unknown system {system}")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> float:
    """Reset the kernel's peak-RSS mark (VmHWM) and return the current RSS in MB.

    ``ru_maxrss`` would not do: it is inherited from the parent across fork/exec.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def worker(system: str, source: str, workload: str, repeat: int) -> dict[str, Any]:
    size, method = WORKLOADS[workload]
    with tempfile.TemporaryDirectory() as tmp:
        run = build_system(system, size, method, tmp)
        baseline = reset_peak_rss()
        path = CORPUS / source
        times = []
        for i in range(repeat):
            start = time.perf_counter()
            data = run(path, i)
            times.append((time.perf_counter() - start) * 1000)
        peak = peak_rss_mb()
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "rss_increase_mb": peak - baseline,
        "rss_total_mb": peak,
        "bytes": len(data),
    }


# -- driver -------------------------------------------------------------------


def available(system: str) -> bool:
    module = {"sorl": "sorl", "easy": "easy_thumbnails", "vips": "pyvips"}.get(system)
    if module is None:
        return True
    if not _has(module):
        return False
    if system == "vips":
        try:
            import pyvips  # noqa: F401
        except Exception:
            return False
    return True


def measure(system: str, source: str, workload: str, repeat: int) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--worker", system, source, workload, "--repeat", str(repeat)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        print(f"  {system} failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--worker", nargs=3, metavar=("SYSTEM", "SOURCE", "WORKLOAD"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="renders per measurement (default 9, quick 5)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="skip the 12 MP source and repeat less"
    )
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated subset of " + ",".join(SYSTEMS),
    )
    parser.add_argument(
        "--sources", default=None, help="comma-separated subset of " + ",".join(SOURCES)
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help="comma-separated subset of " + ",".join(WORKLOADS),
    )
    parser.add_argument("--big", action="store_true", help="add a 100 MP JPEG (the memory target)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    args = parser.parse_args(argv)

    if args.worker:
        system, source, workload = args.worker
        print(json.dumps(worker(system, source, workload, args.repeat or 9)))
        return 0

    repeat = args.repeat or (5 if args.quick else 9)
    corpus = ensure_corpus(args.quick, args.big)
    sources = [s for s in (args.sources.split(",") if args.sources else corpus) if s in corpus]
    systems = [s for s in args.systems.split(",") if available(s)]
    missing = [s for s in args.systems.split(",") if s not in systems]
    if missing:
        print(f"not installed, skipped: {', '.join(missing)} (pip install -e '.[bench]')")
    results: dict[str, Any] = {}
    print(
        f"repeats: {repeat}; median ms / peak RSS increase MB / output KB; ratio = system / restthumbs"
    )
    for workload in args.workloads.split(","):
        for source in sources:
            print(f"\n== {workload} {WORKLOADS[workload][0]} {WORKLOADS[workload][1]} on {source}")
            row: dict[str, Any] = {}
            for system in systems:
                row[system] = measure(system, source, workload, repeat)
            base = (row.get("restthumbs") or {}).get("median_ms")
            for system, r in row.items():
                if r is None:
                    continue
                ratio = f"{r['median_ms'] / base:5.2f}x" if base else "  -  "
                print(
                    f"  {system:16s} {r['median_ms']:8.1f} ms  {ratio}  "
                    f"rss +{r['rss_increase_mb']:6.1f} MB (total {r['rss_total_mb']:6.1f})  "
                    f"{r['bytes'] / 1024:7.1f} KB"
                )
            results[f"{workload}/{source}"] = row
    print_targets(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def print_targets(results: dict[str, Any]) -> None:
    """The issue's targets, computed from this run's medians."""

    def get(key: str, system: str, field: str = "median_ms") -> float | None:
        r = (results.get(key) or {}).get(system)
        return None if r is None else float(r[field])

    checks: list[tuple[str, float | None, str, float]] = []
    crop, fit = "crop200/24mp.jpg", "fit800/24mp.jpg"
    rt = get(crop, "restthumbs")
    if rt:
        floor = get(crop, "pillow-floor")
        sorl = get(crop, "sorl")
        easy = get(crop, "easy")
        checks.append(("24MP crop: restthumbs / pillow-floor", floor and rt / floor, "<=", 1.1))
        checks.append(("24MP crop: sorl / restthumbs", sorl and sorl / rt, ">=", 4.0))
        checks.append(("24MP crop: easy / restthumbs", easy and easy / rt, ">=", 4.0))
        view = get(crop, "restthumbs-view")
        checks.append(("24MP crop: view - renderer (ms)", view and view - rt, "<=", 5.0))
        checks.append(
            ("24MP crop: RSS increase (MB)", get(crop, "restthumbs", "rss_increase_mb"), "<", 30.0)
        )
    rt_fit = get(fit, "restthumbs")
    if rt_fit:
        vips = get(fit, "vips")
        checks.append(("24MP fit: restthumbs / vips", vips and rt_fit / vips, "<=", 1.1))
        checks.append(
            ("24MP fit: RSS increase (MB)", get(fit, "restthumbs", "rss_increase_mb"), "<", 60.0)
        )
    big = get("crop200/100mp.jpg", "restthumbs", "rss_total_mb")
    if big is not None:
        checks.append(("100MP crop: total RSS (MB)", big, "<", 250.0))
    if not checks:
        return
    print("\n== targets")
    for label, value, op, target in checks:
        if value is None:
            print(f"  {label:40s}     n/a")
            continue
        ok = {"<=": value <= target, ">=": value >= target, "<": value < target}[op]
        print(f"  {label:40s} {value:8.2f}  (target {op} {target})  {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    raise SystemExit(main())
