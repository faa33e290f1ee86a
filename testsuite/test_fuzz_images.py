"""The image fuzzer: broken, hostile and odd sources through real signed URLs.

Every case is a source file put in the source storage and requested through the URL
``restthumbs.thumbnail_url`` builds, with Django's test client, with the streaming
backend and with nginx's ``X-Accel-Redirect`` backend. For every case:

- never a 5xx, and never a hang (each request runs in a thread, bounded by
  :data:`~testsuite.fuzzing.HANG_SECONDS`);
- a 4xx is ``no-store`` and leaves nothing in the thumbnail storage for that source;
- a 200 has its format's content type, and its file (the body, or what nginx would
  send) decodes completely with Pillow as that format;
- a source Pillow itself cannot decode (``open`` + ``load`` of its first frame) is
  never a 200: a decoding error must not turn into a thumbnail of garbage.

The cases: seeded mutations (:func:`testsuite.odd_images.mutate`: bit flips,
truncations, header damage, chunk surgery, ...) of valid sources of every input format
and mode, and :data:`testsuite.odd_images.HOSTILE`: absurd declared sizes, zlib, iCCP
and text bombs, wrong containers, animations of absurd frame counts. Seeds are
deterministic in CI; ``RESTTHUMBS_FUZZ=long`` runs many more (``testsuite/fuzzing.py``),
and a failure names its seed, so ``case(seed, format)`` rebuilds it.
"""

from __future__ import annotations

import functools
import gc
import io
import itertools
import random
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import override_settings
from PIL import Image, ImageChops, ImageStat

from restthumbs import thumbnail_url
from restthumbs.engine import INPUT_FORMATS, can_encode, render, strips
from restthumbs.engine.decoding import input_formats
from restthumbs.exceptions import BadSourceImage, InvalidSpec
from restthumbs.spec import CONTENT_TYPES, EXTENSIONS, build_spec
from restthumbs.storage import adapter, thumbnail_storage

from . import images, odd_images
from .fuzzing import Hang, bounded, first_seed, scaled
from .utils import body, files_under

# Pillow warns about much of what these files do wrong (and the suite turns warnings
# into errors); a server does not, so neither do these tests.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")

#: Seeds per input format and backend in CI (x the profile's scale in a long run).
CI_SEEDS = 100

#: Output specs the fuzzer asks for: every method and output format, small sizes (a
#: source at least twice as large is reduced while it decodes, where the engine can).
SPECS = [
    ("48x48", "crop", "jpg"),
    ("40x", "scale", "png"),
    ("x30", "smart", "webp"),
    ("20x20", "crop", "gif"),
    ("24x16", "scale", "png"),
    ("100x100", "scale", "jpg"),
]
if can_encode("AVIF"):
    SPECS.append(("32x32", "crop", "avif"))

BACKENDS = {
    "streaming": "restthumbs.responses.dummy.sendfile",
    "nginx": "restthumbs.responses.nginx.sendfile",
}


# -- valid sources to start from ------------------------------------------------------


@functools.cache
def bases() -> dict[str, list[tuple[str, bytes]]]:
    """Valid sources by format: ``[(description, bytes)]``, every mode Pillow writes,
    and variants (compressions, progressive, interlaced, orientations, animations,
    extreme aspect ratios). Small, so a case costs milliseconds: the banded decode of
    large PNGs has its own fuzzer below, and a hostile file of 100 MP."""
    found: dict[str, list[tuple[str, bytes]]] = {name: [] for name in odd_images.FORMATS}
    photo = images.photo((120, 90), "RGBA")
    for format_name in odd_images.FORMATS:
        for mode in odd_images.MODES:
            data = odd_images.encode_as(odd_images.in_mode(photo, mode), format_name)
            if data is not None:
                found[format_name].append((mode, data))
    rgb = images.photo((120, 90))
    extra: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "JPEG": [("progressive", {"progressive": True}), ("exif-6", {"exif": _exif(6)})],
        "PNG": [("interlaced", {"interlace": 1}), ("exif-8", {"exif": _exif(8)})],
        "TIFF": [
            ("lzw", {"compression": "tiff_lzw"}),
            ("jpeg", {"compression": "jpeg"}),
            ("deflate", {"compression": "tiff_adobe_deflate"}),
            ("packbits", {"compression": "packbits"}),
            ("exif-6", {"exif": _exif(6)}),
        ],
        "WEBP": [("lossless", {"lossless": True}), ("exif-5", {"exif": _exif(5)})],
        "BMP": [("rle8", {"compression": 1})],
    }
    for format_name, variants in extra.items():
        for description, params in variants:
            data = odd_images.encode_as(rgb, format_name, **params)
            if data is not None:
                found[format_name].append((description, data))
    for size in ((1, 300), (300, 1), (1, 1)):  # extreme aspect ratios, and a single pixel
        for format_name in found:
            data = odd_images.encode_as(images.photo(size), format_name)
            if data is not None:
                found[format_name].append((f"{size[0]}x{size[1]}", data))
    frames = [images.photo((60, 40), seed=i) for i in range(4)]
    for format_name in ("GIF", "PNG", "WEBP", "TIFF"):
        data = odd_images.encode_as(
            frames[0], format_name, save_all=True, append_images=frames[1:], duration=40
        )
        if data is not None:
            found[format_name].append(("animated", data))
    return found


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


