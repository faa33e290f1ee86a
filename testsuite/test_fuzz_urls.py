"""Property tests (hypothesis) of the URL grammar, the signer and the whole view.

- :mod:`restthumbs.spec`: every name has exactly one spelling. ``parse_name`` and
  ``parse_size`` accept a string only if formatting what they return gives it back, and
  refuse everything else with a :class:`~restthumbs.exceptions.ThumbnailError`, never
  another exception; what ``build_spec`` accepts parses back to itself.
- :mod:`restthumbs.signing`: sign then verify round-trips under any key; any other
  secret, any other key, any other spec is :class:`BadSignature` and nothing else.
- The view through Django's test client: any path (percent-encoded or not, Unicode,
  NUL, invalid UTF-8, very long segments), size, method, extension, secret and HTTP
  method. Never a 5xx; nothing is written for an unsigned request; every error for a
  path restthumbs claims is ``no-store``; a 200 has its format's content type.

``testsuite/test_bad_input.py`` has the seeded fuzz of the same view with a fixed
request list; this module lets hypothesis search (and shrink) instead. The budget is
the profile's (``testsuite/fuzzing.py``): ``RESTTHUMBS_FUZZ=long`` for a long run.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import override_settings
from django.urls import Resolver404, resolve
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from restthumbs import thumbnail_url, views
from restthumbs.exceptions import BadSignature, ThumbnailError
from restthumbs.signing import sign, verify
from restthumbs.spec import (
    CONTENT_TYPES,
    EXTENSIONS,
    METHODS,
    SECRET_LENGTH,
    ThumbnailSpec,
    build_spec,
    parse_name,
    parse_size,
)

from . import images
from .fuzzing import examples
from .test_bad_input import FUZZ_EXTS, FUZZ_METHODS, FUZZ_SEGMENTS, FUZZ_SIZES, NOT_A_SECRET
from .utils import body, files_under

# -- strategies ----------------------------------------------------------------------

#: Any character, surrogates and controls included (``st.text()`` leaves surrogates out).
any_char = st.characters(codec=None, exclude_categories=())
digits = st.text(alphabet="0123456789", min_size=1, max_size=12)
odd_digits = st.sampled_from(
    ["0", "00", "01", "+1", "-1", "1e2", "١", "１", "²", "1_0", " 1", "1\n"]
)

#: A size: canonical, nearly canonical, or anything.
sizes = st.one_of(
    st.sampled_from(FUZZ_SIZES),
    st.builds(lambda w, h: f"{w}x{h}", digits | odd_digits, digits | odd_digits),
    st.builds(lambda w: f"{w}x", digits | odd_digits),
    st.builds(lambda h: f"x{h}", digits | odd_digits),
    st.text(alphabet="0123456789xX+- \n\t", max_size=14),
    st.text(any_char, max_size=10),
)
methods = st.one_of(st.sampled_from([*METHODS, *FUZZ_METHODS]), st.text(any_char, max_size=8))
extensions = st.one_of(
    st.sampled_from([*EXTENSIONS, *FUZZ_EXTS, "JPEG", "tif", "jpg\n", "jpg.", ".jpg"]),
    st.text(any_char, max_size=6),
)
segments = st.one_of(
    st.sampled_from(FUZZ_SEGMENTS),
    st.text(any_char, max_size=12),
    st.text(alphabet=string.ascii_letters + string.digits + "._-~", min_size=1, max_size=12),
    # Very long: over what one filesystem name (255 bytes) or a path (4096) can hold.
    st.builds(
        lambda c, n: c * n, st.sampled_from(["a", "é", "猫", "%", "\x00"]), st.integers(200, 1500)
    ),
)
source_paths = st.one_of(
    st.just("animals/kitten.jpg"),
    st.lists(segments, min_size=1, max_size=6).map("/".join),
    st.text(any_char, max_size=40),
)
#: Keys of any spelling: text (no surrogates: not a key Django can encode) or bytes.
keys = st.one_of(st.text(min_size=1, max_size=60), st.binary(min_size=1, max_size=60))


@st.composite
def valid_specs(draw: st.DrawFn) -> ThumbnailSpec:
    """A spec ``build_spec`` accepts, with a source path of any (valid) Unicode."""
    segment = st.text(
        st.characters(codec="utf-8", exclude_characters="/\\\x00"), min_size=1, max_size=15
    ).filter(lambda s: s not in (".", ".."))
    path = "/".join(draw(st.lists(segment, min_size=1, max_size=4)))
    assume(not (path[1:2] == ":" and path[0] in string.ascii_letters))
    width = draw(st.none() | st.integers(1, 999_999_999))
    height = draw(
        st.integers(1, 999_999_999) if width is None else st.none() | st.integers(1, 999_999_999)
    )
    size = f"{width or ''}x{height or ''}"
    return build_spec(
        path, size, draw(st.sampled_from(METHODS)), draw(st.sampled_from(list(EXTENSIONS)))
    )


def near_misses(secret: str) -> st.SearchStrategy[str]:
    """Secrets that look like ``secret``; now and then ``secret`` itself (callers check)."""
    position = st.integers(0, len(secret) - 1)
    return st.one_of(
        st.just(secret.upper()),
        st.just(secret[:-1]),
        st.just(secret + "0"),
        st.just(" " + secret),
        st.just(secret + "\n"),
        st.just(secret + "\x00"),
        st.builds(
            lambda i, c: secret[:i] + c + secret[i + 1 :],
            position,
            st.sampled_from("0123456789abcdefABCDEFgx ١０"),
        ),
        st.builds(lambda i: secret[:i] + secret[i].upper() + secret[i + 1 :], position),
        st.text(alphabet="0123456789abcdef", min_size=SECRET_LENGTH, max_size=SECRET_LENGTH),
        st.text(any_char, max_size=80),
    )


# -- spec: one spelling per thumbnail -------------------------------------------------


@examples(5)
@given(st.one_of(sizes, st.text(any_char, max_size=24)))
@example("10x10\n")
@example("１0x10")
def test_parse_size_accepts_exactly_the_canonical_spellings(size: str) -> None:
    try:
        width, height = parse_size(size)
    except ThumbnailError:
        return
    assert width is not None or height is not None
    for side in (width, height):
        assert side is None or (type(side) is int and side > 0)
    assert f"{width or ''}x{height or ''}" == size


@examples(2)
@given(st.none() | st.integers(1, 999_999_999), st.none() | st.integers(1, 999_999_999))
def test_every_positive_size_round_trips(width: int | None, height: int | None) -> None:
    assume(width is not None or height is not None)
    assert parse_size(f"{width or ''}x{height or ''}") == (width, height)


@examples(5)
@given(source_paths, sizes, methods, extensions, st.text(any_char, max_size=70))
@example("animals/kitten.jpg", "100x100", "crop", "jpg", "abc.def")
@example("a/./b.jpg", "1x", "scale", "png", "")
def test_parse_name_accepts_a_name_only_in_its_one_spelling(
    source: str, size: str, method: str, ext: str, secret: str
) -> None:
    name = f"{source}/{size}/{method}/{secret}.{ext}"
    try:
        spec, parsed_secret = parse_name(name)
    except ThumbnailError:
        return
    assert spec.name(parsed_secret) == name
    assert spec.method in METHODS and spec.ext in EXTENSIONS
    parts = spec.source_path.split("/")
    assert not {"", ".", ".."} & set(parts)
    assert "\\" not in spec.source_path and "\x00" not in spec.source_path


@examples(5)
@given(st.text(any_char, max_size=120))
def test_parse_name_of_anything_is_a_spec_or_a_thumbnail_error(name: str) -> None:
    try:
        spec, secret = parse_name(name)
    except ThumbnailError:
        return
    assert spec.name(secret) == name


@examples(3)
@given(source_paths, sizes, methods, extensions)
def test_build_spec_refuses_with_a_thumbnail_error_or_parses_back(
    source: str, size: str, method: str, ext: str
) -> None:
    try:
        spec = build_spec(source, size, method, ext)
    except ThumbnailError:
        return
    secret = NOT_A_SECRET
    assert parse_name(spec.name(secret)) == (spec, secret)


@examples(3)
@given(valid_specs())
def test_a_valid_spec_parses_back_from_its_name(spec: ThumbnailSpec) -> None:
    assert parse_name(spec.name(NOT_A_SECRET)) == (spec, NOT_A_SECRET)


# -- signing: round trip, and BadSignature for everything else ------------------------


@examples(3)
@given(valid_specs(), keys)
def test_sign_then_verify_round_trips_under_any_key(spec: ThumbnailSpec, key: str | bytes) -> None:
    with override_settings(THUMBNAILS_SECRET_KEY=key):
        secret = sign(spec)
        assert re.fullmatch("[0-9a-f]{64}", secret)
        assert sign(spec, key) == secret
        verify(spec, secret)


@examples(5)
@given(valid_specs(), st.data())
def test_any_other_secret_is_bad_signature(spec: ThumbnailSpec, data: st.DataObject) -> None:
    secret = sign(spec)
    other = data.draw(near_misses(secret), label="other")
    assume(other != secret)
    with pytest.raises(BadSignature):
        verify(spec, other)


@examples(3)
@given(valid_specs(), keys, keys)
def test_another_key_is_bad_signature_unless_it_is_a_fallback(
    spec: ThumbnailSpec, key: str | bytes, other: str | bytes
) -> None:
    assume(key != other)
    secret = sign(spec, other)
    with override_settings(THUMBNAILS_SECRET_KEY=key), pytest.raises(BadSignature):
        verify(spec, secret)
    with override_settings(THUMBNAILS_SECRET_KEY=key, THUMBNAILS_SECRET_KEY_FALLBACKS=[other]):
        verify(spec, secret)


@examples(3)
@given(valid_specs(), valid_specs())
def test_a_secret_signs_only_its_own_spec(spec: ThumbnailSpec, other: ThumbnailSpec) -> None:
    assume(other != spec)
    with pytest.raises(BadSignature):
        verify(other, sign(spec))


#: A source file whose name is not UTF-8 (``os.listdir`` gives its bytes as lone
#: surrogates, and so does ``FieldFile.name``): no URL can name it, since Django keeps
#: invalid UTF-8 percent-encoded in the path.
UNDECODABLE_NAME = b"\xff\xfe.jpg".decode("utf-8", "surrogateescape")


@examples(1)
@given(source_paths)
@example(UNDECODABLE_NAME)
def test_a_source_path_build_spec_accepts_can_be_signed(source: str) -> None:
    try:
        spec = build_spec(source, "100x100", "crop", "jpg")
    except ThumbnailError:
        return
    sign(spec)


def test_a_source_name_that_is_not_utf8_is_an_invalid_source_path() -> None:
    with pytest.raises(ThumbnailError):
        thumbnail_url(UNDECODABLE_NAME, "100x100")


# -- the view: any request ------------------------------------------------------------

#: Sources the fuzzed requests may name: a JPEG, a PNG under a Unicode path, a file that
#: is not an image. Small, so that a signed request that reaches the renderer is cheap.
SOURCES: dict[str, Callable[[], bytes]] = {
    "animals/kitten.jpg": lambda: images.jpeg_bytes((64, 48)),
    "é/猫 1.png": lambda: images.encode(images.photo((48, 64), "RGBA"), "PNG"),
    "bad.jpg": lambda: b"<!doctype html><p>not an image</p>",
}

ODD_METHODS = ["get", "head", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]
ODD_METHODS += ["PROPFIND", "MKCOL", "BREW", "G E T", "GET\x00", "HEAD\n", ""]

#: Mostly GET and HEAD (what reaches the signature and the renderer), then anything.
HTTP_METHODS = st.integers(0, 9).flatmap(
    lambda n: (
        st.just("GET")
        if n < 6
        else st.just("HEAD")
        if n < 8
        else st.sampled_from(ODD_METHODS)
        if n == 8
        else st.text(st.characters(codec="latin-1"), min_size=1, max_size=12)
    )
)

#: Percent-encodings the view must survive even though no valid name contains them:
#: NUL, invalid and overlong UTF-8, a lone surrogate's bytes, double encoding.
RAW_ESCAPES = [
    "%00",
    "%FF",
    "%C3",
    "%C0%AF",
    "%ED%A0%80",
    "%252e",
    "%2e%2e",
    "%2F",
    "%5C",
    "%0A",
    "%E2%80%AE",
]

#: Characters that are always percent-encoded (they would end the path, or are not
#: allowed raw in a URL); the rest are encoded at random, in either hex case.
MUST_ENCODE = set("%?#") | {chr(i) for i in range(0x21)} | {"\x7f"}


def percent_encode(name: str, rng: random.Random) -> str:
    """``name`` with each character percent-encoded (UTF-8) or not, at random."""
    out = []
    for char in name:
        must = char in MUST_ENCODE or "\ud800" <= char <= "\udfff"  # the client cannot send these
        if char == "/" or (not must and rng.random() < 0.7):
            out.append(char)
            continue
        try:
            raw = char.encode()
        except UnicodeEncodeError:  # a lone surrogate: send its (invalid) UTF-8 bytes
            raw = char.encode("utf-8", "surrogatepass")
        hex_format = "%{:02X}" if rng.random() < 0.5 else "%{:02x}"
        out.append("".join(hex_format.format(b) for b in raw))
    return "".join(out)


#: Request headers the streaming backend reads (conditional GET), and neighbours.
CONDITIONAL_HEADERS = ["HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH"]
CONDITIONAL_HEADERS += ["HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_ACCEPT"]
header_values = st.one_of(
    st.sampled_from(["*", '"abc"', 'W/"1-2"', "Thu, 01 Jan 1970 00:00:00 GMT", "bytes=0-0"]),
    st.sampled_from(["Sun, 06 Nov 2094 08:49:37 GMT", "bytes=-1,2-", "image/avif,*/*", ""]),
    st.text(st.characters(codec="latin-1"), max_size=40),
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request: its URL, HTTP method, and whether it carries a valid secret."""
    # Each part is well-formed more often than not, so that many requests get as far
    # as the signature, the storage and the renderer.
    valid_parts = draw(st.integers(0, 3)) > 0
    source = draw(st.sampled_from(list(SOURCES)) if valid_parts else source_paths)
    size = draw(st.sampled_from(["100x100", "32x", "x32", "16x16"]) if valid_parts else sizes)
    method = draw(st.sampled_from(METHODS) if valid_parts else methods)
    ext = draw(st.sampled_from(list(EXTENSIONS)) if valid_parts else extensions)
    if draw(st.integers(0, 3)) == 0:  # one part malformed
        part = draw(st.sampled_from(["source", "size", "method", "ext"]))
        source = draw(source_paths) if part == "source" else source
        size = draw(sizes) if part == "size" else size
        method = draw(methods) if part == "method" else method
        ext = draw(extensions) if part == "ext" else ext
    kind = draw(st.sampled_from(["valid", "valid", "other key", "near miss", "none", "any"]))
    try:
        width, height = parse_size(size)
    except ThumbnailError:
        width, height = 1, 1  # signed anyway: the URL keeps the malformed size
    spec = ThumbnailSpec(source, width, height, method, ext)
    try:
        valid = sign(spec)
    except UnicodeEncodeError:  # a lone surrogate (see UNDECODABLE_NAME): no client sends one
        valid = NOT_A_SECRET
        kind = "unsignable"
    if kind == "valid":
        secret = valid
    elif kind == "other key":
        secret = sign(spec, "another key")
    elif kind == "near miss":
        secret = draw(near_misses(valid))
    elif kind == "none":
        secret = ""
    else:
        secret = draw(st.text(any_char, max_size=70))
    name = f"{source}/{size}/{method}/{secret}.{ext}"
    rng = draw(st.randoms(use_true_random=False))
    path = percent_encode(name, rng)
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
        # Now and then an escape no valid name has, somewhere in the path.
        at = draw(st.integers(0, len(path)))
        path = path[:at] + draw(st.sampled_from(RAW_ESCAPES)) + path[at:]
    prefix = draw(st.sampled_from(["/", "/", "/thumbs/"]))
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        decoded = None  # Django keeps broken UTF-8 percent-encoded: not the signed name
    return {
        "url": "http://testserver" + prefix + path,
        "http_method": draw(HTTP_METHODS),
        "headers": draw(
            st.dictionaries(st.sampled_from(CONDITIONAL_HEADERS), header_values, max_size=3)
        ),
        # Signed for what the view will see: exactly ``name``, below the prefix it was signed for.
        "signed": kind != "unsignable"
        and secret == valid  # a near miss may be the secret itself
        and decoded == name
        and not (prefix == "/" and name.startswith("thumbs/")),
        "name": name,
        "ext": ext,
    }


