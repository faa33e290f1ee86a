"""Responsive images in Python: a ``srcset`` ladder, a ``<picture>`` in several formats.

The functions behind ``{% srcset_image %}`` and ``{% picture %}``, for views,
serializers and Jinja2 (:mod:`restthumbs.jinja2`)::

    from restthumbs.responsive import ladder_sizes, picture, srcset

    img = srcset(photo.image, "400x300 800x600", "crop", ".webp", sizes="50vw", alt="")
    [t.url for t in img]         # each signed URL; str(img) is the <img>
    pic = picture(photo.image, "400x300 800x600", sizes="50vw", alt="", class_="card")
    str(pic)                     # <picture><source type="image/avif" ...>...<img ...></picture>
    ladder_sizes("200x150", densities="1x 2x")   # ["200x150", "400x300"]

Like :func:`restthumbs.api.thumbnail`, they do no I/O and raise
:class:`~restthumbs.exceptions.InvalidSpec` for a bad argument; the tags and
the Jinja2 globals use :func:`srcset_or_empty` and :func:`picture_or_empty`,
which follow ``THUMBNAILS_DEBUG`` as ``{% thumbnail %}`` does. Attribute names
given as keywords lose a trailing ``_`` and have ``_`` written ``-``
(``class_`` is ``class``, ``data_id`` is ``data-id``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..api import Thumbnail, source_name, thumbnail
from ..conf import app_settings
from ..engine import can_encode
from ..exceptions import InvalidSpec, ThumbnailError
from ..presets import DEFAULT_EXT, DEFAULT_METHOD, get_preset, is_preset_name, resolve
from ..spec import CONTENT_TYPES, EXTENSIONS
from .html import Picture, ResponsiveImage, layout_size
from .ladder import (
    SOURCE_FORMATS,
    check_fallback,
    ladder_sizes,
    parse_formats,
    parse_sizes,
    split,
    with_densities,
)

__all__ = [
    "Picture",
    "ResponsiveImage",
    "ladder_sizes",
    "layout_size",
    "picture",
    "picture_or_empty",
    "srcset",
    "srcset_or_empty",
]

logger = logging.getLogger("restthumbs")


def html_names(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Python keywords to attribute names: ``class_`` -> ``class``, ``data_id`` -> ``data-id``."""
    names = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
    if {"src", "srcset"} & set(names):
        raise TypeError("src and srcset are written from the ladder; they cannot be given.")
    return names


def _ladder(ladder: Any, method: Any, ext: Any) -> tuple[list[str], str, str, str | None]:
    """``(sizes, method, ext, the preset's ext)``: one preset name stands for its size."""
    items = split(ladder)
    if len(items) == 1 and is_preset_name(items[0]):
        preset = get_preset(items[0])
        size, method, ext = resolve(items[0], method, ext)  # an unknown name is refused here
        return [size], method, ext, preset.ext if preset else None
    method = DEFAULT_METHOD if method is None else str(method)
    return parse_sizes(items), method, DEFAULT_EXT if ext is None else str(ext), None


def _build(
    source: Any,
    sizes: list[str],
    method: str,
    ext: str,
    densities: Any,
    attrs: Mapping[str, Any],
    version: Any = None,
) -> ResponsiveImage:
    descriptors: list[str] | None = None
    if densities is not None:
        sizes, descriptors = with_densities(sizes, densities)
    thumbs = [thumbnail(source, size, method, ext, version=version) for size in sizes]
    if descriptors is None:
        descriptors = [_width_descriptor(t) for t in thumbs]
    kept: dict[str, Thumbnail] = {}
    seen_sizes = set()
    for thumb, descriptor in zip(thumbs, descriptors, strict=True):
        known = (thumb.width, thumb.height) if thumb.width else None
        if descriptor in kept or (known is not None and known in seen_sizes):
            continue  # the same file as an earlier size (a small source, no upscaling)
        kept[descriptor] = thumb
        seen_sizes.add(known)
    return ResponsiveImage(list(kept.values()), list(kept), attrs)


def _width_descriptor(thumb: Thumbnail) -> str:
    """``400w``: the thumbnail's width when known, else the width asked for."""
    width = thumb.width or (thumb.spec.width if thumb.spec else None)
    if width is None:
        size = thumb.spec.size if thumb.spec else ""
        raise InvalidSpec(
            f"A srcset of widths needs a width in each size, and {size!r} has none: "
            "give WxH or Wx sizes, or one size with densities ('1x 2x')."
        )
    return f"{width}w"


