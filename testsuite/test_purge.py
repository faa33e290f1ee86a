"""``thumbnails_purge`` on disk: by prefix, by version, orphans, and what it says.

(By source: test_commands.py. On S3, with the request counts: test_s3_fleet.py.)
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from restthumbs.ensure import ensure_thumbnail
from restthumbs.signing import sign
from restthumbs.spec import build_spec

from . import images
from .utils import files_under


def run(*args: str, **options: object) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("thumbnails_purge", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def render(path: str, version: str | None = None, size: str = "20x20") -> str:
    spec = build_spec(path, size, "crop", "jpg", version)
    return ensure_thumbnail(spec, sign(spec)).name


@pytest.fixture
def library(write_source: Callable[..., Path], media: Path) -> dict[str, list[str]]:
    """Thumbnails of sources in and out of ``animals/``, in two versions and none;
    ``animals/gone.jpg``'s source is deleted after its thumbnails were made."""
    names: dict[str, list[str]] = {}
    for seed, path in enumerate(["animals", "animals/cat.jpg", "animals/sub/dog.jpg", "bird.jpg"]):
        write_source(path, images.photo((60, 40), seed=seed))
        names[path] = [render(path), render(path, "1"), render(path, "2", "10x")]
        if path == "animals":  # a file, then a directory: its thumbnails stay thumbnails of it
            (media / "animals").unlink()
    write_source("animals/gone.jpg", images.photo((60, 40)))
    names["animals/gone.jpg"] = [render("animals/gone.jpg"), render("animals/gone.jpg", "1")]
    (media / "animals" / "gone.jpg").unlink()
    return names


def of(library: dict[str, list[str]], *paths: str, keep: Callable[[str], bool] = bool) -> set[str]:
    return {name for path in paths for name in library[path] if keep(name)}


def everything(library: dict[str, list[str]]) -> set[str]:
    return of(library, *library)


def test_by_prefix_deletes_the_thumbnails_of_every_source_below(
    library: dict[str, list[str]], thumbs_dir: Path
) -> None:
    stdout, _ = run("--prefix", "animals/")
    below = of(library, "animals/cat.jpg", "animals/sub/dog.jpg", "animals/gone.jpg")
    assert stdout == f"Deleted {len(below)} thumbnails of the sources below animals/.\n"
    # "animals" itself (a source that became a directory) is not below animals/.
    assert set(files_under(thumbs_dir)) == everything(library) - below
    assert not (thumbs_dir / "animals" / "cat.jpg").exists()  # emptied directories removed


def test_by_version(library: dict[str, list[str]], thumbs_dir: Path) -> None:
    stdout, _ = run("--version", "1")
    ones = of(library, *library, keep=lambda n: ".v1." in n)
    assert stdout == f"Deleted {len(ones)} thumbnails in the thumbnail storage (version 1).\n"
    assert set(files_under(thumbs_dir)) == everything(library) - ones


def test_every_version_but_one_of_a_source(library: dict[str, list[str]], thumbs_dir: Path) -> None:
    stdout, _ = run("animals/cat.jpg", "--keep-version", "2")
    gone = of(library, "animals/cat.jpg", keep=lambda n: ".v2." not in n)
    assert len(gone) == 2  # the unversioned one and version 1
    assert stdout == "Deleted 2 thumbnails of animals/cat.jpg (every version but 2).\n"
    assert set(files_under(thumbs_dir)) == everything(library) - gone


def test_orphans(library: dict[str, list[str]], thumbs_dir: Path) -> None:
    stdout, _ = run("--orphans", verbosity=2)
    # animals/gone.jpg is deleted; "animals" is a directory now, which exists.
    gone = of(library, "animals/gone.jpg")
    assert stdout.splitlines() == [
        *(f"Deleted {name}" for name in sorted(gone)),
        "Deleted 2 thumbnails in the thumbnail storage (orphans).",
    ]
    assert set(files_under(thumbs_dir)) == everything(library) - gone


def test_filters_combine(library: dict[str, list[str]], thumbs_dir: Path) -> None:
    stdout, _ = run("--prefix", "animals", "--orphans", "--version", "1")
    gone = {name for name in library["animals/gone.jpg"] if ".v1." in name}
    assert stdout == ("Deleted 1 thumbnail of the sources below animals/ (version 1, orphans).\n")
    assert set(files_under(thumbs_dir)) == everything(library) - gone


def test_dry_run_lists_and_deletes_nothing(library: dict[str, list[str]], thumbs_dir: Path) -> None:
    stdout, _ = run("--orphans", "--dry-run")
    assert stdout.splitlines() == [
        *(f"Would delete {name}" for name in sorted(library["animals/gone.jpg"])),
        "Would delete 2 thumbnails in the thumbnail storage (orphans).",
    ]
    assert set(files_under(thumbs_dir)) == everything(library)


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--prefix", "fish"], "No thumbnail of a source below fish/ is stored."),
        (["nothing.jpg", "--version", "1"], "No thumbnail of nothing.jpg is stored."),
        (
            ["bird.jpg", "--version", "9"],
            "Found 3 thumbnails of bird.jpg: 3 of another version than 9.",
        ),
        (
            ["bird.jpg", "--orphans", "--keep-version", "1"],
            "Found 3 thumbnails of bird.jpg: 1 of version 1, kept; "
            "2 whose source still exists (not orphans).",
        ),
    ],
)
def test_removing_nothing_says_why(
    args: list[str], why: str, library: dict[str, list[str]], thumbs_dir: Path
) -> None:
    stdout, _ = run(*args)
    first, second = stdout.splitlines()
    assert first.startswith("Deleted 0 thumbnails ")
    assert second == why
    assert set(files_under(thumbs_dir)) == everything(library)


def test_an_empty_storage_says_so(thumbs_dir: Path) -> None:
    stdout, _ = run("--orphans")
    assert stdout.splitlines()[1] == "The thumbnail storage holds no thumbnail."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Give SOURCE_PATH, --prefix DIR, --orphans"),
        (["a.jpg", "--prefix", "x"], "not both"),
        (["--version", "1", "--keep-version", "2"], "not both"),
        (["--version", "1.2"], "Invalid version"),
        (["--keep-version", ""], "Invalid version"),
        (["--prefix", "../x"], "segment"),
        (["--prefix", "/abs"], "relative"),
    ],
)
def test_refused_arguments(
    args: list[str], message: str, library: dict[str, list[str]], thumbs_dir: Path
) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert set(files_under(thumbs_dir)) == everything(library)


def test_version_is_the_thumbnails_not_djangos(capsys: pytest.CaptureFixture[str]) -> None:
    """Django's --version (print Django's version) gives way to the thumbnail version."""
    with pytest.raises(SystemExit):
        call_command("thumbnails_purge", "--help")
    text = capsys.readouterr().out
    for option in ("--prefix DIR", "--version V", "--keep-version V", "--orphans", "--dry-run"):
        assert option in text
