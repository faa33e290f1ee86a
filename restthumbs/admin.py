"""An opt-in preview of ``ImageField`` thumbnails in Django's admin, through signed URLs.

Nothing here is registered: use what you want in your own ``admin.py``::

    from restthumbs.admin import ThumbnailAdminMixin, admin_thumbnail

    @admin.register(Photo)
    class PhotoAdmin(ThumbnailAdminMixin, admin.ModelAdmin):
        list_display = ["title", admin_thumbnail("image")]

:class:`ThumbnailAdminMixin` shows each ``ImageField``'s current image, as a
thumbnail, above its file input in the change form (:class:`ThumbnailWidget`);
:func:`admin_thumbnail` makes a ``list_display`` column. Both build URLs the
way the template tag does: no I/O, and a bad argument never breaks the page
(see ``THUMBNAILS_DEBUG``). The thumbnails are served by restthumbs' view like
any other, so ``restthumbs.urls`` must be mounted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.db import models
from django.forms import Field
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from .api import thumbnail_or_empty


class ThumbnailWidget(AdminFileWidget):
    """The admin's file input, with a thumbnail of the current image above it."""

    template_name = "restthumbs/admin/thumbnail_widget.html"

    def __init__(
        self,
        attrs: dict[str, Any] | None = None,
        *,
        size: str = "300x200",
        method: str = "scale",
        ext: str = ".jpg",
    ) -> None:
        super().__init__(attrs)
        self.size, self.method, self.ext = size, method, ext

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if self.is_initial(value):
            context["widget"]["thumbnail"] = thumbnail_or_empty(
                value, self.size, self.method, self.ext
            )
        return context


class ThumbnailAdminMixin:
    """Gives every ``ImageField`` of a ``ModelAdmin`` a :class:`ThumbnailWidget`."""

    #: Size, method and extension of the change form's preview.
    thumbnail_preview: tuple[str, str, str] = ("300x200", "scale", ".jpg")

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest | None, **kwargs: Any
    ) -> Field | None:
        if isinstance(db_field, models.ImageField):
            size, method, ext = self.thumbnail_preview
            kwargs["widget"] = ThumbnailWidget(size=size, method=method, ext=ext)
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc, no-any-return]


def admin_thumbnail(
    field: str,
    size: str = "64x64",
    method: str = "crop",
    ext: str = ".jpg",
    *,
    description: str | None = None,
) -> Callable[[models.Model], SafeString | str]:
    """A ``list_display`` column showing the thumbnail of the model's ``field``."""

    @admin.display(description=description or _("Preview"))
    def preview(obj: models.Model) -> SafeString | str:
        thumb = thumbnail_or_empty(getattr(obj, field, None), size, method, ext)
        if not thumb:
            return "-"
        width, _, height = size.partition("x")
        return format_html(
            '<img src="{}" alt="" loading="lazy"{}{}>',
            thumb.url,
            format_html(' width="{}"', width) if width and method == "crop" else "",
            format_html(' height="{}"', height) if height and method == "crop" else "",
        )

    preview.__name__ = f"{field}_thumbnail"
    return preview
