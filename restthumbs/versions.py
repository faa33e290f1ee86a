"""The version of a thumbnail URL, from what a page has at hand: pure, no I/O.

A version goes into the thumbnail's name and signature
(``<source_path>/<size>/<method>/<secret>.v<version>.<ext>``, see
:mod:`restthumbs.spec`), so a new version is a new URL that no CDN or browser
has seen. :func:`format_version` turns what a template passes
(``version=photo.updated_at``, a content hash, a revision number) into the one
spelling the name grammar accepts:

- ``None`` or ``""``: no version (the unversioned URL, byte for byte as before);
- an aware ``datetime``: its UTC time to the microsecond, ``20240501T120000123456Z``;
  a naive one the same without the ``Z`` (as given: no time zone is assumed);
- a ``date``: ``20240501``;
- an ``int``: its decimal digits (``-`` for a negative one);
- a ``UUID``: its 32 hex digits;
- a ``str``: as given, if it is 1 to 64 ASCII letters, digits, ``-`` or ``_``
  (a hex or URL-safe base64 digest fits).

Anything else (a float, a bool, a string with other characters) is refused with
:class:`~restthumbs.exceptions.InvalidSpec`: a version must be exact, and
silently rounding or hashing it would hide a mistake.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from .exceptions import InvalidSpec
from .spec import validate_version


def format_version(value: Any) -> str | None:
    """The version string of ``value`` (``None`` for no version); see the module docstring."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):  # an int, but never a version anyone meant
        raise InvalidSpec(f"Invalid version {value!r}: a bool is not a version.")
    if isinstance(value, str):
        return validate_version(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return _timestamp(value.astimezone(datetime.timezone.utc)) + "Z"
        return _timestamp(value)
    if isinstance(value, datetime.date):
        return _day(value)
    if isinstance(value, uuid.UUID):
        return value.hex
    raise InvalidSpec(
        f"Invalid version {value!r}: expected a datetime, a date, an int, a UUID or a "
        "string of 1 to 64 ASCII letters, digits, '-' or '_'."
    )


def _day(value: datetime.date) -> str:
    # Not strftime("%Y"): it does not pad years before 1000 on every platform.
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _timestamp(value: datetime.datetime) -> str:
    return (
        f"{_day(value)}T{value.hour:02d}{value.minute:02d}{value.second:02d}{value.microsecond:06d}"
    )
