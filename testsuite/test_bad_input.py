"""Bad input never reaches the renderer as a 5xx: malformed specs, refused sizes,
path escapes, missing or directory sources, and sources that are not images.

Statuses for bad sources are read from the view's own table
(:data:`restthumbs.views.STATUS_BY_ERROR`) and must be 4xx. Every refusal carries
``Cache-Control: no-store`` and leaves nothing below the thumbnail root.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import struct
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.test import override_settings

from restthumbs import thumbnail_url, urls
from restthumbs.exceptions import BadSourceImage, SourceTooLarge
from restthumbs.signing import sign
from restthumbs.spec import ThumbnailSpec, parse_size
from restthumbs.views import STATUS_BY_ERROR, status_for

from . import images
from .utils import assert_falls_through, body, files_under

REPO = Path(__file__).resolve().parent.parent
BAD_IMAGE = status_for(BadSourceImage())
TOO_LARGE = status_for(SourceTooLarge())
#: A well-formed secret that signs nothing.
NOT_A_SECRET = "0" * 64


def signed_path(path: str, size: str = "100x100", method: str = "crop", ext: str = "jpg") -> str:
    """``<path>/<size>/<method>/<secret>.<ext>`` with a valid secret for any spec,
    including those ``thumbnail_url`` refuses to build (over the limits, escaping)."""
    width, height = parse_size(size)
    spec = ThumbnailSpec(path, width, height, method, ext)
    return spec.name(sign(spec))


def assert_refused(response: Any, status: int | tuple[int, ...], thumbs_dir: Path) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, body(response))
    assert response["Cache-Control"] == "no-store"
    assert files_under(thumbs_dir) == []


@pytest.fixture(autouse=True)
def kitten(write_source: Callable[..., Path]) -> str:
    write_source("animals/kitten.jpg")
    return "animals/kitten.jpg"


def test_bad_source_statuses_are_4xx() -> None:
    """The view's table maps every kind of bad source to a client error."""
    assert STATUS_BY_ERROR[BadSourceImage] == BAD_IMAGE
    assert 400 <= BAD_IMAGE < 500
    assert 400 <= TOO_LARGE < 500


# -- malformed size, method, extension -----------------------------------------

MALFORMED = [
    # (size, method, ext, canonical twin whose secret is used, or None)
    ("0x0", "crop", "jpg", None),
    ("0x10", "crop", "jpg", None),
    ("x0", "crop", "jpg", None),
    ("010x10", "crop", "jpg", ("10x10", "crop", "jpg")),
    ("10x010", "crop", "jpg", ("10x10", "crop", "jpg")),
    ("10x10x", "crop", "jpg", ("10x10", "crop", "jpg")),
    ("10X10", "crop", "jpg", ("10x10", "crop", "jpg")),
    ("+10x10", "crop", "jpg", ("10x10", "crop", "jpg")),
    ("-10x10", "crop", "jpg", None),
    ("10x10%0A", "crop", "jpg", ("10x10", "crop", "jpg")),
    ("%2010x10", "crop", "jpg", ("10x10", "crop", "jpg")),
    ("%EF%BC%91%EF%BC%90x10", "crop", "jpg", ("10x10", "crop", "jpg")),  # full-width digits
    ("x", "crop", "jpg", None),
    ("10", "crop", "jpg", None),
    ("1e2x10", "crop", "jpg", None),
    ("10x10", "CROP", "jpg", ("10x10", "crop", "jpg")),
    ("10x10", "Crop", "jpg", ("10x10", "crop", "jpg")),
    ("10x10", "fit", "jpg", None),
    ("10x10", "", "jpg", None),
    ("", "crop", "jpg", None),
    ("10x10", "crop", "JPG", ("10x10", "crop", "jpg")),
    ("10x10", "crop", "Jpeg", ("10x10", "crop", "jpeg")),
    ("10x10", "crop", "bmp", None),
    ("10x10", "crop", "txt", None),
    ("10x10", "crop", "tiff", None),
    ("10x10", "crop", "svg", None),
]


