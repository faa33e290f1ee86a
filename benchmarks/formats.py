#!/usr/bin/env python3
"""WebP and AVIF against JPEG, measured: the per-format defaults and their targets.

    pip install -e ".[bench]"
    python benchmarks/formats.py [--repeat 9] [--budget 0.4] [--quick]

Sources: the render benchmark's 24 and 12 MP photo-like JPEGs and 6 MP PNG with alpha,
and a real photograph (scikit-image's ``motorcycle_left.png``, 741x500); each fitted to
800x800 and cropped to 200x200. Every output is scored with SSIM against the
full-resolution LANCZOS reference of ``benchmarks/quality.py``. The reference case,
on which the defaults are chosen and the targets judged, is the 24 MP photo fitted to
800 px; the other cases show how the same settings fare on other content.

1. Shipped defaults: restthumbs' renderer end to end (``restthumbs.engine.render``: the
   miss path less storage) in JPEG, WebP and AVIF at the defaults of ``restthumbs.conf``
   and ``restthumbs.engine.encoding``, interleaved; bytes, SSIM, encode time; and the
   bytes libvips (pyvips, imgproxy's engine) needs for the same SSIM on the same pixels,
   at restthumbs' encoder effort and at imgproxy's defaults (WebP effort 4, AVIF speed 8).
2. Sweep, for every WebP ``method`` and AVIF ``speed``: the lowest quality whose SSIM
   reaches the JPEG default's minus 0.005 on the reference case, its bytes and encode
   time there, and on how many cases that quality reaches JPEG's SSIM - 0.005 (with the
   spread of each case's own lowest quality). The pick: the fewest bytes at that quality,
   as the mean over every case of the ratio to JPEG's (within 1%, the cheaper setting
   wins), among the settings whose encode time on the reference case exceeds JPEG's by
   at most ``--budget`` times its JPEG miss path.
3. Targets, on the reference case: AVIF <= 0.7x and WebP <= 0.85x the JPEG's bytes at an
   SSIM >= the JPEG's - 0.005; the AVIF miss path <= 1.5x the JPEG's; WebP and AVIF bytes
   <= what libvips needs for the same SSIM at the same effort. The same checks are
   printed for every other case, for information.

Times are medians of ``--repeat`` interleaved runs. Exit status 0 when the targets are met.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import encoders
from benchmarks.encoders import Case
from benchmarks.quality import setup_django
from benchmarks.systems import WORKLOADS, ensure_corpus

SOURCES = ("24mp.jpg", "12mp.jpg", "alpha.png")
SIZES = ("fit800", "crop200")
SSIM_SLACK = 0.005
FORMATS = {"JPEG": "jpg", "WEBP": "webp", "AVIF": "avif"}
#: Speed 10 is 9 again: libavif clamps libaom's cpu-used at 9.
SWEEP = {"WEBP": ("method", range(7)), "AVIF": ("speed", (5, 6, 7, 8, 9))}
TARGET_BYTES = {"WEBP": 0.85, "AVIF": 0.7}
TARGET_MISS = 1.5
#: imgproxy's defaults in vips' terms: IMGPROXY_WEBP_EFFORT=4, IMGPROXY_AVIF_SPEED=8.
IMGPROXY_EFFORT = {"WEBP": 4, "AVIF": 1}


def real_photo() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent / "motorcycle_left.png"


def vips_effort(format_name: str, options: dict[str, object]) -> int:
    """The vips effort of restthumbs' encoder options (heifsave: 9 - speed)."""
    if format_name == "WEBP":
        return int(str(options.get("method", 4)))
    return 9 - min(9, int(str(options.get("speed", 6))))


@dataclass
class Shipped:
    """One format at its shipped default on one case."""

    quality: int
    bytes: int
    ssim: float
    encode_ms: float
    miss_ms: float
    vips: dict[str, tuple[float, int] | None] = field(default_factory=dict)


def measure_shipped(case: Case, repeat: int) -> dict[str, Shipped]:
    from restthumbs.conf import app_settings
    from restthumbs.engine import render
    from restthumbs.engine.encoding import ENCODER_OPTIONS
    from restthumbs.spec import build_spec

    def miss(ext: str, quality: int) -> bytes:
        with open(case.path, "rb") as f:
            return render(f, build_spec(case.source, case.size, case.method, ext), quality=quality)

    quality = {fmt: app_settings.quality_for(fmt) for fmt in FORMATS}
    tasks = {}
    for fmt, ext in FORMATS.items():
        tasks[f"miss {fmt}"] = functools.partial(miss, ext, quality[fmt])
        tasks[f"encode {fmt}"] = functools.partial(encoders.shipped(fmt), case.pixels, quality[fmt])
    ms = encoders.interleaved(tasks, repeat)
    rows = {}
    for fmt, ext in FORMATS.items():
        size, ssim = case.measure(f"restthumbs {fmt}", encoders.shipped(fmt), quality[fmt])
        assert len(miss(ext, quality[fmt])) == size, "the renderer and encode() disagree"
        rows[fmt] = Shipped(quality[fmt], size, ssim, ms[f"encode {fmt}"], ms[f"miss {fmt}"])
    for fmt in ("WEBP", "AVIF"):
        same = vips_effort(fmt, ENCODER_OPTIONS[fmt])
        for name, effort in (("same", same), ("imgproxy", IMGPROXY_EFFORT[fmt])):
            encoder = encoders.vips(fmt, effort)
            rows[fmt].vips[name] = encoders.bytes_at(
                case, f"vips {fmt} {effort}", encoder, rows[fmt].ssim
            )
    return rows


