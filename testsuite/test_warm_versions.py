"""``thumbnails_warm`` for versioned URLs: ``--version V`` for a whole run, and
``--field app.Model.file --version-field updated_at`` for each row's own version.

A site whose templates write ``{% thumbnail photo.image ... version=photo.updated_at %}``
requests only versioned names; warming the unversioned ones would render thumbnails
nobody asks for. Each test compares the files warmed with the names the Python API
builds for the same arguments, and checks a request for them is a hit (no render).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from restthumbs.api import thumbnail
from restthumbs.warming import runner
from restthumbs.warming.tasks import warm_batch

from . import images
from .gallery.models import Photo
from .test_warming import require_tasks_framework
from .utils import files_under


def warm(*args: str, size: str = "20x20") -> str:
    out = io.StringIO()
    call_command("thumbnails_warm", size, "crop", "jpg", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_version_warms_the_versioned_urls_only(
    write_source: Callable[..., Path], thumbs_dir: Path, renders: list[str], client: Any
) -> None:
    for name in ("a.jpg", "sub/b.png"):
        write_source(name, images.photo((60, 40)))
    summary = warm("--version", "r42")
    assert "Rendered 2, skipped 0, failed 0." in summary
    wanted = [thumbnail(name, "20x20", version="r42") for name in ("a.jpg", "sub/b.png")]
    assert files_under(thumbs_dir) == sorted(t.name for t in wanted)
    assert all(".vr42." in t.name for t in wanted)
    renders.clear()
    for thumb in wanted:  # what a page asks for is there: served, not rendered again
        assert client.get(thumb.url).status_code == 200
    assert renders == []
    assert "Rendered 0, skipped 2, failed 0." in warm("--version", "r42")
    assert "Rendered 2, skipped 0, failed 0." in warm()  # unversioned: other names


@pytest.mark.parametrize("version", ["a.b", "", "x" * 65, "é"])
def test_an_invalid_version_is_refused_before_any_work(
    version: str, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("a.jpg", images.photo((60, 40)))
    with pytest.raises(CommandError, match="version"):
        warm("--version", version)
    assert files_under(thumbs_dir) == []


@pytest.mark.django_db(transaction=True)
def test_version_field_warms_each_rows_version(
    media: Path, thumbs_dir: Path, renders: list[str], client: Any
) -> None:
    first = Photo.objects.create(title="a", image=ContentFile(images.jpeg_bytes((60, 40)), "a.jpg"))
    second = Photo.objects.create(
        title="b", image=ContentFile(images.jpeg_bytes((60, 40)), "b.jpg")
    )
    never = Photo.objects.create(title="c", image=ContentFile(images.jpeg_bytes((60, 40)), "c.jpg"))
    Photo.objects.filter(pk=never.pk).update(updated_at=None)  # no version: the plain URL
    rows = [Photo.objects.get(pk=p.pk) for p in (first, second, never)]
    assert rows[0].updated_at is not None

    summary = warm("--field", "gallery.Photo.image", "--version-field", "updated_at")

    assert "Rendered 3, skipped 0, failed 0." in summary
    # What the templates build: {% thumbnail photo.image "20x20" version=photo.updated_at %}
    wanted = [thumbnail(p.image, "20x20", version=p.updated_at) for p in rows]
    assert files_under(thumbs_dir) == sorted(t.name for t in wanted)
    assert ".v" in wanted[0].name and ".v" not in wanted[2].name
    renders.clear()
    for thumb in wanted:
        assert client.get(thumb.url).status_code == 200
    assert renders == []

    # A saved row gets a new updated_at: the next run warms its new URL only.
    rows[1].title = "b2"
    rows[1].save()
    summary = warm("--field", "gallery.Photo.image", "--version-field", "updated_at")
    assert "Rendered 1, skipped 2, failed 0." in summary
    assert thumbnail(rows[1].image, "20x20", version=rows[1].updated_at).name in renders


@pytest.mark.django_db(transaction=True)
def test_version_field_of_other_types(media: Path, thumbs_dir: Path) -> None:
    """An int (a revision) is a version; a value no URL can carry fails that source."""
    Photo.objects.create(title="ok", image=ContentFile(images.jpeg_bytes((60, 40)), "a.jpg"))
    Photo.objects.create(title="not ok", image=ContentFile(images.jpeg_bytes((60, 40)), "b.jpg"))
    summary = warm("--field", "gallery.Photo.image", "--version-field", "width")
    assert "Rendered 2, skipped 0, failed 0." in summary
    assert all(".v60." in name for name in files_under(thumbs_dir))

    summary = warm("--field", "gallery.Photo.image", "--version-field", "title")
    assert "Rendered 1, skipped 0, failed 1." in summary  # 'not ok' has a space
    assert "photos/b.jpg: Invalid version 'not ok'" in summary


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--version-field", "updated_at"], "give --field too"),
        (["--field", "gallery.Photo.image", "--version-field", "nope"], "no field 'nope'"),
        (
            ["--field", "gallery.Photo.image", "--version-field", "updated_at", "--version", "1"],
            "not both",
        ),
    ],
)
def test_version_options_refused(args: list[str], message: str, media: Path) -> None:
    with pytest.raises(CommandError, match=message):
        warm(*args)


def test_resume_records_the_version(
    write_source: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state file of a run for version r1 is no position in a run for version r2."""
    write_source("a.jpg", images.photo((60, 40)))
    write_source("b.jpg", images.photo((60, 40)))
    state = tmp_path / "warm.json"

    real = runner.warm_source

    def interrupted(path: str, specs: Any, version: str | None = None) -> Any:
        if path == "b.jpg":
            raise KeyboardInterrupt
        return real(path, specs, version)

    monkeypatch.setattr("restthumbs.warming.runner.warm_source", interrupted)
    with pytest.raises(KeyboardInterrupt):
        warm("--version", "r1", "--resume", str(state))
    saved = json.loads(state.read_text())
    assert (saved["after"], saved["run"]["version"]) == ("a.jpg", "r1")
    monkeypatch.undo()
    with pytest.raises(CommandError, match="records another run"):
        warm("--version", "r2", "--resume", str(state))


