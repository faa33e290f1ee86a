"""Checks of ``THUMBNAILS_PURGE_FIELDS`` and ``THUMBNAILS_STORED_CACHE_TIMEOUT``.

A label that names no file field of an installed model is an error
(``restthumbs.E030``): the field it meant is not watched, so replacing its files
would keep stale thumbnails. A timeout that is not a whole number of seconds,
0 or more, is ``restthumbs.E031``.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from ..conf import app_settings

PURGE_HINT = (
    "Name each field as app_label.Model.field, for example THUMBNAILS_PURGE_FIELDS = "
    '["gallery.Photo.image"]; the field must be a FileField or an ImageField.'
)


@register()
def check_purge_fields(**kwargs: Any) -> list[CheckMessage]:
    from ..invalidation.fields import FieldLabelError, resolve_field

    raw = app_settings.raw("THUMBNAILS_PURGE_FIELDS", [])
    if isinstance(raw, str) or not isinstance(raw, (list, tuple)):
        return [
            Error(
                f"THUMBNAILS_PURGE_FIELDS must be a list of field labels, not {raw!r}.",
                hint=PURGE_HINT,
                id="restthumbs.E030",
            )
        ]
    errors: list[CheckMessage] = []
    for label in raw:
        try:
            resolve_field(label)
        except FieldLabelError as e:
            errors.append(
                Error(f"THUMBNAILS_PURGE_FIELDS: {e}", hint=PURGE_HINT, id="restthumbs.E030")
            )
    return errors


@register()
def check_stored_cache_timeout(**kwargs: Any) -> list[CheckMessage]:
    raw = app_settings.raw("THUMBNAILS_STORED_CACHE_TIMEOUT", 3600)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        return [
            Error(
                f"THUMBNAILS_STORED_CACHE_TIMEOUT must be a whole number of seconds, 0 or more, "
                f"not {raw!r}.",
                hint="0 turns the memory of stored thumbnails off; the default is 3600.",
                id="restthumbs.E031",
            )
        ]
    return []