def report_shipped(case: Case, rows: dict[str, Shipped]) -> None:
    jpeg = rows["JPEG"]
    print(f"\n{case.name} ({case.pixels.width}x{case.pixels.height} {case.pixels.mode})")
    print(
        f"{'format':12s} {'bytes':>7s} {'xJPEG':>6s} {'SSIM':>7s} {'enc ms':>7s} {'miss ms':>8s} "
        f"{'xJPEG':>6s} {'vips same effort':>20s} {'vips imgproxy dflt':>20s}"
    )
    for fmt, row in rows.items():
        cells = []
        for name in ("same", "imgproxy"):
            found = row.vips.get(name)
            cell = f"{found[0]:8.0f} Q{found[1]:<3d} {row.bytes / found[0]:5.2f}x" if found else ""
            cells.append(cell or ("unreached" if name in row.vips else ""))
        print(
            f"{fmt.lower() + ' q' + str(row.quality):12s} {row.bytes:7d} "
            f"{row.bytes / jpeg.bytes:6.3f} {row.ssim:7.4f} {row.encode_ms:7.1f} "
            f"{row.miss_ms:8.1f} {row.miss_ms / jpeg.miss_ms:6.2f} {cells[0]:>20s} {cells[1]:>20s}"
        )


@dataclass
class Setting:
    """One encoder setting of the sweep, at the lowest quality that passes the reference."""

    format: str
    value: int
    quality: int
    encoder: encoders.Encoder
    own: list[int]  # each case's own lowest passing quality (101: never)
    reached: int  # cases reaching JPEG's SSIM - slack at ``quality``
    mean: float  # the mean over every case of the bytes at ``quality`` / JPEG's
    bytes: int = 0
    ssim: float = 0.0
    encode_ms: float = 0.0
    share: float = 0.0  # extra encode time over JPEG's / the JPEG miss path

    @property
    def label(self) -> str:
        return f"{self.format} {SWEEP[self.format][0]}={self.value}"


def sweep(
    cases: list[Case], ships: dict[str, dict[str, Shipped]], repeat: int, budget: float
) -> dict[str, Setting | None]:
    """Print one row per setting; return the pick of each format (``None``: over budget)."""
    ref, jpeg = cases[0], ships[cases[0].name]["JPEG"]
    floors = {case.name: ships[case.name]["JPEG"].ssim - SSIM_SLACK for case in cases}
    rows = []
    for fmt, (param, values) in SWEEP.items():
        for value in values:
            label, encoder = f"{fmt} {param}={value}", encoders.pillow(fmt, **{param: value})
            quality = encoders.lowest_quality(ref, label, encoder, floors[ref.name])
            if quality is None:
                continue
            own = [encoders.lowest_quality(c, label, encoder, floors[c.name]) or 101 for c in cases]
            found = {c.name: c.measure(label, encoder, quality) for c in cases}
            reached = sum(ssim >= floors[name] for name, (_, ssim) in found.items())
            mean = statistics.fmean(size / ships[n]["JPEG"].bytes for n, (size, _) in found.items())
            row = Setting(fmt, value, quality, encoder, own, reached, mean)
            row.bytes, row.ssim = ref.measure(label, encoder, quality)
            rows.append(row)
    tasks = {row.label: functools.partial(row.encoder, ref.pixels, row.quality) for row in rows}
    tasks["JPEG"] = functools.partial(encoders.shipped("JPEG"), ref.pixels, jpeg.quality)
    ms = encoders.interleaved(tasks, repeat)
    for row in rows:
        row.encode_ms = ms[row.label]
        row.share = (row.encode_ms - ms["JPEG"]) / jpeg.miss_ms
    print(f"\nSweep on {ref.name}: q, the lowest quality reaching JPEG's SSIM - {SSIM_SLACK};")
    print("its bytes (xJPEG), SSIM - JPEG's, encode ms; +enc: extra encode time over JPEG's as")
    print(f"a share of the JPEG miss path (budget {budget}). At that q, on all {len(cases)} cases:")
    print("the mean bytes / JPEG's (the pick's measure; within 1%, the cheaper setting wins) and")
    print("how many reach JPEG's SSIM - 0.005; q min/median/max: each case's own lowest quality.")
    print(
        f"{'setting':16s} {'q':>3s} {'xJPEG':>6s} {'dSSIM':>8s} {'enc ms':>7s} {'+enc':>5s} "
        f"{'mean x':>6s} {'cases':>5s} {'q min/median/max':>16s}"
    )
    picks = {}
    for fmt in SWEEP:
        mine = [row for row in rows if row.format == fmt]
        within = [row for row in mine if row.share <= budget]
        fewest = min((row.mean for row in within), default=0)
        ties = [row for row in within if row.mean <= fewest * 1.01]
        picks[fmt] = pick = ties[-1 if fmt == "AVIF" else 0] if ties else None  # the cheapest
        for row in mine:
            mark = "  <- pick" if row is pick else ("" if row in within else "  over budget")
            spread = f"{min(row.own)}/{statistics.median(row.own):.0f}/{max(row.own)}"
            print(
                f"{row.label:16s} {row.quality:3d} {row.bytes / jpeg.bytes:6.3f} "
                f"{row.ssim - jpeg.ssim:+8.4f} {row.encode_ms:7.1f} {row.share:5.2f} "
                f"{row.mean:6.3f} {row.reached:3d}/{len(cases)} {spread:>16s}{mark}"
            )
    return picks