def build_srcset(
    source: Any,
    ladder: Any,
    method: Any,
    ext: Any,
    densities: Any,
    attrs: Mapping[str, Any],
    version: Any = None,
) -> ResponsiveImage:
    """:func:`srcset` with HTML attribute names as they are (the template tag's way)."""
    if not source_name(source):
        return ResponsiveImage()
    sizes, method, ext, _ = _ladder(ladder, method, ext)
    return _build(source, sizes, method, ext, densities, attrs, version)


def build_picture(
    source: Any,
    ladder: Any,
    method: Any,
    ext: Any,
    densities: Any,
    formats: Any,
    attrs: Mapping[str, Any],
    version: Any = None,
) -> Picture:
    """:func:`picture` with HTML attribute names as they are (the template tag's way)."""
    if not source_name(source):
        return Picture()
    sizes, method, resolved_ext, preset_ext = _ladder(ladder, method, ext)
    if ext is None and preset_ext is not None and preset_ext not in ("jpg", "jpeg", "png", "gif"):
        resolved_ext = "jpg"  # a preset in WebP or AVIF: those are <source>s, JPEG falls back
    fallback = check_fallback(resolved_ext)
    wanted = SOURCE_FORMATS if formats is None else parse_formats(formats)
    order = [f for f in wanted if can_encode(EXTENSIONS[f])] + [fallback]
    ladders = {f: _build(source, sizes, method, f, densities, attrs, version) for f in order}
    return Picture(ladders, {f: CONTENT_TYPES[EXTENSIONS[f]] for f in order})


def srcset(
    source: Any,
    ladder: Any,
    method: str | None = None,
    ext: str | None = None,
    *,
    densities: Any = None,
    version: Any = None,
    **attrs: Any,
) -> ResponsiveImage:
    """The ladder as one ``<img srcset>``: a sequence of Thumbnails that writes itself.

    ``ladder``: sizes (``"400x300 800x600"``, or a list), or one preset name;
    ``densities`` (``"1x 2x"``) makes it one base size at each density.
    ``method``, ``ext`` and ``version`` as in :func:`restthumbs.api.thumbnail`.
    """
    return build_srcset(source, ladder, method, ext, densities, html_names(attrs), version)


def picture(
    source: Any,
    ladder: Any,
    method: str | None = None,
    ext: str | None = None,
    *,
    densities: Any = None,
    formats: Any = None,
    version: Any = None,
    **attrs: Any,
) -> Picture:
    """The ladder as ``<picture>``: AVIF and WebP ``<source>``s, then an ``<img>`` in ``ext``.

    ``ext`` is the fallback, JPEG (default), PNG or GIF; ``formats`` narrows the
    sources (``"webp"``); a format this Pillow cannot write is left out.
    """
    attrs = html_names(attrs)
    return build_picture(source, ladder, method, ext, densities, formats, attrs, version)


_T = TypeVar("_T")


def _or_empty(tag: str, build: Callable[..., _T], empty: _T, *args: Any) -> _T:
    try:
        return build(*args)
    except ThumbnailError as e:
        if app_settings.DEBUG:
            raise
        logger.warning(
            "{%% %s %%} gave no image for %r %r: %s (THUMBNAILS_DEBUG = True raises instead).",
            tag,
            source_name(args[0]),
            args[1],
            e.message,
            extra={"reason": "tag_argument"},
        )
        return empty


def srcset_or_empty(
    source: Any,
    ladder: Any,
    method: Any = None,
    ext: Any = None,
    densities: Any = None,
    attrs: Mapping[str, Any] | None = None,
    *,
    version: Any = None,
) -> ResponsiveImage:
    """:func:`build_srcset` for pages: a bad argument is an empty image and a warning,
    unless ``THUMBNAILS_DEBUG`` is on (as :func:`restthumbs.api.thumbnail_or_empty`)."""
    args = (source, ladder, method, ext, densities, attrs or {}, version)
    return _or_empty("srcset_image", build_srcset, ResponsiveImage(), *args)


def picture_or_empty(
    source: Any,
    ladder: Any,
    method: Any = None,
    ext: Any = None,
    densities: Any = None,
    formats: Any = None,
    attrs: Mapping[str, Any] | None = None,
    *,
    version: Any = None,
) -> Picture:
    """:func:`build_picture` for pages (see :func:`srcset_or_empty`)."""
    args = (source, ladder, method, ext, densities, formats, attrs or {}, version)
    return _or_empty("picture", build_picture, Picture(), *args)
