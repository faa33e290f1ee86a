"""Ladders: the sizes of one responsive image, and how densities scale them.

A ladder is a string of sizes separated by spaces or commas (``"400x300
800x600"``, ``"320x, 640x, 960x"``) or a list of them. With densities
(``"1x 2x 3x"``), the ladder is one base size and each density multiplies
both of its sides (rounded, at least 1 px). Pure: no settings, no I/O, so
:func:`ladder_sizes` can build ``THUMBNAILS_ALLOWED_SIZES`` in a settings module.
"""

from __future__ import annotations

import re
from typing import Any

from ..exceptions import InvalidSpec
from ..spec import parse_size

SEPARATORS = re.compile(r"[\s,]+")
#: A pixel density descriptor: ``1x``, ``1.5x``, ``2x`` (at most 3 decimals, under 1000).
DENSITY_RE = re.compile(r"(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,3})?x")
#: The modern formats a ``<picture>`` offers, best first, before its fallback ``<img>``.
SOURCE_FORMATS = ("avif", "webp")
#: The formats a ``<picture>``'s fallback ``<img>`` may have: every browser shows them.
FALLBACK_FORMATS = ("jpg", "jpeg", "png", "gif")


def split(value: Any, what: str = "ladder") -> list[str]:
    """The items of a ladder (or of densities, or formats): a string or a list."""
    if isinstance(value, str):
        return [item for item in SEPARATORS.split(value.strip()) if item]
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value]
    raise InvalidSpec(f"Invalid {what} {value!r}: expected a string such as '400x 800x' or a list.")


def parse_sizes(value: Any) -> list[str]:
    """Every size of a ladder, validated, in the order given."""
    sizes = split(value)
    if not sizes:
        raise InvalidSpec("Empty ladder: give one size or more, such as '400x300 800x600'.")
    for size in sizes:
        parse_size(size)
    return sizes


def parse_densities(value: Any) -> list[str]:
    """Density descriptors, canonical (``"1.50x"`` is ``"1.5x"``), each once."""
    densities = []
    for item in split(value, "densities"):
        if DENSITY_RE.fullmatch(item) is None or float(item[:-1]) <= 0:
            raise InvalidSpec(f"Invalid density {item!r}: expected 1x, 1.5x, 2x...")
        densities.append(f"{float(item[:-1]):g}x")
    if not densities:
        raise InvalidSpec("Empty densities: give one or more, such as '1x 2x'.")
    if len(set(densities)) != len(densities):
        raise InvalidSpec(f"A density is given twice in {value!r}.")
    return densities


def parse_formats(value: Any) -> list[str]:
    """The ``<source>`` formats asked for, in the fixed best-first order."""
    wanted = {item.removeprefix(".") for item in split(value, "formats")}
    unknown = wanted - set(SOURCE_FORMATS)
    if unknown:
        raise InvalidSpec(
            f"Invalid formats {sorted(unknown)}: a <picture> offers {' and '.join(SOURCE_FORMATS)} "
            "before its fallback (the EXT argument)."
        )
    return [ext for ext in SOURCE_FORMATS if ext in wanted]


def check_fallback(ext: str) -> str:
    """``ext`` (dot optional) if a ``<picture>``'s fallback ``<img>`` may have it."""
    value = ext.removeprefix(".")
    if value not in FALLBACK_FORMATS:
        raise InvalidSpec(
            f"Invalid fallback {ext!r}: the <img> of a <picture> is one of "
            f"{', '.join(FALLBACK_FORMATS)}; AVIF and WebP come as its <source>s."
        )
    return value


def scale(size: str, density: str) -> str:
    """``size`` times a density descriptor: ``scale("200x150", "2x") == "400x300"``."""
    factor = float(density[:-1])
    width, height = parse_size(size)
    sides = [None if side is None else max(1, round(side * factor)) for side in (width, height)]
    return f"{sides[0] or ''}x{sides[1] or ''}"


def with_densities(sizes: list[str], densities: Any) -> tuple[list[str], list[str]]:
    """``(sizes, descriptors)`` of one base size at each density."""
    if len(sizes) != 1:
        raise InvalidSpec(
            f"Densities scale one base size, not {len(sizes)} ({' '.join(sizes)}): give "
            "'200x150' with densities '1x 2x', or a ladder of sizes without densities."
        )
    descriptors = parse_densities(densities)
    return [scale(sizes[0], density) for density in descriptors], descriptors


def ladder_sizes(ladder: Any, densities: Any = None) -> list[str]:
    """Every size a ladder signs, each once, for ``THUMBNAILS_ALLOWED_SIZES``.

    ``ladder_sizes("400x300 800x600") == ["400x300", "800x600"]``;
    ``ladder_sizes("200x150", densities="1x 2x") == ["200x150", "400x300"]``.
    Sizes only: a preset name needs the settings, which a settings module is
    still writing (list the preset's size instead).
    """
    sizes = parse_sizes(ladder)
    if densities is not None:
        sizes = with_densities(sizes, densities)[0]
    return list(dict.fromkeys(sizes))
