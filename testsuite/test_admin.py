"""restthumbs.admin: the change form's preview widget and the list_display column, no browser.

(``test_browser.py`` opens both in real Chromium and checks every image loads.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db.models.fields.files import ImageFieldFile
from django.test import override_settings

from restthumbs.admin import ThumbnailWidget, admin_thumbnail

from .gallery.models import Photo

HEX = "[0-9a-f]{64}"


@pytest.fixture(autouse=True)
def sources(write_source: Callable[..., Path]) -> None:
    """The files exist, as in a real project: Django reads an ImageField's size on assignment."""
    write_source("photos/kitten.jpg")
    write_source("a.jpg")


def photo(name: str | None) -> Photo:
    item = Photo(title="t")
    item.image = name  # type: ignore[assignment]
    return item


def test_the_column_is_a_signed_img_at_the_size_asked() -> None:
    column = admin_thumbnail("image", "64x64")
    html = str(column(photo("photos/kitten.jpg")))
    assert re.fullmatch(
        rf'<img src="/photos/kitten\.jpg/64x64/crop/{HEX}\.jpg" alt="" loading="lazy"'
        r' width="64" height="64">',
        html,
    ), html
    assert column.short_description == "Preview"  # type: ignore[attr-defined]


def test_the_column_of_an_empty_field_is_a_dash() -> None:
    assert admin_thumbnail("image")(photo(None)) == "-"


def test_a_bad_argument_never_breaks_the_changelist(caplog: pytest.LogCaptureFixture) -> None:
    with override_settings(DEBUG=False):
        assert admin_thumbnail("image", "64X64")(photo("a.jpg")) == "-"
    assert "empty URL" in caplog.text


def test_the_widget_shows_the_current_image_above_the_input() -> None:
    value = ImageFieldFile(
        photo("photos/kitten.jpg"), Photo._meta.get_field("image"), "photos/kitten.jpg"
    )
    html = ThumbnailWidget(size="100x100", method="scale", ext=".webp").render("image", value)
    assert re.search(rf'<img src="/photos/kitten\.jpg/100x100/scale/{HEX}\.webp"', html), html
    assert 'type="file"' in html and "photos/kitten.jpg" in html


def test_the_widget_of_a_new_object_is_the_plain_input() -> None:
    html = ThumbnailWidget().render("image", None)
    assert "<img" not in html and 'type="file"' in html


def test_the_mixin_gives_image_fields_the_widget(admin_client: Any) -> None:
    from django.contrib import admin

    model_admin = admin.site._registry[Photo]
    field = model_admin.formfield_for_dbfield(Photo._meta.get_field("image"), request=None)
    assert isinstance(field.widget, ThumbnailWidget)
    assert admin_client.get("/admin/gallery/photo/add/").status_code == 200
