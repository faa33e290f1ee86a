"""What to warm: ``SIZE METHOD EXT`` triples and preset names, parsed and checked.

``thumbnails_warm 200x200 crop jpg 800x scale webp avatar`` asks for three
thumbnails of every source: each ``SIZE METHOD EXT`` is one, and so is a preset
name standing alone. :func:`parse_specs` turns the words into :class:`WarmSpec`
triples (a preset resolved to its size, method and format) and refuses, before
any work, a malformed one or one the policy refuses (``THUMBNAILS_MAX_SIZE``,
``THUMBNAILS_ALLOWED_SIZES``, ``THUMBNAILS_ONLY_PRESETS``, an unencodable format).

A :class:`WarmSpec` is three strings, so that a list of them travels as JSON in
a task's arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from django.utils.translation import gettext as _

from ..exceptions import InvalidSpec
from ..policy import enforce
from ..presets import get_preset, is_preset_name
from ..spec import METHODS, ThumbnailSpec, normalize_ext, parse_size, validate_method


class WarmSpec(NamedTuple):
    """One thumbnail to make of every source: as in its URL (``ext`` without a dot)."""

    size: str
    method: str
    ext: str

    def __str__(self) -> str:
        return f"{self.size} {self.method} {self.ext}"


def parse_specs(words: Sequence[str]) -> list[WarmSpec]:
    """``SIZE METHOD EXT`` triples and preset names, in order, duplicates dropped.

    Raises :class:`~restthumbs.exceptions.InvalidSpec` with a message for the
    command line: what is wrong, and which spelling would do.
    """
    if not words:
        raise InvalidSpec(_("Give SIZE METHOD EXT (e.g. 200x200 crop .jpg), or a preset name."))
    specs: list[WarmSpec] = []
    i = 0
    while i < len(words):
        word = words[i]
        preset = get_preset(word)
        if preset is not None:
            if i + 1 < len(words) and words[i + 1] in METHODS:
                raise InvalidSpec(_("A preset stands alone: give PRESET, or SIZE METHOD EXT."))
            specs.append(WarmSpec(preset.size, preset.method, preset.ext))
            i += 1
            continue
        if is_preset_name(word) and (i + 1 >= len(words) or words[i + 1] not in METHODS):
            raise InvalidSpec(
                _("There is no preset %(name)r in THUMBNAILS_PRESETS.") % {"name": word}
            )
        if i + 2 >= len(words):
            raise InvalidSpec(
                _("Give SIZE METHOD EXT (e.g. 200x200 crop .jpg), or the name of a preset.")
            )
        specs.append(checked(words[i], words[i + 1], words[i + 2]))
        i += 3
    for spec in specs:
        check(spec)
    return list(dict.fromkeys(specs))


def checked(size: str, method: str, ext: str) -> WarmSpec:
    """The triple with its extension normalised (``.jpg`` -> ``jpg``), or InvalidSpec."""
    parse_size(size)
    return WarmSpec(size, validate_method(method), normalize_ext(ext))


def check(spec: WarmSpec) -> None:
    """Refuse a spec the policy refuses, whatever the source (InvalidSpec)."""
    width, height = parse_size(spec.size)
    enforce(ThumbnailSpec("", width, height, validate_method(spec.method), spec.ext))


def from_json(value: Iterable[Sequence[str]]) -> list[WarmSpec]:
    """Triples as they come back from JSON (lists), checked again: a task trusts no one."""
    specs = [checked(*map(str, item)) for item in value]
    for spec in specs:
        check(spec)
    return specs
