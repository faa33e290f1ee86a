"""``{% load restthumbs_remote %}``: the ``remote_source`` filter (docs/remote.md).

``{% thumbnail product.image_url|remote_source "300x300" "crop" ".webp" as thumb %}``
turns a remote URL into its source path (``remote/https/host/path``);
``url|remote_source:"site"`` mounts it under another segment. No I/O. A URL
that has no source path raises when ``THUMBNAILS_DEBUG`` is on; otherwise it
gives ``""`` (so the tag gives an empty URL) and a warning is logged: a page
never fails because of one bad address.
"""

from __future__ import annotations

import logging

from django import template

from ..conf import app_settings
from ..exceptions import ThumbnailError
from ..remote import remote_source as to_source

register = template.Library()
logger = logging.getLogger("restthumbs")


@register.filter
def remote_source(url: object, segment: str = "remote") -> str:
    if not url:
        return ""
    try:
        return to_source(str(url), segment)
    except ThumbnailError as e:
        if app_settings.DEBUG:
            raise
        logger.warning("remote_source: %r has no source path (%s)", url, e.log_message)
        return ""
