"""restthumbs: signed, on-demand thumbnails for Django, served by nginx after the first hit."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "thumbnail_url"]


def thumbnail_url(
    source: Any,
    size: str,
    method: str | None = None,
    ext: str | None = None,
    *,
    version: Any = None,
) -> str:
    """The signed URL of a thumbnail of ``source`` (a ``FieldFile`` or a relative path).

    ``size`` is a size or a preset name; ``method`` and ``ext`` default to the
    preset's, else to ``"crop"`` and ``".jpg"``. ``version`` (``photo.updated_at``,
    a content hash) is signed into the URL: a new version is a new URL.

    Does no I/O. See :func:`restthumbs.api.thumbnail`.
    """
    from .api import thumbnail_url as build

    return build(source, size, method, ext, version=version)
