"""Model fields tied to restthumbs (restthumbs.invalidation): a replaced or deleted file
purges its thumbnails once the transaction commits. A real model (testsuite/gallery's
Photo, an ImageField) in a real database (SQLite), thumbnails on disk. (On S3, with
the shared cache's memory: test_s3_fleet.py.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.test import override_settings

from restthumbs.ensure import ensure_thumbnail
from restthumbs.invalidation import purge_on_change
from restthumbs.invalidation.fields import FieldLabelError, referenced_sources, resolve_field
from restthumbs.invalidation.receivers import unwatch, watch_configured
from restthumbs.signing import sign
from restthumbs.spec import build_spec

from . import images
from .gallery.models import FeaturedPhoto, Photo
from .utils import files_under

pytestmark = pytest.mark.django_db(transaction=True)  # real commits and rollbacks


class OverwritingStorage(FileSystemStorage):
    """A storage that keeps the name of a file saved again (as S3Storage does)."""

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        if self.exists(name):
            os.remove(self.path(name))
        return name


@pytest.fixture
def watched() -> Iterator[None]:
    purge_on_change(Photo, "image")
    purge_on_change(Photo, "image")  # twice: still one set of receivers
    try:
        yield
    finally:
        unwatch(Photo, "image")


def jpeg(seed: int = 1) -> ContentFile[bytes]:
    return ContentFile(images.jpeg_bytes((80, 60)), name=f"p{seed}.jpg")


def thumbnails_of(path: str) -> list[str]:
    """Render two thumbnails of ``path`` (one versioned) through the real pipeline."""
    names = []
    for size, version in (("20x20", None), ("10x", "7")):
        spec = build_spec(path, size, "crop", "jpg", version)
        names.append(ensure_thumbnail(spec, sign(spec)).name)
    return names


def photo_with_thumbnails(title: str = "t") -> tuple[Photo, list[str]]:
    photo = Photo.objects.create(title=title, image=jpeg())
    return photo, thumbnails_of(photo.image.name)


def test_replacing_the_file_purges_the_old_thumbnails(watched: None, thumbs_dir: Path) -> None:
    photo, old = photo_with_thumbnails()
    _other, kept = photo_with_thumbnails("other")
    assert set(files_under(thumbs_dir)) == set(old + kept)

    photo.image = jpeg(2)
    photo.save()

    assert photo.image.name != old[0].split("/")[1]
    assert set(files_under(thumbs_dir)) == set(kept)


def test_purged_only_when_the_transaction_commits(watched: None, thumbs_dir: Path) -> None:
    photo, old = photo_with_thumbnails()
    with transaction.atomic():
        photo.image = jpeg(2)
        photo.save()
        assert set(files_under(thumbs_dir)) == set(old)  # not yet
    assert files_under(thumbs_dir) == []


def test_a_rolled_back_replacement_purges_nothing(watched: None, thumbs_dir: Path) -> None:
    photo, old = photo_with_thumbnails()
    with pytest.raises(RuntimeError), transaction.atomic():
        photo.image = jpeg(2)
        photo.save()
        raise RuntimeError("rolled back")
    assert set(files_under(thumbs_dir)) == set(old)


def test_deleting_the_row_or_the_file_purges(watched: None, thumbs_dir: Path) -> None:
    photo, _ = photo_with_thumbnails()
    photo.delete()
    assert files_under(thumbs_dir) == []

    photo, _ = photo_with_thumbnails()
    photo.image.delete()  # the file and the field, saved
    assert files_under(thumbs_dir) == []

    photo, _ = photo_with_thumbnails()
    photo.image = None  # type: ignore[assignment]
    photo.save()
    assert files_under(thumbs_dir) == []


def test_a_file_saved_again_under_its_name_purges(
    watched: None, thumbs_dir: Path, media: Path
) -> None:
    """The storage keeps the name (S3's default): the file is new, its thumbnails stale."""
    overwriting = {
        "default": {"BACKEND": f"{__name__}.OverwritingStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=overwriting):
        photo = Photo.objects.create(title="t", image=ContentFile(b"", name="same.jpg"))
        photo.image = ContentFile(images.jpeg_bytes((80, 60)), name="same.jpg")
        photo.save()
        old = thumbnails_of("photos/same.jpg")
        photo.image = ContentFile(images.jpeg_bytes((90, 60)), name="same.jpg")
        photo.save()
        assert photo.image.name == "photos/same.jpg"
    assert not set(old) & set(files_under(thumbs_dir))


def test_a_new_upload_purges_what_an_earlier_file_of_its_name_left(
    watched: None, thumbs_dir: Path, media: Path
) -> None:
    (media / "photos").mkdir()
    (media / "photos" / "p1.jpg").write_bytes(images.jpeg_bytes((80, 60)))
    stale = thumbnails_of("photos/p1.jpg")
    (media / "photos" / "p1.jpg").unlink()  # deleted behind the model's back
    photo = Photo.objects.create(title="t", image=jpeg(1))
    assert photo.image.name == "photos/p1.jpg"
    assert not set(stale) & set(files_under(thumbs_dir))


def test_saving_other_fields_asks_nothing_and_purges_nothing(
    watched: None, thumbs_dir: Path, django_assert_num_queries: Any
) -> None:
    photo, old = photo_with_thumbnails()
    with django_assert_num_queries(1):  # the UPDATE alone
        photo.title = "renamed"
        photo.save(update_fields=["title"])
    with django_assert_num_queries(2):  # the old name, then the UPDATE
        photo.save()
    assert set(files_under(thumbs_dir)) == set(old)  # same file, same name: nothing stale


def test_a_proxy_models_saves_are_watched(watched: None, thumbs_dir: Path) -> None:
    photo, _ = photo_with_thumbnails()
    featured = FeaturedPhoto.objects.get(pk=photo.pk)
    featured.image = jpeg(3)
    featured.save()
    assert files_under(thumbs_dir) == []


def test_a_failing_purge_never_fails_the_save(
    watched: None, thumbs_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    photo, old = photo_with_thumbnails()

    def unreachable(path: str) -> int:
        raise OSError("bucket unreachable")

    monkeypatch.setattr("restthumbs.invalidation.receivers.purge_source", unreachable)
    with caplog.at_level(logging.WARNING, logger="restthumbs"):
        photo.image = jpeg(2)
        photo.save()
    assert Photo.objects.get(pk=photo.pk).image.name == photo.image.name  # committed
    assert set(files_under(thumbs_dir)) == set(old)
    assert f"Run: manage.py thumbnails_purge {old[0].rsplit('/', 3)[0]}" in caplog.text


def test_an_unwatched_field_purges_nothing(thumbs_dir: Path) -> None:
    photo, old = photo_with_thumbnails()
    photo.image = jpeg(2)
    photo.save()
    assert set(files_under(thumbs_dir)) == set(old)


# -- THUMBNAILS_PURGE_FIELDS ------------------------------------------------------------


def test_the_setting_watches_its_fields(thumbs_dir: Path) -> None:
    with override_settings(THUMBNAILS_PURGE_FIELDS=["gallery.Photo.image", "no.Such.field"]):
        watch_configured()
    try:
        photo, _ = photo_with_thumbnails()
        photo.delete()
        assert files_under(thumbs_dir) == []
    finally:
        unwatch(Photo, "image")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["gallery.Photo.title"], "is a CharField, not a FileField"),
        (["gallery.Photo.nope"], "has no field 'nope'"),
        (["gallery.Nope.image"], "no installed model 'gallery.Nope'"),
        (["image"], "expected app_label.Model.field"),
        ("gallery.Photo.image", "must be a list"),
    ],
)
def test_check_e030(value: Any, message: str) -> None:
    with override_settings(THUMBNAILS_PURGE_FIELDS=value):
        errors = [e for e in run_checks() if e.id == "restthumbs.E030"]
    assert len(errors) == 1 and message in errors[0].msg


def test_good_labels_pass_the_check() -> None:
    with override_settings(THUMBNAILS_PURGE_FIELDS=["gallery.Photo.image"]):
        assert not [e for e in run_checks() if e.id.startswith("restthumbs.E03")]


@pytest.mark.parametrize("value", [-1, "60", 1.5, True])
def test_check_e031(value: Any) -> None:
    with override_settings(THUMBNAILS_STORED_CACHE_TIMEOUT=value):
        assert [e.id for e in run_checks() if e.id == "restthumbs.E031"] == ["restthumbs.E031"]


# -- the sources the rows reference (thumbnails_warm --field) -------------------------------


def test_referenced_sources_are_the_current_names(watched: None, media: Path) -> None:
    a = Photo.objects.create(title="a", image=jpeg(1))
    b = Photo.objects.create(title="b", image=jpeg(2))
    Photo.objects.create(title="c", image=b.image.name)  # the same file twice: listed once
    Photo.objects.create(title="empty", image="")
    old = a.image.name
    a.image = jpeg(3)
    a.save()
    names = list(referenced_sources("gallery.Photo.image"))
    assert names == sorted({a.image.name, b.image.name})
    assert old not in names  # a replaced file is not warmed again
    assert list(referenced_sources("gallery.Photo.image", prefix="elsewhere")) == []
    assert list(referenced_sources("gallery.Photo.image", prefix="photos")) == names


def test_resolve_field_refuses_what_is_not_a_file_field() -> None:
    assert resolve_field("gallery.Photo.image")[0] is Photo
    with pytest.raises(FieldLabelError):
        resolve_field("gallery.Photo.width")