# -- cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One fuzz case: a source file, the thumbnail asked of it, and how it was made."""

    seed: int
    description: str
    data: bytes
    source_ext: str
    size: str
    method: str
    ext: str
    keep_animation: bool
    upscale: bool

    def __str__(self) -> str:
        return (
            f"seed {self.seed}: {self.description} ({len(self.data)} bytes, .{self.source_ext})"
            f" -> {self.size}/{self.method}/.{self.ext}"
            + (" keeping animations" if self.keep_animation else "")
            + (" upscaling" if self.upscale else "")
        )


def case(seed: int, format_name: str) -> Case:
    """The case of ``seed`` for ``format_name``: the same on every machine and run."""
    rng = random.Random(f"{format_name}-{seed}")
    description, source = rng.choice(bases()[format_name])
    data, mutation = odd_images.mutate(source, rng)
    if rng.random() < 0.1:  # now and then under another format's name
        source_ext = rng.choice(sorted(set(odd_images.FORMATS.values())))
    else:
        source_ext = odd_images.FORMATS[format_name]
    size, method, ext = rng.choice(SPECS)
    return Case(
        seed=seed,
        description=f"{format_name} {description}, {mutation}",
        data=data,
        source_ext=source_ext,
        size=size,
        method=method,
        ext=ext,
        keep_animation=rng.random() < 0.25,
        upscale=rng.random() < 0.2,
    )


# -- the properties -------------------------------------------------------------------


def pillow_decodes(data: bytes) -> bool:
    """Whether Pillow opens (as an input format restthumbs takes) and loads the first frame."""
    try:
        with Image.open(io.BytesIO(data), formats=input_formats()) as im:
            im.load()
    except Exception:
        return False
    return True


def served_file(response: Any, thumbs_dir: Path) -> bytes:
    """The thumbnail a client gets: the body, or the file nginx would send."""
    accel = response.get("X-Accel-Redirect")
    if accel is None:
        return body(response)
    assert body(response) == b""
    name = unquote(accel).removeprefix("/thumbnails/")
    return (thumbs_dir / name).read_bytes()


def problems_of(
    client: Any, media: Path, thumbs_dir: Path, source: str, data: bytes, spec: tuple[str, str, str]
) -> tuple[int, list[str]]:
    """Request the thumbnail of ``data`` stored as ``source``: its status, and every
    property it breaks."""
    size, method, ext = spec
    path = media / source
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    url = thumbnail_url(source, size, method, "." + ext)
    start = time.perf_counter()
    response = bounded(lambda: client.get(url), f"GET {url}")
    elapsed = time.perf_counter() - start
    status = response.status_code
    problems = []
    stored = files_under(thumbs_dir / source)
    if status >= 500:
        problems.append(f"{status} {body(response)[:200]!r}")
    elif status >= 400:
        if response["Cache-Control"] != "no-store":
            problems.append(f"{status} with Cache-Control {response['Cache-Control']!r}")
        if stored:
            problems.append(f"{status}, yet stored: {stored}")
    elif status == 200:
        format_name = EXTENSIONS[ext]
        if response["Content-Type"] != CONTENT_TYPES[format_name]:
            problems.append(f"200 as {response['Content-Type']}")
        try:
            with Image.open(io.BytesIO(served_file(response, thumbs_dir))) as out:
                out.load()
                if out.format != format_name:
                    problems.append(f"200, but the file is {out.format}, not {format_name}")
        except Exception as e:
            problems.append(f"200, but the thumbnail does not decode: {e!r}")
        if not pillow_decodes(data):
            problems.append("200 for a source Pillow cannot decode (a thumbnail of garbage?)")
    else:
        problems.append(f"unexpected status {status}")
    if elapsed > 5:  # not a hang (the bound above is), but worth a look in a long run's output
        print(f"slow: {elapsed:.1f} s for {source} ({len(data)} bytes) -> {url}")
    client.close_all()
    return status, problems