def verdicts(rows: dict[str, Shipped], opaque: bool) -> list[tuple[str, bool | None, str]]:
    jpeg = rows["JPEG"]
    floor = jpeg.ssim - SSIM_SLACK
    found: list[tuple[str, bool | None, str]] = []
    for fmt, limit in TARGET_BYTES.items():
        ratio, ssim = rows[fmt].bytes / jpeg.bytes, rows[fmt].ssim
        detail = f"{ratio:.3f}x at SSIM {ssim:.4f} (floor {floor:.4f})"
        ok = (ratio <= limit and ssim >= floor) if opaque else None
        found.append((f"{fmt} bytes <= {limit}x JPEG at SSIM >= JPEG's - {SSIM_SLACK}", ok, detail))
    avif = rows["AVIF"]
    miss = avif.miss_ms / jpeg.miss_ms
    found.append(
        (
            f"AVIF miss path <= {TARGET_MISS}x JPEG's",
            miss <= TARGET_MISS,
            f"{miss:.2f}x ({avif.miss_ms:.1f} / {jpeg.miss_ms:.1f} ms)",
        )
    )
    for fmt in ("WEBP", "AVIF"):
        row, same = rows[fmt], rows[fmt].vips["same"]
        ok, detail = False, "libvips never reaches that SSIM"
        if same:
            ok, detail = (
                row.bytes <= same[0],
                f"{row.bytes / same[0]:.3f}x ({row.bytes} / {same[0]:.0f})",
            )
        found.append((f"{fmt} bytes <= libvips' (same effort, same SSIM)", ok, detail))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per measurement")
    parser.add_argument(
        "--budget",
        type=float,
        default=0.4,
        help="extra encode time allowed, as a share of the JPEG miss path",
    )
    parser.add_argument("--quick", action="store_true", help="the reference case only, no sweep")
    args = parser.parse_args(argv)
    setup_django()
    corpus = ensure_corpus(quick=False)
    paths = [corpus[name] for name in SOURCES] + [real_photo()]
    cases = [encoders.load_case(path, w, *WORKLOADS[w]) for path in paths for w in SIZES]
    cases = cases[:1] if args.quick else cases
    print("Shipped defaults: restthumbs.engine.render end to end (miss ms) and encode() alone")
    print("(enc ms), medians; SSIM against a full-resolution LANCZOS reference; vips: the bytes")
    print("libvips needs for the same SSIM on the same pixels (interpolated; Q reaching it).")
    ships = {}
    for case in cases:
        ships[case.name] = measure_shipped(case, args.repeat)
        report_shipped(case, ships[case.name])
    if not args.quick:
        from restthumbs.conf import app_settings
        from restthumbs.engine.encoding import ENCODER_OPTIONS

        for fmt, pick in sweep(cases, ships, args.repeat, args.budget).items():
            param = SWEEP[fmt][0]
            now = (ENCODER_OPTIONS[fmt].get(param), app_settings.quality_for(fmt))
            chosen = (pick.value, pick.quality) if pick else None
            said = f"{param}={pick.value} q{pick.quality}" if pick else "none within the budget"
            print(f"{fmt} pick: {said}; shipped: {param}={now[0]} q{now[1]}", end=" ")
            print("(the same)" if chosen == now else "(DIFFERENT)")
            if pick:
                own = ", ".join(f"{c.name} {q}" for c, q in zip(cases, pick.own, strict=True))
                print(f"  each case's own lowest quality: {own}")
    failed = 0
    for i, case in enumerate(cases):
        if i < 2:
            print(
                "\nTargets (same source and size, same run, medians), on the reference case:"
                if i == 0
                else "The same checks elsewhere, for information (n/a: JPEG drops alpha):"
            )
        for name, ok, detail in verdicts(ships[case.name], case.pixels.mode == "RGB"):
            failed += i == 0 and not ok
            state = "n/a " if ok is None else ("met " if ok else "MISS")
            print(f"  {state} {case.name:22s} {name}: {detail}")
    print(f"\n{failed} target(s) missed on the reference case" if failed else "\nevery target met")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
