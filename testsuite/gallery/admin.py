from __future__ import annotations

from django.contrib import admin

from restthumbs.admin import ThumbnailAdminMixin, admin_thumbnail

from .models import Photo


@admin.register(Photo)
class PhotoAdmin(ThumbnailAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("title", admin_thumbnail("image", "64x64"))