@pytest.fixture
def backend(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.THUMBNAILS_RESPONSE_BACKEND = BACKENDS[request.param]
    return str(request.param)


def seeds(format_name: str, backend: str) -> Iterator[int]:
    """This format's and backend's share of the seeds: disjoint, so the two backends
    together try twice as many cases."""
    count = scaled(CI_SEEDS)
    start = first_seed() + (count if backend == "nginx" else 0)
    return iter(range(start, start + count))


@pytest.mark.parametrize("backend", list(BACKENDS), indirect=True)
@pytest.mark.parametrize("format_name", list(odd_images.FORMATS))
def test_mutated_sources_through_signed_urls(
    client: Any, media: Path, thumbs_dir: Path, backend: str, format_name: str
) -> None:
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    cases = sorted(
        (case(seed, format_name) for seed in seeds(format_name, backend)),
        key=lambda fuzz: (fuzz.keep_animation, fuzz.upscale),
    )
    # One override per group of cases with the same settings, not one per case: every
    # settings change leaves a storage behind (see test_a_storage_of_past_settings_is_freed).
    hung = False
    for (keep, upscale), group in itertools.groupby(
        cases, key=lambda fuzz: (fuzz.keep_animation, fuzz.upscale)
    ):
        with override_settings(THUMBNAILS_KEEP_ANIMATION=keep, THUMBNAILS_UPSCALE=upscale):
            for fuzz in group:
                source = f"fuzz/{fuzz.seed}.{fuzz.source_ext}"
                spec = (fuzz.size, fuzz.method, fuzz.ext)
                try:
                    status, problems = problems_of(
                        client, media, thumbs_dir, source, fuzz.data, spec
                    )
                except Hang as e:
                    failures.append(f"{fuzz}: {e}")
                    hung = True  # its thread still holds the lock and the CPU: stop
                    break
                statuses[status] += 1
                failures.extend(f"{fuzz}: {problem}" for problem in problems)
        if hung:
            break
    print(f"{format_name} via {backend}: {dict(sorted(statuses.items()))}")
    assert not failures, "\n".join(failures[:20])
    assert statuses[200] and sum(n for s, n in statuses.items() if 400 <= s < 500), statuses


# -- hostile files --------------------------------------------------------------------


@pytest.mark.parametrize("keep_animation", [False, True], ids=["first-frame", "animations"])
@pytest.mark.parametrize("name", list(odd_images.HOSTILE))
def test_hostile_file_through_a_signed_url(
    client: Any, settings: Any, media: Path, thumbs_dir: Path, name: str, keep_animation: bool
) -> None:
    source_ext, make = odd_images.HOSTILE[name]
    settings.THUMBNAILS_KEEP_ANIMATION = keep_animation
    spec = ("50x50", "crop", "gif" if keep_animation else "jpg")
    status, problems = problems_of(
        client, media, thumbs_dir, f"hostile/{name}.{source_ext}", make(), spec
    )
    assert not problems, problems
    assert status == 200 or 400 <= status < 500


def test_a_hang_is_reported_not_waited_for() -> None:
    """The bound itself: a call that outlives it fails the test instead of blocking it."""
    with pytest.raises(Hang):
        bounded(lambda: time.sleep(2), "sleeping", seconds=0.2)
    assert bounded(lambda: 42, "answering") == 42


def test_every_input_format_has_sources_to_mutate() -> None:
    """Each format restthumbs decodes is fuzzed, in several modes where Pillow writes them."""
    available = {name for name in INPUT_FORMATS if name in odd_images.FORMATS}
    assert available >= {"JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "MPO"}
    for format_name, found in bases().items():
        assert found, format_name
        assert all(pillow_decodes(data) for _, data in found), format_name
    assert len(bases()["PNG"]) >= 10 and len(bases()["TIFF"]) >= 10


def test_the_same_seed_makes_the_same_case() -> None:
    assert case(7, "PNG") == case(7, "PNG")
    assert case(7, "PNG") != case(8, "PNG")


# -- PNGs decoded in bands --------------------------------------------------------------

#: Seeds of the banded-decode fuzzer in CI.
CI_BAND_SEEDS = 600


@functools.cache
def band_bases() -> list[tuple[str, bytes]]:
    """8-bit, non-interlaced PNGs (what the engine decodes in bands), every such mode."""
    found = []
    photo = images.photo((150, 101), "RGBA")
    for mode in ("1", "L", "LA", "P", "P+t", "RGB", "RGBA"):
        for orientation in (1, 6):
            im = odd_images.in_mode(photo, mode)
            data = odd_images.encode_as(im, "PNG", exif=_exif(orientation))
            if data is not None:
                found.append((f"{mode} orientation {orientation}", data))
    return found


def render_or_refuse(data: bytes, spec: Any) -> Image.Image | str:
    """The decoded output, or ``"4xx"`` for a refusal; anything else propagates."""
    try:
        encoded = bounded(lambda: render(io.BytesIO(data), spec), f"render {spec.size}")
    except (BadSourceImage, InvalidSpec):
        return "4xx"
    out = Image.open(io.BytesIO(encoded))
    out.load()
    return out


def test_mutated_pngs_decoded_in_bands(monkeypatch: pytest.MonkeyPatch) -> None:
    """The banded PNG decoder (:mod:`restthumbs.engine.strips`, used for sources over
    ~8 MP) on small PNGs, forced into bands of a few rows, against the whole decode.

    A source whose whole decode fails (or Pillow cannot decode) is refused in bands
    too; when both render, the outputs have the same size and nearly the same pixels.
    (Bands may refuse what the whole decode accepts: see the regression test below.)
    """
    failures: list[str] = []
    outcomes: Counter[str] = Counter()
    specs = [("20x", "scale"), ("30x30", "crop"), ("x16", "smart"), ("24x10", "crop")]
    start = first_seed()
    for seed in range(start, start + scaled(CI_BAND_SEEDS)):
        rng = random.Random(f"bands-{seed}")
        description, data = rng.choice(band_bases())
        if rng.random() < 0.8:
            data, mutation = odd_images.mutate(data, rng)
            description += ", " + mutation
        size, method = rng.choice(specs)
        spec = build_spec("bands.png", size, method, "png")
        label = f"seed {seed}: {description} -> {size}/{method}"
        try:
            monkeypatch.setattr(strips, "MIN_WHOLE_BYTES", 0)
            monkeypatch.setattr(strips, "BAND_BYTES", 2048)
            banded = render_or_refuse(data, spec)
            monkeypatch.setattr(strips, "MIN_WHOLE_BYTES", 1 << 62)
            whole = render_or_refuse(data, spec)
        except Exception as e:
            failures.append(f"{label}: {type(e).__name__}: {e}")
            continue
        outcomes[
            f"{'4xx' if banded == '4xx' else 200} in bands, {'4xx' if whole == '4xx' else 200} whole"
        ] += 1
        if isinstance(banded, str):
            continue
        if isinstance(whole, str) or not pillow_decodes(data):
            failures.append(f"{label}: 200 in bands for a source that does not decode whole")
        elif banded.size != whole.size:
            failures.append(f"{label}: {banded.size} in bands, {whole.size} whole")
        else:
            difference = max_mean_difference(banded, whole)
            if difference > 8:
                failures.append(f"{label}: differs from the whole decode by {difference:.1f}")
    print(dict(outcomes))
    assert not failures, "\n".join(failures[:20])
    assert outcomes["200 in bands, 200 whole"] and outcomes["4xx in bands, 4xx whole"], outcomes


def max_mean_difference(a: Image.Image, b: Image.Image) -> float:
    """The largest of the mean absolute differences of the two images' RGBA channels."""
    difference = ImageChops.difference(a.convert("RGBA"), b.convert("RGBA"))
    return max(ImageStat.Stat(difference).mean)


# -- regression fixtures: what the fuzzers found ----------------------------------------


def large_png_with_bad_idat_crc() -> bytes:
    """A valid 4000x2200 RGB PNG (over the size that is decoded in bands) whose first
    IDAT chunk has a wrong CRC; its data is intact, and Pillow decodes it."""
    im = Image.linear_gradient("L").resize((4000, 2200)).convert("RGB")
    data = bytearray(images.encode(im, "PNG", compress_level=1))
    at = data.find(b"IDAT")
    length = int.from_bytes(data[at - 4 : at], "big")
    data[at + 4 + length] ^= 0xFF  # the CRC's first byte
    return bytes(data)


def test_a_png_is_accepted_or_refused_whatever_the_size_asked() -> None:
    data = large_png_with_bad_idat_crc()
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # Pillow: a good image
    outcomes = {
        size: "4xx"
        if render_or_refuse(data, build_spec("a.png", size, "scale", "jpg")) == "4xx"
        else 200
        for size in ("100x", "2000x")  # 100x is decoded in bands, 2000x whole
    }
    assert len(set(outcomes.values())) == 1, outcomes


def test_a_storage_of_past_settings_is_freed() -> None:
    with override_settings(THUMBNAILS_UPSCALE=True):
        storage = thumbnail_storage()
        adapter(storage)
        past = weakref.ref(storage)
        del storage
    thumbnail_storage()  # the storage of the settings now
    gc.collect()
    assert past() is None
