"""Parse and format thumbnail specifications.

A thumbnail name is ``<source_path>/<size>/<method>/<secret>.<ext>``:

- ``source_path``: relative to the source storage, Unicode allowed, never
  absolute, never with ``.``/``..``/empty segments, backslashes or NUL;
- ``size``: ``WxH``, ``Wx`` or ``xH`` with canonical positive integers;
- ``method``: ``crop``, ``scale`` or ``smart``;
- ``ext``: ``jpg``, ``jpeg``, ``png``, ``webp``, ``gif`` or ``avif``, lower case;
- ``secret``: 64 lowercase hex digits (checked by :mod:`restthumbs.signing`).

A versioned thumbnail (a new source, a new URL) has a version between its
secret and its extension: ``<source_path>/<size>/<method>/<secret>.v<version>.<ext>``,
the version 1 to 64 ASCII letters, digits, ``-`` or ``_`` (:data:`VERSION_PATTERN`).
A secret is hex and has no dot, so the two spellings never meet, and a last segment
whose version is malformed is read as a secret, which fails verification (401),
exactly as every such URL did before versions existed.

Every thumbnail has exactly one spelling, so anything else is refused here.
This is the one grammar of thumbnail names: the view parses with
:func:`parse_name`, and the commands recognise stored thumbnails with
:func:`is_thumbnail_name`. This module does no I/O and reads no settings.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from .exceptions import InvalidSourcePath, InvalidSpec, NotAThumbnailURL

METHODS = ("crop", "scale", "smart")

#: URL extension -> Pillow format name.
EXTENSIONS: dict[str, str] = {
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "gif": "GIF",
    "avif": "AVIF",
}

#: Source files the commands consider images, by extension (compared case-insensitively).
SOURCE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "webp", "tif", "tiff", "bmp", "avif"})

#: Hex digits of a secret (HMAC-SHA256).
SECRET_LENGTH = 64

CONTENT_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "AVIF": "image/avif",
}

#: A version in a thumbnail name (``.v<version>`` before the extension).
VERSION_PATTERN = r"[0-9A-Za-z_-]{1,64}"
VERSION_MARK = ".v"

_DRIVE_LETTERS = frozenset(string.ascii_letters)
_VERSION_RE = re.compile(VERSION_PATTERN)
_STORED_FILENAME_RE = re.compile(
    rf"[0-9a-f]{{{SECRET_LENGTH}}}(?:\.v(?P<version>{VERSION_PATTERN}))?\.(?P<ext>[a-z]+)"
)
_SIZE_RE = re.compile(
    r"^(?:([1-9][0-9]{0,8})x([1-9][0-9]{0,8})|([1-9][0-9]{0,8})x|x([1-9][0-9]{0,8}))$"
)


@dataclass(frozen=True)
class ThumbnailSpec:
    """What to render: a validated source path, box, method and output extension."""

    source_path: str
    width: int | None
    height: int | None
    method: str
    ext: str
    #: ``None`` for the unversioned name (and the HMAC message) of every URL before versions.
    version: str | None = None

    @property
    def size(self) -> str:
        """The canonical size string (``"100x100"``, ``"100x"``, ``"x100"``)."""
        return f"{self.width or ''}x{self.height or ''}"

    @property
    def format(self) -> str:
        """The Pillow format name of the output."""
        return EXTENSIONS[self.ext]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    def name(self, secret: str) -> str:
        """The storage name (and URL path below the prefix) for ``secret``."""
        if self.version is not None:
            secret = f"{secret}{VERSION_MARK}{self.version}"
        return f"{self.source_path}/{self.size}/{self.method}/{secret}.{self.ext}"

    @property
    def directory(self) -> str:
        """The storage directory holding every thumbnail of this source."""
        return self.source_path


def parse_size(size: str) -> tuple[int | None, int | None]:
    """Parse ``WxH``/``Wx``/``xH`` into ``(width, height)``; ``None`` for a free side."""
    match = _SIZE_RE.fullmatch(size)  # not .match: "$" also matches before a final "\n"
    if match is None:
        raise InvalidSpec(f"Invalid size {size!r}: expected WxH, Wx or xH with positive integers.")
    w, h, w_only, h_only = match.groups()
    if w is not None:
        return int(w), int(h)
    if w_only is not None:
        return int(w_only), None
    return None, int(h_only)


def normalize_ext(ext: str) -> str:
    """Accept ``".jpg"`` or ``"jpg"`` (as the template tag does) and validate it."""
    value = ext.removeprefix(".")
    if value not in EXTENSIONS:
        raise InvalidSpec(
            f"Invalid extension {ext!r}: expected one of {', '.join(EXTENSIONS)} (lower case)."
        )
    return value


def validate_method(method: str) -> str:
    if method not in METHODS:
        raise InvalidSpec(f"Invalid method {method!r}: expected one of {', '.join(METHODS)}.")
    return method


_BAD_SEGMENTS = frozenset(("", ".", ".."))


def validate_source_path(path: str) -> str:
    """Refuse any path that is not a plain relative path inside the storage.

    This is what keeps every thumbnail name inside its storage
    (:func:`restthumbs.storage.is_stored` relies on it).
    """
    if not path:
        raise InvalidSourcePath("Empty source path.")
    if "\x00" in path or "\\" in path:
        raise InvalidSourcePath("Source path contains a forbidden character.")
    if not path.isascii():
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: a file name that is not UTF-8
            raise InvalidSourcePath("Source path is not valid Unicode.") from None
    if path[0] == "/" or (path[1:2] == ":" and path[0] in _DRIVE_LETTERS):
        raise InvalidSourcePath("Source path must be relative.")
    if not _BAD_SEGMENTS.isdisjoint(path.split("/")):
        raise InvalidSourcePath("Source path has an empty, '.' or '..' segment.")
    return path


def validate_version(version: str) -> str:
    if _VERSION_RE.fullmatch(version) is None:
        raise InvalidSpec(
            f"Invalid version {version!r}: expected 1 to 64 ASCII letters, digits, '-' or '_'."
        )
    return version


def build_spec(
    source_path: str, size: str, method: str, ext: str, version: str | None = None
) -> ThumbnailSpec:
    """Validate each part and return the spec; raises a :class:`ThumbnailError`."""
    width, height = parse_size(size)
    return ThumbnailSpec(
        source_path=validate_source_path(source_path),
        width=width,
        height=height,
        method=validate_method(method),
        ext=normalize_ext(ext),
        version=None if version is None else validate_version(version),
    )


def parse_name(name: str) -> tuple[ThumbnailSpec, str]:
    """Split a decoded URL path (below the prefix) into ``(spec, secret)``.

    The secret is returned as written; verifying it is :mod:`restthumbs.signing`'s job.
    A ``.v<version>`` before the extension is the version only when it is well
    formed; otherwise it stays part of the secret, which then fails verification.
    """
    parts = name.rsplit("/", 3)
    if len(parts) != 4:
        raise NotAThumbnailURL()
    source_path, size, method, filename = parts
    secret, dot, ext = filename.rpartition(".")
    if not dot:
        raise NotAThumbnailURL()
    if ext not in EXTENSIONS:
        raise InvalidSpec(f"Invalid extension {ext!r}.")
    secret, version = split_version(secret)
    spec = build_spec(source_path, size, method, ext, version)
    return spec, secret


def split_version(head: str) -> tuple[str, str | None]:
    """``"<secret>.v<version>"`` -> ``(secret, version)``; anything else is all secret."""
    secret, mark, version = head.rpartition(VERSION_MARK)
    if mark and _VERSION_RE.fullmatch(version) is not None:
        return secret, version
    return head, None


# -- recognising stored thumbnails -------------------------------------------------


def is_size(segment: str) -> bool:
    """Whether ``segment`` is a canonical size (``100x100``, ``100x``, ``x100``)."""
    try:
        parse_size(segment)
    except InvalidSpec:
        return False
    return True


def is_thumbnail_tail(size: str, method: str, filename: str) -> bool:
    """Whether ``<size>/<method>/<filename>`` is spelled exactly as restthumbs stores it
    (versioned or not)."""
    match = _STORED_FILENAME_RE.fullmatch(filename)  # not match + "$": that allows a final "\n"
    return match is not None and match["ext"] in EXTENSIONS and method in METHODS and is_size(size)


def source_of(name: str) -> str:
    """The source path of a thumbnail name: all but its last three segments."""
    return name.rsplit("/", 3)[0]


def stored_version(filename: str) -> str | None:
    """The version of a stored thumbnail's file name (``None``: unversioned, or not one)."""
    match = _STORED_FILENAME_RE.fullmatch(filename)
    return None if match is None else match["version"]


def is_thumbnail_name(name: str) -> bool:
    """Whether a storage name has the full shape ``<source>/<size>/<method>/<secret>.<ext>``."""
    parts = name.rsplit("/", 3)
    return len(parts) == 4 and bool(parts[0]) and is_thumbnail_tail(*parts[1:])


def is_source_image_name(name: str) -> bool:
    """A visible file name with an image extension (``PHOTO.JPG`` included)."""
    base, dot, ext = name.rpartition(".")
    return bool(dot and base) and not name.startswith(".") and ext.lower() in SOURCE_EXTENSIONS
