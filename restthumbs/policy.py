"""What this server agrees to render: size limits, allowed sizes, presets, encodable formats.

Checked when a URL is built and again by the view, before any I/O.
"""

from __future__ import annotations

from .conf import app_settings
from .engine import can_encode
from .engine.encoding import check_encodable
from .exceptions import InvalidSpec, SizeNotAllowed
from .presets import is_preset_spec
from .spec import ThumbnailSpec


def enforce(spec: ThumbnailSpec) -> None:
    """Raise :class:`SizeNotAllowed` or :class:`InvalidSpec` if ``spec`` is refused."""
    max_size = app_settings.MAX_SIZE
    if (spec.width or 0) > max_size or (spec.height or 0) > max_size:
        raise SizeNotAllowed(f"Size {spec.size} is over THUMBNAILS_MAX_SIZE ({max_size}).")
    allowed = app_settings.ALLOWED_SIZES
    if allowed is not None and spec.size not in allowed:
        raise SizeNotAllowed(f"Size {spec.size} is not in THUMBNAILS_ALLOWED_SIZES.")
    if app_settings.ONLY_PRESETS and not is_preset_spec(spec.size, spec.method):
        raise SizeNotAllowed(
            f"{spec.size} {spec.method} is not the size and method of a preset "
            "(THUMBNAILS_ONLY_PRESETS)."
        )
    if not can_encode(spec.format):
        raise InvalidSpec(f"This server cannot write {spec.format} ({spec.ext}) thumbnails.")
    check_encodable((spec.width, spec.height), spec.format)  # a requested side, where it says so
