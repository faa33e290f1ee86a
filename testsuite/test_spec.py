"""Tests for :mod:`restthumbs.spec`: every thumbnail has exactly one spelling.

The parser is the first line of defence of the view: anything it accepts is
signed, rendered and stored under the canonical name, so a second spelling of
the same thumbnail would reach the slow backend on every request (nginx's
``try_files`` never finds it). These tests pin what is accepted and refused.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from restthumbs.exceptions import InvalidSourcePath, InvalidSpec, NotAThumbnailURL
from restthumbs.spec import (
    ThumbnailSpec,
    build_spec,
    normalize_ext,
    parse_name,
    parse_size,
    validate_method,
    validate_source_path,
)

SECRET = "0123456789abcdef" * 4

# -- parse_size ------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("100x100", (100, 100)),
        ("1x1", (1, 1)),
        ("640x480", (640, 480)),
        ("100x", (100, None)),
        ("x100", (None, 100)),
        ("10x4096", (10, 4096)),
        ("999999999x1", (999_999_999, 1)),
    ],
)
def test_parse_size_accepts_canonical_sizes(
    size: str, expected: tuple[int | None, int | None]
) -> None:
    assert parse_size(size) == expected


@pytest.mark.parametrize(
    "size",
    [
        "",
        "x",
        "100",
        "0x100",
        "100x0",
        "0x",
        "x0",
        "0x0",
        "010x100",
        "100x010",
        "x07",
        "-100x100",
        "100x-100",
        "+100x100",
        "x+100",
        " 100x100",
        "100x100 ",
        "100 x100",
        "100x 100",
        "100X100",
        "100*100",
        "100x100x100",
        "10.5x100",
        "1e3x100",
        "1_000x100",
        "0x10x",
        "１００x100",  # fullwidth digits: int() accepts them, the URL must not
        "100x١٠٠",  # Arabic-Indic digits
        "²x2",  # superscript two
        "100x100\n",  # "$" also matches before a trailing newline
        "\n100x100",
        "100x100\x00",
    ],
)
def test_parse_size_refuses_non_canonical_spellings(size: str) -> None:
    with pytest.raises(InvalidSpec):
        parse_size(size)


@pytest.mark.parametrize("digits", [10, 30, 10_000])
def test_parse_size_refuses_huge_digit_strings_quickly(digits: int) -> None:
    """A hostile URL with thousands of digits is refused without big-int work or backtracking."""
    huge = "9" * digits
    start = time.perf_counter()
    for size in (f"{huge}x1", f"1x{huge}", f"{huge}x", f"x{huge}", f"{huge}x{huge}"):
        with pytest.raises(InvalidSpec):
            parse_size(size)
    assert time.perf_counter() - start < 0.5


def test_invalid_spec_is_a_value_error() -> None:
    """Callers of the Python API can catch a plain ``ValueError``."""
    with pytest.raises(ValueError, match="Invalid size"):
        parse_size("0x0")


# -- normalize_ext ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ext", "expected"),
    [
        (".jpg", "jpg"),
        ("jpg", "jpg"),
        (".jpeg", "jpeg"),
        ("jpeg", "jpeg"),
        (".png", "png"),
        ("png", "png"),
        (".webp", "webp"),
        ("webp", "webp"),
        (".gif", "gif"),
        ("gif", "gif"),
        (".avif", "avif"),
        ("avif", "avif"),
    ],
)
def test_normalize_ext_accepts_with_or_without_dot(ext: str, expected: str) -> None:
    assert normalize_ext(ext) == expected


@pytest.mark.parametrize(
    "ext",
    [
        "",
        ".",
        "..jpg",
        "JPG",
        ".JPG",
        "Jpg",
        ".PNG",
        "bmp",
        ".tiff",
        ".tar.gz",
        "jpg.",
        " jpg",
        "jpg ",
        "jpg\n",
        "/jpg",
    ],
)
def test_normalize_ext_refuses_upper_case_and_unknown(ext: str) -> None:
    with pytest.raises(InvalidSpec):
        normalize_ext(ext)


# -- validate_method -------------------------------------------------------


@pytest.mark.parametrize("method", ["crop", "scale", "smart"])
def test_validate_method_accepts_the_three_methods(method: str) -> None:
    assert validate_method(method) == method


@pytest.mark.parametrize(
    "method", ["", "Crop", "CROP", "fit", "resize", " crop", "crop ", "crop\n"]
)
def test_validate_method_refuses_anything_else(method: str) -> None:
    with pytest.raises(InvalidSpec):
        validate_method(method)


# -- validate_source_path --------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/a.jpg",
        "/etc/passwd",
        "//host/share/a.jpg",
        "..",
        "../a.jpg",
        "a/../b.jpg",
        "a/../../b.jpg",
        "a/..",
        ".",
        "./a.jpg",
        "a/./b.jpg",
        "a/.",
        "a//b.jpg",
        "a/",
        "/",
        "a\\b.jpg",
        "..\\a.jpg",
        "a\x00.jpg",
        "a.jpg\x00.png",
        "C:",
        "C:/windows/a.jpg",
        "C:a.jpg",
        "c:\\a.jpg",
    ],
)
def test_validate_source_path_refuses_escapes(path: str) -> None:
    with pytest.raises(InvalidSourcePath):
        validate_source_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "a.jpg",
        "animals/kitten.jpg",
        "a/b/c/d/e/f/g.jpg",
        "kätzchen/schöne Katze.jpg",
        "猫/写真.png",
        "emoji/🐱.webp",
        "my photos/summer 2024.jpg",
        "100%/a%20b.jpg",
        "what?.jpg",
        "a#b&c=d;e.jpg",
        "..hidden.jpg",
        "a/...jpg",
        "1x1/crop/looks-like-a-thumbnail.jpg",
    ],
)
def test_validate_source_path_allows_plain_relative_paths(path: str) -> None:
    assert validate_source_path(path) == path


def test_invalid_source_path_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_source_path("../a.jpg")


# -- parse_name ------------------------------------------------------------


def test_parse_name_splits_the_four_parts() -> None:
    spec, secret = parse_name(f"animals/kitten.jpg/100x100/crop/{SECRET}.jpg")
    assert spec == ThumbnailSpec("animals/kitten.jpg", 100, 100, "crop", "jpg")
    assert secret == SECRET


def test_parse_name_splits_from_the_right() -> None:
    """Only the last three segments are the spec: a source may have any number of segments."""
    spec, secret = parse_name(f"a/b/c/d/e/f.png/x64/smart/{SECRET}.webp")
    assert spec.source_path == "a/b/c/d/e/f.png"
    assert (spec.width, spec.height, spec.method, spec.ext) == (None, 64, "smart", "webp")
    assert secret == SECRET


def test_parse_name_source_that_looks_like_a_thumbnail_name() -> None:
    """A thumbnail of a thumbnail: the inner name is just a source path."""
    inner = f"x.jpg/1x1/crop/{SECRET}.jpg"
    spec, secret = parse_name(f"{inner}/50x/scale/{'f' * 64}.png")
    assert spec.source_path == inner
    assert (spec.size, spec.method, spec.ext) == ("50x", "scale", "png")
    assert secret == "f" * 64


def test_parse_name_unicode_and_reserved_characters() -> None:
    spec, _ = parse_name(f"kätzchen/100% ?.jpg/100x/crop/{SECRET}.jpeg")
    assert spec.source_path == "kätzchen/100% ?.jpg"
    assert spec.ext == "jpeg"


def test_parse_name_missing_secret_gives_empty_secret() -> None:
    """``/a.jpg/100x100/crop/.jpg`` parses; the empty secret fails verification later (401)."""
    spec, secret = parse_name("a.jpg/100x100/crop/.jpg")
    assert secret == ""
    assert spec.source_path == "a.jpg"


def test_parse_name_secret_is_returned_as_written() -> None:
    """Verification, not parsing, decides what a valid secret is."""
    _, secret = parse_name("a.jpg/100x100/crop/NOT.HEX.jpg")
    assert secret == "NOT.HEX"


@pytest.mark.parametrize(
    "name",
    [
        f"a.jpg/100x100/crop/{SECRET}",
        "a.jpg/100x100/crop/",
        f"100x100/crop/{SECRET}.jpg",
        f"crop/{SECRET}.jpg",
        f"{SECRET}.jpg",
        "",
    ],
)
def test_parse_name_not_a_thumbnail_url(name: str) -> None:
    with pytest.raises(NotAThumbnailURL):
        parse_name(name)


@pytest.mark.parametrize(
    "name",
    [
        f"a.jpg/100x100/crop/{SECRET}.bmp",
        f"a.jpg/100x100/crop/{SECRET}.JPG",
        f"a.jpg/100X100/crop/{SECRET}.jpg",
        f"a.jpg/0100x100/crop/{SECRET}.jpg",
        f"a.jpg/100x100\n/crop/{SECRET}.jpg",
        f"a.jpg/100x100/fit/{SECRET}.jpg",
    ],
)
def test_parse_name_invalid_spec(name: str) -> None:
    with pytest.raises(InvalidSpec):
        parse_name(name)


@pytest.mark.parametrize(
    "name",
    [
        f"/100x100/crop/{SECRET}.jpg",
        f"../a.jpg/100x100/crop/{SECRET}.jpg",
        f"a//b.jpg/100x100/crop/{SECRET}.jpg",
        f"/etc/passwd/100x100/crop/{SECRET}.jpg",
        f"a\\b.jpg/100x100/crop/{SECRET}.jpg",
    ],
)
def test_parse_name_invalid_source_path(name: str) -> None:
    with pytest.raises(InvalidSourcePath):
        parse_name(name)


# -- ThumbnailSpec ---------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "method", "ext"),
    [
        ("100x100", "crop", "jpg"),
        ("100x", "scale", "png"),
        ("x64", "smart", "webp"),
        ("1x1", "crop", "gif"),
    ],
)
def test_name_round_trips_through_parse_name(size: str, method: str, ext: str) -> None:
    spec = build_spec("dir/ünï code.jpg", size, method, ext)
    name = spec.name(SECRET)
    assert name == f"dir/ünï code.jpg/{size}/{method}/{SECRET}.{ext}"
    assert parse_name(name) == (spec, SECRET)


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [(100, 100, "100x100"), (100, None, "100x"), (None, 100, "x100"), (1, 4096, "1x4096")],
)
def test_size_is_canonical(width: int | None, height: int | None, size: str) -> None:
    assert ThumbnailSpec("a.jpg", width, height, "crop", "jpg").size == size


@pytest.mark.parametrize(
    ("ext", "format_name", "content_type"),
    [
        ("jpg", "JPEG", "image/jpeg"),
        ("jpeg", "JPEG", "image/jpeg"),
        ("png", "PNG", "image/png"),
        ("webp", "WEBP", "image/webp"),
        ("gif", "GIF", "image/gif"),
        ("avif", "AVIF", "image/avif"),
    ],
)
def test_format_and_content_type(ext: str, format_name: str, content_type: str) -> None:
    spec = ThumbnailSpec("a.png", 10, 10, "crop", ext)
    assert spec.format == format_name
    assert spec.content_type == content_type


def test_build_spec_normalizes_a_dotted_extension() -> None:
    assert build_spec("a.jpg", "100x", "crop", ".jpg") == ThumbnailSpec(
        "a.jpg", 100, None, "crop", "jpg"
    )


def test_spec_is_frozen_and_hashable() -> None:
    spec = build_spec("a.jpg", "100x100", "crop", "jpg")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.width = 5  # type: ignore[misc]
    assert {spec, build_spec("a.jpg", "100x100", "crop", ".jpg")} == {spec}
