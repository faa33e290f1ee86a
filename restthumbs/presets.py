"""Named thumbnail specs: ``THUMBNAILS_PRESETS`` and ``THUMBNAILS_ONLY_PRESETS``.

A preset names a size, a method and an output format::

    THUMBNAILS_PRESETS = {"avatar": {"size": "64x64", "method": "smart", "ext": ".webp"}}

and can be given wherever a size is (``{% thumbnail image "avatar" %}``,
``thumbnail_url(image, "avatar")``, ``thumbnails_warm avatar``): the preset
supplies the method and extension the caller leaves out (``crop`` and ``.jpg``
where it names none itself). A preset name is never a size (``x64`` is a size),
so a value is one or the other, never both.

With ``THUMBNAILS_ONLY_PRESETS``, :func:`is_preset_spec` is what
:func:`restthumbs.policy.enforce` asks: a size and method no preset has is
refused (400), in any output format, as imgproxy's "only presets" mode does.

No I/O; settings are read when used (:data:`~restthumbs.conf.app_settings`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .conf import app_settings
from .exceptions import InvalidSpec
from .spec import EXTENSIONS, METHODS, is_size, normalize_ext, parse_size, validate_method

#: What a preset name looks like: a letter or ``_`` first, then letters, digits, ``_.-``.
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
KEYS = frozenset({"size", "method", "ext"})
DEFAULT_METHOD = "crop"
DEFAULT_EXT = ".jpg"

EXPECTED = {
    "size": "expected WxH, Wx or xH with positive integers",
    "method": f"expected one of {', '.join(METHODS)}",
    "ext": f"expected one of {', '.join(EXTENSIONS)} (a leading dot is accepted)",
}


@dataclass(frozen=True)
class Preset:
    """A validated preset; ``ext`` without its dot, as in a thumbnail name."""

    name: str
    size: str
    method: str
    ext: str


def is_preset_name(value: str) -> bool:
    """Whether ``value`` is spelled like a preset name (and so is not a size)."""
    return NAME_RE.fullmatch(value) is not None and not is_size(value)


def preset_errors(name: Any, value: Any) -> list[str]:
    """What is wrong with one ``THUMBNAILS_PRESETS`` entry (empty if nothing)."""
    if not isinstance(name, str) or not is_preset_name(name):
        return [
            f"THUMBNAILS_PRESETS has the name {name!r}: a name starts with a letter or '_', "
            "then letters, digits, '_', '.' or '-', and is not a size."
        ]
    where = f"THUMBNAILS_PRESETS[{name!r}]"
    if not isinstance(value, dict):
        return [f"{where} must be a dict with a 'size' (and 'method', 'ext'), not {value!r}."]
    errors = []
    unknown = set(value) - KEYS
    if unknown:
        errors.append(f"{where} has unknown keys {sorted(map(str, unknown))}.")
    checks = (
        ("size", parse_size, None),
        ("method", validate_method, DEFAULT_METHOD),
        ("ext", normalize_ext, DEFAULT_EXT),
    )
    for key, check, default in checks:
        item = value.get(key, default)
        if item is None:
            errors.append(f"{where} has no 'size'.")
            continue
        try:
            check(item) if isinstance(item, str) else check("")
        except InvalidSpec:
            errors.append(f"{where}[{key!r}] is {item!r}: {EXPECTED[key]}.")
    return errors


def _parse(name: str, value: dict[str, str]) -> Preset:
    return Preset(
        name,
        value["size"],
        value.get("method", DEFAULT_METHOD),
        normalize_ext(value.get("ext", DEFAULT_EXT)),
    )


def _load() -> tuple[dict[str, Preset], frozenset[tuple[str, str]]]:
    raw = app_settings.PRESETS
    valid: dict[str, Preset] = {}
    if isinstance(raw, dict):
        for name, value in raw.items():
            if not preset_errors(name, value):  # a malformed one is a check error (E011)
                valid[name] = _parse(name, value)
    return valid, frozenset((p.size, p.method) for p in valid.values())


def presets() -> dict[str, Preset]:
    """Every well-formed preset by name (remembered until the settings change)."""
    return app_settings.derived("presets", _load)[0]


def get_preset(name: str) -> Preset | None:
    """The preset called ``name``; ``None`` for a size or a name no preset has.

    A malformed entry of that name is an :class:`InvalidSpec` that says so
    (``manage.py check`` reports it too), so a page shows the cause.
    """
    if not is_preset_name(name):
        return None
    found = presets().get(name)
    raw = app_settings.PRESETS
    if found is None and isinstance(raw, dict) and name in raw:
        raise InvalidSpec(" ".join(preset_errors(name, raw[name])))
    return found


def resolve(size: Any, method: Any = None, ext: Any = None) -> tuple[str, str, str]:
    """``(size, method, ext)`` with a preset name expanded and the defaults filled in.

    ``size`` is a size or a preset name; a ``method`` or ``ext`` given (not
    ``None``) wins over the preset's. Raises :class:`InvalidSpec` for a
    name that is no preset (other mistakes are left to :func:`~restthumbs.spec.build_spec`).
    """
    size = str(size)
    preset = get_preset(size)
    if preset is None:
        if is_preset_name(size) and presets():
            raise InvalidSpec(
                f"{size!r} is neither a size (WxH, Wx or xH) nor a preset of "
                f"THUMBNAILS_PRESETS ({', '.join(sorted(presets()))})."
            )
        return size, _given(method, DEFAULT_METHOD), _given(ext, DEFAULT_EXT)
    return preset.size, _given(method, preset.method), _given(ext, preset.ext)


def _given(value: Any, default: str) -> str:
    """``value`` as a string, ``default`` if it was left out (``""`` is given, and invalid)."""
    return default if value is None else str(value)


def check_size_or_preset(value: str) -> None:
    """Raise :class:`InvalidSpec` unless ``value`` is a size or the name of a preset."""
    if get_preset(value) is None:
        resolve(value)
        parse_size(value)


def is_preset_spec(size: str, method: str) -> bool:
    """Whether some preset has this size and method (``THUMBNAILS_ONLY_PRESETS``)."""
    return (size, method) in app_settings.derived("presets", _load)[1]