@pytest.mark.parametrize(("size", "method", "ext", "twin"), MALFORMED)
def test_malformed_spec_is_400_or_404(
    client: Any,
    kitten: str,
    thumbs_dir: Path,
    size: str,
    method: str,
    ext: str,
    twin: tuple[str, str, str] | None,
) -> None:
    """Even the secret of the canonical spelling does not make another spelling valid.

    A spelling that is still thumbnail-shaped (a size with ``x``, a method of lower-case
    letters) gets restthumbs' no-store 4xx; any other falls through to the project's
    routes (here: none, Django's 404).
    """
    secret = signed_path(kitten, *twin).rsplit("/", 1)[1].split(".")[0] if twin else NOT_A_SECRET
    response = client.get(f"/{kitten}/{size}/{method}/{secret}.{ext}")
    if "x" in size and re.fullmatch("[a-z]+", method):
        assert_refused(response, (400, 404), thumbs_dir)
    else:
        assert_falls_through(response, thumbs_dir)


# -- sizes refused by policy ---------------------------------------------------


@pytest.mark.parametrize("size", ["4097x100", "100x4097", "4097x", "x4097", "100000x100000"])
def test_size_over_max_size_is_400(client: Any, kitten: str, thumbs_dir: Path, size: str) -> None:
    with pytest.raises(ValueError):
        thumbnail_url(kitten, size)  # the URL builder refuses it too
    assert_refused(client.get("/" + signed_path(kitten, size)), 400, thumbs_dir)


@override_settings(THUMBNAILS_MAX_SIZE=200)
@pytest.mark.parametrize(
    ("size", "status"), [("200x200", 200), ("201x10", 400), ("10x201", 400), ("x201", 400)]
)
def test_max_size_setting_is_honoured(
    client: Any, kitten: str, thumbs_dir: Path, size: str, status: int
) -> None:
    response = client.get("/" + signed_path(kitten, size))
    if status == 200:
        assert response.status_code == 200
        assert response["Cache-Control"].startswith("public")
    else:
        assert_refused(response, 400, thumbs_dir)


@override_settings(THUMBNAILS_ALLOWED_SIZES=["100x100", "64x"])
@pytest.mark.parametrize(
    ("size", "status"),
    [("100x100", 200), ("64x", 200), ("50x50", 400), ("100x", 400), ("x64", 400), ("64x64", 400)],
)
def test_allowed_sizes_is_honoured(
    client: Any, kitten: str, thumbs_dir: Path, size: str, status: int
) -> None:
    response = client.get("/" + signed_path(kitten, size))
    if status == 200:
        assert response.status_code == 200
    else:
        assert_refused(response, 400, thumbs_dir)


# -- missing sources and path escapes ------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["missing.jpg", "animals/missing.jpg", "nowhere/at/all.jpg", "animals/kitten.jpg/inner.jpg"],
)
def test_missing_source_is_404(client: Any, thumbs_dir: Path, path: str) -> None:
    assert_refused(client.get(thumbnail_url(path, "100x100")), 404, thumbs_dir)


def test_directory_as_source_is_404(client: Any, media: Path, thumbs_dir: Path) -> None:
    (media / "folder.jpg").mkdir()
    (media / "folder.jpg" / "inside.jpg").write_bytes(images.jpeg_bytes())
    assert_refused(client.get(thumbnail_url("folder.jpg", "100x100")), 404, thumbs_dir)
    assert_refused(client.get(thumbnail_url("animals", "100x100")), 404, thumbs_dir)


ESCAPES = [
    # (URL path before /<size>/..., decoded source path the view sees)
    ("/../secret.jpg", "../secret.jpg"),
    ("/animals/../../secret.jpg", "animals/../../secret.jpg"),
    ("/%2e%2e/secret.jpg", "../secret.jpg"),
    ("/%2E%2E%2Fsecret.jpg", "../secret.jpg"),
    ("/animals%2F..%2F..%2Fsecret.jpg", "animals/../../secret.jpg"),
    ("//etc/passwd", "/etc/passwd"),
    ("/%2Fetc%2Fpasswd", "/etc/passwd"),
    ("//" + "{tmp}/secret.jpg", "/{tmp}/secret.jpg"),
    ("/..\\secret.jpg", "..\\secret.jpg"),
    ("/..%5Csecret.jpg", "..\\secret.jpg"),
    ("/animals\\..\\..\\secret.jpg", "animals\\..\\..\\secret.jpg"),
    ("/C:/secret.jpg", "C:/secret.jpg"),
    ("/animals/%00/../../secret.jpg", "animals/\x00/../../secret.jpg"),
    # Not escapes, but non-canonical spellings of a real source: one URL per thumbnail.
    ("/animals/./kitten.jpg", "animals/./kitten.jpg"),
    ("/animals//kitten.jpg", "animals//kitten.jpg"),
]


