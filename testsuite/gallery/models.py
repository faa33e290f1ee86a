from __future__ import annotations

from django.db import models


class Photo(models.Model):
    title = models.CharField(max_length=100)
    image = models.ImageField(upload_to="photos", width_field="width", height_field="height")
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, null=True)  # version=photo.updated_at

    class Meta:
        app_label = "gallery"

    def __str__(self) -> str:
        return self.title


class FeaturedPhoto(Photo):
    """A proxy: saving one sends its signals with this class as the sender."""

    class Meta:
        app_label = "gallery"
        proxy = True
