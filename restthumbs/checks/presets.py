"""Checks of ``THUMBNAILS_PRESETS`` and ``THUMBNAILS_ONLY_PRESETS``.

A malformed preset is an error (``restthumbs.E011``): every URL naming it
would be refused, in production as an empty URL on the page. So is a preset
this server would refuse anyway (over ``THUMBNAILS_MAX_SIZE``, outside
``THUMBNAILS_ALLOWED_SIZES``, a format Pillow cannot write here). Only presets
without a preset is ``restthumbs.E012``: every thumbnail would be refused.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from ..conf import app_settings
from ..exceptions import InvalidSpec
from ..policy import enforce
from ..presets import preset_errors, presets
from ..spec import ThumbnailSpec, parse_size

HINT = (
    'For example THUMBNAILS_PRESETS = {"avatar": {"size": "64x64", "method": "smart", '
    '"ext": ".webp"}}; "method" (default "crop") and "ext" (default ".jpg") may be left out.'
)


def _refused(name: str, size: str, method: str, ext: str) -> str | None:
    """Why the policy would refuse every URL of this preset, if it would."""
    width, height = parse_size(size)
    try:
        enforce(ThumbnailSpec("", width, height, method, ext))
    except InvalidSpec as e:
        return f"THUMBNAILS_PRESETS[{name!r}] is refused by this server: {e.message}"
    return None


@register()
def check_presets(**kwargs: Any) -> list[CheckMessage]:
    raw = app_settings.raw("THUMBNAILS_PRESETS", {})
    if not isinstance(raw, dict):
        return [
            Error(
                f"THUMBNAILS_PRESETS must be a dict of presets by name, not {raw!r}.",
                hint=HINT,
                id="restthumbs.E011",
            )
        ]
    errors: list[CheckMessage] = []
    for name, value in raw.items():
        messages = preset_errors(name, value)
        if not messages:
            preset = presets()[name]
            refused = _refused(name, preset.size, preset.method, preset.ext)
            messages = [refused] if refused else []
        errors += [Error(message, hint=HINT, id="restthumbs.E011") for message in messages]
    return errors


@register()
def check_only_presets(**kwargs: Any) -> list[CheckMessage]:
    if not app_settings.ONLY_PRESETS or presets():
        return []
    return [
        Error(
            "THUMBNAILS_ONLY_PRESETS is True but THUMBNAILS_PRESETS has no (valid) preset, "
            "so every thumbnail is refused.",
            hint="Define THUMBNAILS_PRESETS, or set THUMBNAILS_ONLY_PRESETS = False.",
            id="restthumbs.E012",
        )
    ]