def test_enqueue_carries_the_versions(write_source: Callable[..., Path], thumbs_dir: Path) -> None:
    require_tasks_framework()
    write_source("a.jpg", images.photo((60, 40)))
    summary = warm("--version", "r7", "--enqueue", "--wait")
    assert "Rendered 1, skipped 0, failed 0." in summary
    assert files_under(thumbs_dir) == [thumbnail("a.jpg", "20x20", version="r7").name]


def test_a_batch_without_versions_still_warms(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    """Tasks enqueued by a release without versions (two arguments) still run."""
    require_tasks_framework()
    write_source("a.jpg", images.photo((60, 40)))
    run = getattr(warm_batch, "call", None) or warm_batch.func
    counts = run(["a.jpg"], [["20x20", "crop", "jpg"]])
    assert counts["rendered"] == 1
    assert files_under(thumbs_dir) == [thumbnail("a.jpg", "20x20").name]


@pytest.mark.django_db(transaction=True)
def test_a_resumed_versioned_run_finishes_the_versions_of_its_last_file(
    media: Path, thumbs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two rows share one file with two versions; the run stops between them. The state
    names the file, and the resumed run looks at it again: one skipped, one rendered."""
    first = Photo.objects.create(title="a", image=ContentFile(images.jpeg_bytes((60, 40)), "a.jpg"))
    Photo.objects.create(title="b", image=first.image.name)  # a later updated_at
    rows = list(Photo.objects.order_by("updated_at"))
    state = tmp_path / "warm.json"
    real = runner.warm_source
    calls: list[str | None] = []

    def interrupted(path: str, specs: Any, version: str | None = None) -> Any:
        calls.append(version)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(path, specs, version)

    args = ["--field", "gallery.Photo.image", "--version-field", "updated_at"]
    monkeypatch.setattr("restthumbs.warming.runner.warm_source", interrupted)
    with pytest.raises(KeyboardInterrupt):
        warm(*args, "--resume", str(state))
    assert json.loads(state.read_text())["after"] == first.image.name
    monkeypatch.undo()

    summary = warm(*args, "--resume", str(state))

    assert "Rendered 1, skipped 1, failed 0." in summary
    wanted = [thumbnail(p.image, "20x20", version=p.updated_at).name for p in rows]
    assert files_under(thumbs_dir) == sorted(wanted)


def test_an_invalid_version_from_call_command_keywords_is_refused(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    """``call_command(version=...)`` skips argparse: the command checks it again."""
    write_source("a.jpg", images.photo((60, 40)))
    with pytest.raises(CommandError, match="Invalid version 'a b'"):
        call_command("thumbnails_warm", "20x20", "crop", "jpg", version="a b", stdout=io.StringIO())
    assert files_under(thumbs_dir) == []