@pytest.mark.parametrize("secret_kind", ["valid", "wrong", "empty"])
@pytest.mark.parametrize(("raw", "decoded"), ESCAPES)
def test_path_escape_is_404_whatever_the_secret(
    client: Any, media: Path, thumbs_dir: Path, raw: str, decoded: str, secret_kind: str
) -> None:
    """Refused as a path before the secret is even checked: 404, never 401 or 200."""
    # A real image where an escape would land, so a successful escape would give 200.
    (media.parent / "secret.jpg").write_bytes(images.jpeg_bytes())
    tmp = str(media.parent).lstrip("/")
    raw, decoded = raw.replace("{tmp}", tmp), decoded.replace("{tmp}", tmp)
    secret = {
        "valid": signed_path(decoded).rsplit("/", 1)[1].removesuffix(".jpg"),
        "wrong": NOT_A_SECRET,
        "empty": "",
    }[secret_kind]
    # A full URL, so the client does not read "//etc" as a host.
    response = client.get(f"http://testserver{raw}/100x100/crop/{secret}.jpg")
    assert_refused(response, 404, thumbs_dir)
    assert sorted(os.listdir(media.parent)) == ["media", "secret.jpg"]


# -- sources that are not (acceptable) images ----------------------------------


def _psd() -> bytes:
    """A minimal, valid Photoshop file (Pillow reads PSD but restthumbs must not)."""
    width, height = 32, 16
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    return header + struct.pack(">IIIH", 0, 0, 0, 0) + bytes(3 * width * height)


def _eps() -> bytes:
    """A real EPS written by Pillow: decoding it would run Ghostscript."""
    buffer = io.BytesIO()
    images.photo((64, 48)).save(buffer, "EPS")
    return buffer.getvalue()


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<rect width="100" height="100" fill="red"/></svg>\n'
)

BAD_SOURCES: dict[str, Callable[[], bytes]] = {
    "random-bytes": lambda: random.Random(0).randbytes(5000),
    "jpeg-header-then-junk": lambda: images.jpeg_bytes()[:600] + random.Random(1).randbytes(3000),
    "truncated-jpeg": lambda: _truncated(images.jpeg_bytes()),
    "truncated-jpeg-large": lambda: _truncated(images.jpeg_bytes((2000, 1500))),
    "truncated-png": lambda: _truncated(images.encode(images.photo(), "PNG")),
    "text": lambda: b"This is not an image, whatever its name says.\n" * 20,
    "empty": lambda: b"",
    "html": lambda: b"<!doctype html><title>x</title><p>hello</p>",
    "svg": lambda: SVG,
    "eps": _eps,
    "psd": _psd,
    "ico": lambda: images.encode(images.photo((64, 48)), "ICO"),
}


@pytest.mark.parametrize("ext", ["jpg", "png"])
@pytest.mark.parametrize("kind", list(BAD_SOURCES))
def test_bad_source_is_4xx_quickly_and_writes_nothing(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path, kind: str, ext: str
) -> None:
    write_source(f"bad.{ext}", BAD_SOURCES[kind]())
    start = time.perf_counter()
    response = client.get(thumbnail_url(f"bad.{ext}", "100x100"))
    elapsed = time.perf_counter() - start
    assert_refused(response, BAD_IMAGE, thumbs_dir)
    assert elapsed < 2


@pytest.mark.parametrize("method", ["crop", "scale", "smart"])
def test_bad_source_is_4xx_for_every_method(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path, method: str
) -> None:
    write_source("bad.jpg", _truncated(images.jpeg_bytes((1200, 900))))
    response = client.get(thumbnail_url("bad.jpg", "50x50", method, ".webp"))
    assert_refused(response, BAD_IMAGE, thumbs_dir)


