"""``thumbnails_warm --field app.Model.field``: warm what the rows reference, not what the
storage holds (restthumbs.invalidation.fields.referenced_sources)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from restthumbs.api import thumbnail

from . import images
from .gallery.models import Photo
from .utils import files_under

pytestmark = pytest.mark.django_db(transaction=True)


def warm(*args: str) -> str:
    out = io.StringIO()
    call_command("thumbnails_warm", "20x20", "crop", "jpg", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_warm_field_renders_only_what_the_rows_reference(media: Path, thumbs_dir: Path) -> None:
    kept = Photo.objects.create(title="a", image=ContentFile(images.jpeg_bytes((60, 40)), "a.jpg"))
    replaced = Photo.objects.create(
        title="b", image=ContentFile(images.jpeg_bytes((60, 40)), "b.jpg")
    )
    old = replaced.image.name
    replaced.image = ContentFile(images.jpeg_bytes((60, 40)), "c.jpg")
    replaced.save()
    (media / "stray.jpg").write_bytes(images.jpeg_bytes((60, 40)))
    assert (media / old).exists()  # Django keeps the replaced file: the walk would warm it

    summary = warm("--field", "gallery.Photo.image")

    expected = sorted(thumbnail(name, "20x20").name for name in (kept.image.name, "photos/c.jpg"))
    assert files_under(thumbs_dir) == expected
    assert "Rendered 2" in summary


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--field", "gallery.Photo.title"], "not a FileField"),
        (["--field", "gallery.Photo.image", "--since", "2024-01-01"], "--since"),
    ],
)
def test_warm_field_refused(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        warm(*args)
