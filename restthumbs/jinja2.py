"""Jinja2: the tags as globals, ``thumbnail``, ``thumbnail_url``, ``srcset``, ``picture``.

Name the environment in ``TEMPLATES`` (``"OPTIONS": {"environment":
"restthumbs.jinja2.environment"}``), or add the globals to your own with
:func:`install`::

    <img src="{{ thumbnail(photo.image, 'avatar') }}" alt="">
    {{ srcset(photo.image, '400x300 800x600', 'crop', '.webp', sizes='50vw', alt='') }}
    {{ picture(photo.image, '400x300 800x600', sizes='50vw', alt='', class_='card') }}

They behave as the Django tags do: no I/O, and a bad argument raises only
when ``THUMBNAILS_DEBUG`` is on, else gives an empty URL or image and a logged
warning. ``srcset`` and ``picture`` return objects that write their HTML
(``__html__``, which Jinja2's autoescaping honours); keyword attribute names
lose a trailing ``_`` and have ``_`` written ``-`` (``class_``, ``data_id``).
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from .api import Thumbnail, thumbnail_or_empty
from .responsive import Picture, ResponsiveImage, html_names, picture_or_empty, srcset_or_empty


def thumbnail(
    source: Any, size: Any, method: Any = None, ext: Any = None, *, version: Any = None
) -> Thumbnail:
    """``{{ thumbnail(image, "400x300", "smart", ".webp").url }}``; ``{{ thumbnail(...) }}`` is
    the URL; ``version=photo.updated_at`` signs a version into it."""
    return thumbnail_or_empty(source, size, method, ext, version=version)


def thumbnail_url(
    source: Any, size: Any, method: Any = None, ext: Any = None, *, version: Any = None
) -> str:
    return thumbnail_or_empty(source, size, method, ext, version=version).url


def srcset(
    source: Any,
    ladder: Any,
    method: Any = None,
    ext: Any = None,
    *,
    densities: Any = None,
    version: Any = None,
    **attrs: Any,
) -> ResponsiveImage:
    """``{% srcset_image %}``: ``{{ srcset(image, "400x 800x", "scale", sizes="50vw") }}``."""
    attrs = html_names(attrs)
    return srcset_or_empty(source, ladder, method, ext, densities, attrs, version=version)


def picture(
    source: Any,
    ladder: Any,
    method: Any = None,
    ext: Any = None,
    *,
    densities: Any = None,
    formats: Any = None,
    version: Any = None,
    **attrs: Any,
) -> Picture:
    """``{% picture %}``: ``{{ picture(image, "400x300 800x600", sizes="50vw", alt="") }}``."""
    attrs = html_names(attrs)
    return picture_or_empty(source, ladder, method, ext, densities, formats, attrs, version=version)


GLOBALS = {
    "thumbnail": thumbnail,
    "thumbnail_url": thumbnail_url,
    "srcset": srcset,
    "picture": picture,
}


def install(env: Environment) -> Environment:
    """Add restthumbs' globals to ``env``; returns it."""
    env.globals.update(GLOBALS)
    return env


def environment(**options: Any) -> Environment:
    """An ``Environment`` with restthumbs' globals, for ``TEMPLATES[...]["OPTIONS"]["environment"]``."""
    return install(Environment(**options))
