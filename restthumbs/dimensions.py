"""A thumbnail's pixel size, where it is certain without opening anything.

Building a URL does no I/O, so the output size is known only in two cases:

- The source's size is stored on its model: the ``FieldFile`` of an
  ``ImageField`` with ``width_field`` and ``height_field``, whose values are
  already loaded on the instance (a deferred field would cost a query: then the
  size is unknown). The output size is then computed with the engine's own
  :func:`~restthumbs.engine.geometry.plan`. Django stores the size of the file's
  header, before EXIF orientation: a photo stored sideways (orientation 5-8)
  has its sides swapped there, and nothing short of reading the file says
  which. So the plan is computed both ways and the size is known only when both
  agree (a ``crop`` or ``smart`` box both sides of which the source covers, in
  either orientation; never for ``scale`` of a non-square box or for one side).
- Nothing is known of the source, ``crop``/``smart`` with both sides, and
  ``THUMBNAILS_UPSCALE`` on: the output is exactly the box. With upscaling off
  (the default) a source smaller than the box gives a smaller thumbnail (of the
  box's aspect ratio), so the size is unknown.

Everything else is ``(None, None)``.
"""

from __future__ import annotations

from typing import Any

from .engine.geometry import plan
from .spec import ThumbnailSpec

Size = tuple[int | None, int | None]
UNKNOWN: Size = (None, None)


def stored_source_size(source: Any) -> tuple[int, int] | None:
    """``(width, height)`` as the model stores it for an ``ImageField``'s file, else ``None``.

    Reads only attributes already on the instance: never the file, never the
    database (``ImageFieldFile.width`` would open the file when the model has
    no ``width_field``).
    """
    field = getattr(source, "field", None)
    instance = getattr(source, "instance", None)
    width_field = getattr(field, "width_field", None)
    height_field = getattr(field, "height_field", None)
    if instance is None or not width_field or not height_field:
        return None
    loaded = getattr(instance, "__dict__", {})  # a deferred field is missing here
    width, height = loaded.get(width_field), loaded.get(height_field)
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width, height
    return None


def output_size(spec: ThumbnailSpec, source_size: tuple[int, int] | None, upscale: bool) -> Size:
    """The thumbnail's ``(width, height)`` when certain, else ``(None, None)`` (module doc)."""
    if source_size is None:
        if upscale and spec.method != "scale" and spec.width and spec.height:
            return spec.width, spec.height
        return UNKNOWN
    sw, sh = source_size
    as_stored = plan(spec, sw, sh, upscale).size
    if plan(spec, sh, sw, upscale).size != as_stored:  # depends on the EXIF orientation
        return UNKNOWN
    return as_stored