def claimed_by_restthumbs(url: str) -> bool:
    """Whether Django routes the URL's (decoded) path to the thumbnail view."""
    path = url.removeprefix("http://testserver")
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        # Django re-percent-encodes broken UTF-8: the path it routes is still ASCII.
        decoded = path
    try:
        return resolve(decoded).func is views.serve
    except Resolver404:
        return False


@pytest.fixture(params=["dummy", "nginx"])
def backend(
    request: pytest.FixtureRequest, settings: Any, write_source: Callable[..., Path]
) -> str:
    """The response backend, and the sources, for all the examples of a test (set once:
    the settings fixture stacks an override for each assignment)."""
    settings.THUMBNAILS_RESPONSE_BACKEND = f"restthumbs.responses.{request.param}.sendfile"
    for name, make in SOURCES.items():
        write_source(name, make())
    return str(request.param)


@examples(5)
@given(request=requests())
def test_the_view_never_fails_and_writes_nothing_unsigned(
    client: Any, media: Path, thumbs_dir: Path, backend: str, request: dict[str, Any]
) -> None:
    before = set(files_under(thumbs_dir))
    try:
        response = client.generic(request["http_method"], request["url"], **request["headers"])
        status = response.status_code
        assert status < 500, (request, status, body(response))
        claimed = claimed_by_restthumbs(request["url"])
        event(f"{status} {'signed' if request['signed'] else 'unsigned'}")
        if status >= 400 and claimed:
            assert response["Cache-Control"] == "no-store", request
        if status in (200, 304, 412):  # the conditional ones: only for what exists
            assert request["signed"], request
        if status == 200:
            assert request["http_method"].upper() in ("GET", "HEAD")
            assert response["Content-Type"] == CONTENT_TYPES[EXTENSIONS[request["ext"]]]
            assert response["Cache-Control"].startswith("public, max-age=")
        if claimed and request["http_method"].upper() not in ("GET", "HEAD"):
            assert status == 405, request
    finally:
        client.close_all()
    added = set(files_under(thumbs_dir)) - before
    if request["signed"]:
        assert added <= {request["name"]}, (request, added)
    else:
        assert added == set(), (request, added)
    assert set(files_under(media)) == set(SOURCES), "nothing appears among the sources"
