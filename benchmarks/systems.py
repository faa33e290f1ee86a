"""The systems ``benchmarks/render.py`` compares, its corpus, and one measurement.

Each system is built by :func:`build_system` as a function ``(source path,
quality) -> encoded bytes`` for one size and method; :func:`worker` times one
system on one source and workload in the current process and reports the
median and the peak RSS increase. ``render.py`` runs each in its own subprocess.
"""

from __future__ import annotations

import io
import resource
import statistics
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
        if has_module("sorl") and has_module("easy_thumbnails")
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


def has_module(module: str) -> bool:
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
