"""Build thumbnail URLs: pure computation, no storage, cache or database access."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from .conf import app_settings
from .exceptions import ThumbnailError
from .policy import enforce
from .signing import sign
from .spec import ThumbnailSpec, build_spec


class Thumbnail:
    """What ``{% thumbnail ... as thumb %}`` binds: ``thumb.url``; ``{{ thumb }}`` is the URL."""

    __slots__ = ("name", "spec", "url")

    def __init__(self, spec: ThumbnailSpec | None, name: str, url: str) -> None:
        self.spec = spec
        self.name = name  # the storage name (decoded); empty for an empty source
        self.url = url

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


def thumbnail(source: Any, size: str, method: str = "crop", ext: str = ".jpg") -> Thumbnail:
    """Return the :class:`Thumbnail` of ``source``; an empty source gives an empty URL.

    Raises :class:`~restthumbs.exceptions.InvalidSpec` (a ``ValueError``) for a
    malformed size, method or extension, or a size this server would refuse.
    """
    path = source_name(source)
    if not path:
        return Thumbnail(None, "", "")
    spec = build_spec(path, str(size), str(method), str(ext))
    enforce(spec)
    secret = sign(spec)
    name = spec.name(secret)
    return Thumbnail(spec, name, app_settings.PROXY_BASE_URL + quote(name, safe="/"))


def thumbnail_or_empty(source: Any, size: Any, method: Any, ext: Any) -> Thumbnail:
    """:func:`thumbnail` for pages (the tags, the admin): a bad argument gives an empty
    :class:`Thumbnail` and a logged warning, unless ``THUMBNAILS_DEBUG`` is on (by
    default: under ``DEBUG``), when it raises. A page never fails because of a thumbnail.
    """
    try:
        return thumbnail(source, size, method, ext)
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


def thumbnail_url(source: Any, size: str, method: str = "crop", ext: str = ".jpg") -> str:
    """The signed URL of a thumbnail (see :func:`thumbnail`)."""
    return thumbnail(source, size, method, ext).url