def test_source_over_max_source_bytes_is_refused(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    source = write_source("big.jpg", images.jpeg_bytes())
    size = source.stat().st_size
    url = thumbnail_url("big.jpg", "100x100")
    with override_settings(THUMBNAILS_MAX_SOURCE_BYTES=size - 1):
        assert_refused(client.get(url), TOO_LARGE, thumbs_dir)
    with override_settings(THUMBNAILS_MAX_SOURCE_BYTES=size):
        assert client.get(url).status_code == 200


def test_source_over_max_source_pixels_is_refused(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("wide.png", images.photo((640, 480)))
    url = thumbnail_url("wide.png", "100x100")
    with override_settings(THUMBNAILS_MAX_SOURCE_PIXELS=640 * 480 - 1):
        assert_refused(client.get(url), TOO_LARGE, thumbs_dir)
    with override_settings(THUMBNAILS_MAX_SOURCE_PIXELS=640 * 480):
        assert client.get(url).status_code == 200


# -- decompression bombs --------------------------------------------------------

#: (width, height): over Pillow's own bomb limit, and over only restthumbs' default
#: THUMBNAILS_MAX_SOURCE_PIXELS (120 MP) while under Pillow's error threshold.
BOMBS = {"pillow-limit": (20_000, 20_000), "setting-limit": (12_000, 11_000)}


@pytest.fixture(scope="module", params=list(BOMBS))
def bomb(request: pytest.FixtureRequest) -> bytes:
    """The bomb's bytes, made once per module (making it costs ~1-2 s and 150-400 MB)."""
    return images.bomb_png(*BOMBS[request.param])


def test_bomb_is_refused_quickly_without_decoding(
    client: Any, write_source: Callable[..., Path], thumbs_dir: Path, bomb: bytes
) -> None:
    write_source("bomb.png", bomb)
    url = thumbnail_url("bomb.png", "100x100")
    tracemalloc.start()
    try:
        start = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_refused(response, TOO_LARGE, thumbs_dir)
    assert elapsed < 2
    assert peak < 5 * 2**20  # no buffer anywhere near the declared 1-bit canvas


CHILD = r"""
import json, os, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "testsuite.settings"
import django
django.setup()
from django.test import Client, override_settings
from PIL import Image
from restthumbs import thumbnail_url

def peak_mib():
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent
    # (pytest, which just built the bomb), while VmHWM belongs to this process image.
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB

media, thumbs = sys.argv[1], sys.argv[2]
with override_settings(MEDIA_ROOT=media, THUMBNAILS_STORAGE_ROOT=thumbs):
    client = Client()
    client.get(thumbnail_url("warm.jpg", "100x100")).close()  # first-use imports and caches
    before = peak_mib()
    start = time.perf_counter()
    response = client.get(thumbnail_url("bomb.png", "100x100"))
    elapsed = time.perf_counter() - start
    after = peak_mib()
    status, cache_control = response.status_code, response["Cache-Control"]
    response.close()
    # Control: really allocating 50 MB of pixels does raise the peak, so the probe works.
    Image.new("L", (10_000, 5_000), 1)
    control = peak_mib()
print(json.dumps({"status": status, "cache_control": cache_control, "elapsed": elapsed,
                  "grew": after - before, "control_grew": control - after}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's VmHWM")
def test_bomb_peak_memory_stays_bounded(
    media: Path, thumbs_dir: Path, write_source: Callable[..., Path], bomb: bytes
) -> None:
    """Measured in a fresh process, whose peak RSS is not inflated by other tests."""
    write_source("warm.jpg")
    write_source("bomb.png", bomb)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(media), str(thumbs_dir)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == TOO_LARGE
    assert report["cache_control"] == "no-store"
    assert report["elapsed"] < 2
    assert report["grew"] < 20, report  # MiB; decoding would take 130-400 MiB
    assert report["control_grew"] > 40, report
    assert [f for f in files_under(thumbs_dir) if not f.startswith("warm.jpg/")] == []


# -- fuzz: many random requests, signed and not -----------------------------------

#: Path segments chosen to hit every branch of the checks, and their neighbours.
FUZZ_SEGMENTS = [
    "animals", "kitten.jpg", "puppy.jpg", "", ".", "..", "...", "~", "C:", "c:x", "é", "猫.jpg",
    "a b", "%", "%2e%2e", "%2F", "a\\b", "\\..", "\x00", "\x7f", "\u202e", "\ud7ff", "CON",
    "x" * 300, ".hidden", "kitten.jpg.", " kitten.jpg",
]  # fmt: skip
FUZZ_SIZES = ["100x100", "64x", "x64", "0x0", "01x1", "1x", "x", "-1x5", "99999x1", "100X100", ""]
FUZZ_METHODS = ["crop", "scale", "smart", "fit", "CROP", "", "crop "]
FUZZ_EXTS = ["jpg", "jpeg", "png", "webp", "gif", "JPG", "bmp", "", "jpg.png"]


#: What restthumbs.urls routes to the view (the rest is the project's business).
THUMBNAIL_SHAPED = re.compile(urls.urlpatterns[0].pattern.regex.pattern.strip("^$"), re.S)


def _fuzz_case(rng: random.Random) -> tuple[str, str, str, str]:
    """A decoded ``(source_path, size, method, ext)``, valid now and then by chance."""
    if rng.random() < 0.15:
        source = "animals/kitten.jpg"
    else:
        source = "/".join(rng.choice(FUZZ_SEGMENTS) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.1:
        source = "/" + source
    return source, rng.choice(FUZZ_SIZES), rng.choice(FUZZ_METHODS), rng.choice(FUZZ_EXTS)


@pytest.mark.parametrize("backend", ["dummy", "nginx", "apache", "redirect"])
def test_fuzz_never_a_5xx_never_a_stray_file(
    client: Any, settings: Any, media: Path, thumbs_dir: Path, backend: str
) -> None:
    """2,000 seeded requests (GET and HEAD) per response backend: half signed with the
    real key (so only the path, size, method and extension checks stand in the way),
    half with a random secret.

    Every answer is 200 or a 4xx. Every error is ``no-store``. A 200 is only ever
    a valid spec of the one real source, and afterwards the thumbnail root holds
    exactly the thumbnails that were answered 200, and nothing appeared next to
    the source tree.
    """
    rng = random.Random(20261122)
    settings.THUMBNAILS_RESPONSE_BACKEND = f"restthumbs.responses.{backend}.sendfile"
    sources = files_under(media)
    served: set[str] = set()
    statuses: dict[int, int] = {}
    for _ in range(2000):
        source, size, method, ext = _fuzz_case(rng)
        if rng.random() < 0.5:
            try:
                width, height = parse_size(size)
            except ValueError:
                width, height = 1, 1  # sign it anyway: the URL keeps the malformed size
            secret = sign(ThumbnailSpec(source, width, height, method, ext))
        else:
            secret = "".join(
                rng.choice("0123456789abcdefABCDEF") for _ in range(rng.choice((0, 63, 64)))
            )
        name = f"{source}/{size}/{method}/{secret}.{ext}"
        send = client.head if rng.random() < 0.2 else client.get
        response = send("http://testserver/" + quote(name, safe="/"))
        status = response.status_code
        statuses[status] = statuses.get(status, 0) + 1
        assert status in (200, 302) or 400 <= status < 500, (name, status, body(response))
        if status < 400:
            assert source == "animals/kitten.jpg"
            served.add(name)
        elif THUMBNAIL_SHAPED.fullmatch(name):
            assert response["Cache-Control"] == "no-store", name
        else:  # not restthumbs' URL at all (no extension): the project's own 404
            assert status == 404, name
    assert files_under(media) == sources
    assert set(files_under(thumbs_dir)) == served
    outside = [f for f in files_under(media.parent) if not f.startswith(("media/", "thumbnails/"))]
    assert outside == []
    # The fuzz really reached each kind of answer, the renderer included.
    assert {200 if backend != "redirect" else 302, 400, 401, 404} <= set(statuses), statuses


@pytest.mark.parametrize("backend", ["dummy", "nginx", "apache", "redirect"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_segment_too_long_for_the_filesystem_is_404(
    client: Any, settings: Any, thumbs_dir: Path, backend: str, method: str
) -> None:
    """Found by the fuzz: 300 bytes in one segment made open() fail with ENAMETOOLONG,
    a 500 from the streaming backend. No such file can exist: it is a missing source."""
    settings.THUMBNAILS_RESPONSE_BACKEND = f"restthumbs.responses.{backend}.sendfile"
    thumbs_dir.mkdir()  # so the lookup reaches the long segment (ENAMETOOLONG, not ENOENT)
    url = "http://testserver/" + quote(signed_path("é" * 150 + "/kitten.jpg"), safe="/")
    response = client.generic(method, url)
    assert_refused(response, 404, thumbs_dir)


def test_purge_of_a_segment_too_long_is_a_clean_no_op(thumbs_dir: Path) -> None:
    thumbs_dir.mkdir()  # so the lookup reaches the long segment (ENAMETOOLONG, not ENOENT)
    out = io.StringIO()
    call_command("thumbnails_purge", "x" * 300 + "/kitten.jpg", stdout=out)
    assert "Deleted 0 thumbnails" in out.getvalue()
