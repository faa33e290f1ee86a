"""Build thumbnail URLs: pure computation, no storage, cache or database access."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from .conf import app_settings
from .dimensions import output_size, stored_source_size
from .exceptions import ThumbnailError
from .policy import enforce
from .presets import resolve
from .signing import sign
from .spec import ThumbnailSpec, build_spec
from .versions import format_version


class Thumbnail:
    """What ``{% thumbnail ... as thumb %}`` binds: ``thumb.url``; ``{{ thumb }}`` is the URL.

    ``width`` and ``height`` are the thumbnail's pixels where they are certain
    without I/O (:mod:`restthumbs.dimensions`), else ``None``.
    """

    __slots__ = ("height", "name", "spec", "url", "width")

    def __init__(
        self,
        spec: ThumbnailSpec | None,
        name: str,
        url: str,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        self.spec = spec
        self.name = name  # the storage name (decoded); empty for an empty source
        self.url = url
        self.width = width
        self.height = height

    def __str__(self) -> str:
        return self.url

    def __bool__(self) -> bool:
        return bool(self.url)

    def __repr__(self) -> str:
        return f"<Thumbnail {self.url!r}>"


EMPTY = Thumbnail(None, "", "")

logger = logging.getLogger("restthumbs")


def source_name(source: Any) -> str:
    """The source path of a ``FieldFile``/``File`` (its ``.name``) or a string."""
    if source is None:
        return ""
    name = getattr(source, "name", source)
    return str(name) if name else ""


def thumbnail(
    source: Any,
    size: str,
    method: str | None = None,
    ext: str | None = None,
    *,
    version: Any = None,
) -> Thumbnail:
    """Return the :class:`Thumbnail` of ``source``; an empty source gives an empty URL.

    ``size`` is a size or the name of a preset (``THUMBNAILS_PRESETS``);
    ``method`` and ``ext`` left out are the preset's, else ``"crop"`` and ``".jpg"``.
    ``version`` (a model's ``updated_at``, a content hash: see
    :mod:`restthumbs.versions`) is signed into the URL, so a new version is a new
    URL; ``None`` gives the unversioned URL.
    Raises :class:`~restthumbs.exceptions.InvalidSpec` (a ``ValueError``) for a
    malformed size, method, extension or version, or a size this server would refuse.
    """
    path = source_name(source)
    if not path:
        return Thumbnail(None, "", "")
    spec = build_spec(path, *resolve(size, method, ext), version=format_version(version))
    enforce(spec)
    secret = sign(spec)
    name = spec.name(secret)
    width, height = output_size(spec, stored_source_size(source), app_settings.UPSCALE)
    url = app_settings.PROXY_BASE_URL + quote(name, safe="/")
    return Thumbnail(spec, name, url, width, height)


def thumbnail_or_empty(
    source: Any, size: Any, method: Any = None, ext: Any = None, *, version: Any = None
) -> Thumbnail:
    """:func:`thumbnail` for pages (the tags, the admin): a bad argument gives an empty
    :class:`Thumbnail` and a logged warning, unless ``THUMBNAILS_DEBUG`` is on (by
    default: under ``DEBUG``), when it raises. A page never fails because of a thumbnail.
    """
    try:
        return thumbnail(source, size, method, ext, version=version)
    except ThumbnailError as e:
        if app_settings.DEBUG:
            raise
        logger.warning(
            "A thumbnail of %r %r %r %r gave an empty URL: %s "
            "(THUMBNAILS_DEBUG = True raises instead).",
            source_name(source),
            size,
            method,
            ext,
            e.message,
            extra={"reason": "tag_argument"},
        )
        return EMPTY


def thumbnail_url(
    source: Any,
    size: str,
    method: str | None = None,
    ext: str | None = None,
    *,
    version: Any = None,
) -> str:
    """The signed URL of a thumbnail (see :func:`thumbnail`)."""
    return thumbnail(source, size, method, ext, version=version).url
