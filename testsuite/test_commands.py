"""The management commands: thumbnails_warm, thumbnails_purge, thumbnails_url.

Every test works on real images written to the per-test source directory and
checks the files the commands leave in the per-test thumbnail directory.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from PIL import Image

from restthumbs.api import thumbnail_url
from restthumbs.ensure import ensure_thumbnail
from restthumbs.signing import sign
from restthumbs.spec import build_spec

from . import images
from .utils import body, files_under

ROOT = Path(__file__).resolve().parent.parent
SIZE, METHOD, EXT = "40x30", "crop", "jpg"
PROGRESS_RE = re.compile(
    r"^\[(\d+)\] (.+): (rendered \(\d+\.\d ms\)|skipped \(exists\)|failed: .+)$"
)


# -- helpers -----------------------------------------------------------------


def run(command: str, *args: str, **options: object) -> tuple[str, str]:
    """Run a command in-process; return its (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def warm(*args: str, **options: object) -> tuple[str, str]:
    """Warm SIZE METHOD EXT; at verbosity 2 (a line per source) unless told otherwise."""
    options.setdefault("verbosity", 2)
    return run("thumbnails_warm", SIZE, METHOD, EXT, *args, **options)


def name_of(path: str, size: str = SIZE, method: str = METHOD, ext: str = EXT) -> str:
    """The storage name restthumbs uses for this thumbnail."""
    spec = build_spec(path, size, method, ext)
    return spec.name(sign(spec))


def progress(stdout: str) -> list[tuple[int, str, str]]:
    """The per-source lines of warm's output at verbosity 2 as (index, path, status)."""
    rows = []
    for line in stdout.splitlines():
        match = PROGRESS_RE.match(line)
        if match:
            rows.append((int(match[1]), match[2], match[3]))
    return rows


def small_image(seed: int = 1) -> Image.Image:
    return images.photo((64, 48), seed=seed)


# -- thumbnails_warm -----------------------------------------------------------


def test_warm_renders_every_missing_thumbnail(
    write_source: Callable[..., Path], thumbs_dir: Path, renders: list[str]
) -> None:
    sources = ["a.jpg", "b.png", "sub/c.jpeg", "sub/deeper/d.gif", "upper/E.JPG", "f.webp"]
    for seed, path in enumerate(sources):
        write_source(path, small_image(seed), format="GIF" if path.endswith(".gif") else None)

    stdout, stderr = warm()

    # In the order of the names (a directory's name sorts as if it ended with "/").
    assert [row[1] for row in progress(stdout)] == [
        "a.jpg",
        "b.png",
        "f.webp",
        "sub/c.jpeg",
        "sub/deeper/d.gif",
        "upper/E.JPG",
    ]
    expected = sorted(name_of(path) for path in sources)
    assert files_under(thumbs_dir) == expected
    assert sorted(renders) == expected
    for name in expected:
        with Image.open(thumbs_dir / name) as im:
            assert (im.format, im.size) == ("JPEG", (40, 30))
    assert stdout.splitlines()[-1] == "Rendered 6, skipped 0, failed 0."
    assert stderr == ""


def test_warm_second_run_skips_everything(
    write_source: Callable[..., Path], thumbs_dir: Path, renders: list[str]
) -> None:
    for path in ("a.jpg", "b.jpg", "sub/c.png"):
        write_source(path, small_image())
    warm()
    mtimes = {name: os.stat(thumbs_dir / name).st_mtime_ns for name in files_under(thumbs_dir)}
    renders.clear()

    stdout, _ = warm()

    assert [row[2] for row in progress(stdout)] == ["skipped (exists)"] * 3
    assert stdout.splitlines()[-1] == "Rendered 0, skipped 3, failed 0."
    assert renders == []
    assert {n: os.stat(thumbs_dir / n).st_mtime_ns for n in files_under(thumbs_dir)} == mtimes


def test_warm_renders_only_what_is_missing(
    write_source: Callable[..., Path], thumbs_dir: Path, renders: list[str]
) -> None:
    for path in ("a.jpg", "b.jpg", "c.jpg"):
        write_source(path, small_image())
    spec = build_spec("b.jpg", SIZE, METHOD, EXT)
    ensure_thumbnail(spec, sign(spec))
    renders.clear()

    stdout, _ = warm()

    assert [(row[1], row[2].split(" ")[0]) for row in progress(stdout)] == [
        ("a.jpg", "rendered"),
        ("b.jpg", "skipped"),
        ("c.jpg", "rendered"),
    ]
    assert sorted(renders) == sorted([name_of("a.jpg"), name_of("c.jpg")])
    assert stdout.splitlines()[-1] == "Rendered 2, skipped 1, failed 0."


def test_warm_reports_bad_images_and_carries_on(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    jpeg = images.jpeg_bytes((64, 48))
    write_source("a.jpg", small_image())
    write_source("broken.jpg", jpeg[: len(jpeg) // 2])  # truncated mid-scan
    write_source("text.jpg", b"this is not an image at all\n")  # a non-image named .jpg
    write_source("z.png", small_image())

    stdout, stderr = warm()

    statuses = {row[1]: row[2] for row in progress(stdout)}
    assert statuses["a.jpg"].startswith("rendered")
    assert statuses["z.png"].startswith("rendered")
    assert statuses["broken.jpg"].startswith("failed: ")
    assert statuses["text.jpg"].startswith("failed: ")
    assert "(bad_image)" in statuses["text.jpg"]
    assert stdout.splitlines()[-1] == "Rendered 2, skipped 0, failed 2."
    assert sorted(line.split(":")[0] for line in stderr.splitlines()) == ["broken.jpg", "text.jpg"]
    # Nothing written for the bad ones: no thumbnail, no directory, no temporary file.
    assert files_under(thumbs_dir) == sorted([name_of("a.jpg"), name_of("z.png")])
    assert not (thumbs_dir / "broken.jpg").exists()


def test_warm_reports_source_paths_the_spec_refuses(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("back\\slash.jpg", small_image())  # a legal file name on POSIX
    write_source("ok.jpg", small_image())

    stdout, stderr = warm()

    statuses = {row[1]: row[2] for row in progress(stdout)}
    assert statuses["back\\slash.jpg"].startswith("failed: ")
    assert "(invalid_path)" in statuses["back\\slash.jpg"]
    assert stderr.startswith("back\\slash.jpg: ")
    assert files_under(thumbs_dir) == [name_of("ok.jpg")]
    assert stdout.splitlines()[-1] == "Rendered 1, skipped 0, failed 1."


def test_warm_ignores_non_images_and_hidden_files(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    image = small_image()
    write_source("photo.jpg", image)
    write_source(".hidden.jpg", image)
    write_source(".cache/inside.jpg", image)
    write_source("sub/.also-hidden.png", image)
    write_source("notes.txt", b"hello")
    write_source("jpg", image, format="JPEG")  # no extension at all
    write_source("photo.jpg.bak", image, format="JPEG")
    write_source("scan.TIFF", image, format="TIFF")  # upper-case extension: considered

    stdout, _ = warm()

    assert [(row[0], row[1]) for row in progress(stdout)] == [(1, "photo.jpg"), (2, "scan.TIFF")]
    assert files_under(thumbs_dir) == sorted([name_of("photo.jpg"), name_of("scan.TIFF")])


def test_warm_never_thumbnails_a_thumbnail_storage_nested_in_the_sources(
    write_source: Callable[..., Path], media: Path
) -> None:
    write_source("photo.jpg", small_image())
    nested = media / "thumbs"
    with override_settings(THUMBNAILS_STORAGE_ROOT=str(nested)):
        first, _ = warm()
        second, _ = warm()
        assert files_under(nested) == [name_of("photo.jpg")]
    assert first.splitlines()[-1] == "Rendered 1, skipped 0, failed 0."
    assert second.splitlines()[-1] == "Rendered 0, skipped 1, failed 0."


def test_warm_prefix_restricts_the_walk(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    for path in ("a.jpg", "sub/b.jpg", "sub/deeper/c.jpg", "subway/d.jpg"):
        write_source(path, small_image())

    stdout, _ = warm("--prefix", "sub")
    assert [row[1] for row in progress(stdout)] == ["sub/b.jpg", "sub/deeper/c.jpg"]
    assert files_under(thumbs_dir) == sorted([name_of("sub/b.jpg"), name_of("sub/deeper/c.jpg")])

    stdout, _ = warm("--prefix", "sub/deeper/")  # a trailing slash is accepted
    assert stdout.splitlines()[-1] == "Rendered 0, skipped 1, failed 0."


@pytest.mark.parametrize("prefix", ["../media", "/etc", "/", "a/../sub", "missing", "a.jpg"])
def test_warm_refuses_a_bad_prefix(
    prefix: str, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("a.jpg", small_image())
    write_source("sub/b.jpg", small_image())
    with pytest.raises(CommandError):
        warm("--prefix", prefix)
    assert files_under(thumbs_dir) == []


def test_warm_with_workers_gives_the_same_result(
    write_source: Callable[..., Path], thumbs_dir: Path, renders: list[str]
) -> None:
    sources = [f"set/{i:02d}.jpg" for i in range(12)]
    for seed, path in enumerate(sources):
        write_source(path, small_image(seed))
    warm()
    serial = {name: (thumbs_dir / name).read_bytes() for name in files_under(thumbs_dir)}
    for name in serial:
        (thumbs_dir / name).unlink()
    renders.clear()

    stdout, _ = warm("--workers", "4")

    parallel = {name: (thumbs_dir / name).read_bytes() for name in files_under(thumbs_dir)}
    assert parallel == serial
    assert sorted(serial) == sorted(name_of(path) for path in sources)
    assert sorted(renders) == sorted(serial)  # each rendered exactly once
    # Progress stays in walk order whatever order the threads finish in.
    assert [(row[0], row[1]) for row in progress(stdout)] == list(enumerate(sources, 1))
    assert stdout.splitlines()[-1] == "Rendered 12, skipped 0, failed 0."


def test_warm_progress_and_summary_format(write_source: Callable[..., Path]) -> None:
    write_source("a.jpg", small_image())
    write_source("b.jpg", b"junk")
    write_source("c.jpg", small_image())
    spec = build_spec("c.jpg", SIZE, METHOD, EXT)
    ensure_thumbnail(spec, sign(spec))

    stdout, stderr = warm()

    lines = stdout.splitlines()
    assert len(lines) == 6
    assert re.fullmatch(r"\[1\] a\.jpg: rendered \(\d+\.\d ms\)", lines[0])
    assert re.fullmatch(r"\[2\] b\.jpg: failed: .+ \(bad_image\)", lines[1])
    assert lines[2] == "[3] c.jpg: skipped (exists)"
    # The summary lists the failures, then counts the thumbnails.
    assert lines[3] == "Failed (1):"
    assert re.fullmatch(r"  b\.jpg: .+ \(bad_image\)", lines[4])
    assert lines[5] == "Rendered 1, skipped 1, failed 1."
    assert re.fullmatch(r"b\.jpg: .+ \(bad_image\)\n", stderr)

    # At the default verbosity, no line per source: the failures and the counts.
    stdout, _ = warm(verbosity=1)
    assert stdout.splitlines()[-3:] == [
        "Failed (1):",
        lines[4],
        "Rendered 0, skipped 2, failed 1.",
    ]
    assert not progress(stdout)


def test_warm_verbosity_zero_prints_only_the_summary(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("a.jpg", small_image())
    write_source("b.jpg", b"junk")

    stdout, stderr = warm(verbosity=0)

    assert stdout == "Rendered 1, skipped 0, failed 1.\n"
    assert stderr.startswith("b.jpg: ")  # failures are still reported
    assert files_under(thumbs_dir) == [name_of("a.jpg")]


def test_warm_on_an_empty_source_storage(media: Path, thumbs_dir: Path) -> None:
    stdout, _ = warm()
    assert stdout == "Rendered 0, skipped 0, failed 0.\n"
    with override_settings(MEDIA_ROOT=str(media / "never-created")):
        stdout, _ = warm()
    assert stdout == "Rendered 0, skipped 0, failed 0.\n"
    assert files_under(thumbs_dir) == []


@pytest.mark.parametrize(
    "args",
    [
        ("0x10", "crop", "jpg"),
        ("100", "crop", "jpg"),
        ("010x10", "crop", "jpg"),
        ("x", "crop", "jpg"),
        ("10x10", "fit", "jpg"),
        ("10x10", "CROP", "jpg"),
        ("10x10", "crop", "bmp"),
        ("10x10", "crop", "JPG"),
        ("5000x10", "crop", "jpg"),  # over THUMBNAILS_MAX_SIZE
        ("10x10", "crop", "jpg", "--workers", "0"),
        ("10x10", "crop", "jpg", "--workers", "-2"),
        ("10x10", "crop", "jpg", "--workers", "two"),
    ],
)
def test_warm_refuses_invalid_arguments_before_any_work(
    args: tuple[str, ...], write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("a.jpg", small_image())
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("thumbnails_warm", *args, stdout=out, stderr=err)
    assert out.getvalue() == ""
    assert not thumbs_dir.exists()


def test_warm_refuses_workers_below_one_given_as_an_option(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    # call_command(workers=0) bypasses argparse; the command checks again.
    write_source("a.jpg", small_image())
    with pytest.raises(CommandError, match="--workers"):
        warm(workers=0)
    assert not thumbs_dir.exists()


@override_settings(THUMBNAILS_ALLOWED_SIZES=["64x64"])
def test_warm_refuses_a_size_the_policy_refuses(
    write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("a.jpg", small_image())
    with pytest.raises(CommandError, match="THUMBNAILS_ALLOWED_SIZES"):
        run("thumbnails_warm", "50x50", "crop", "jpg")
    assert not thumbs_dir.exists()
    stdout, _ = run("thumbnails_warm", "64x64", "crop", ".jpg")
    assert stdout.splitlines()[-1] == "Rendered 1, skipped 0, failed 0."


def test_warm_fail_on_error(write_source: Callable[..., Path], thumbs_dir: Path) -> None:
    write_source("a.jpg", small_image())
    bad = write_source("bad.jpg", b"junk")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 image"):
        call_command(
            "thumbnails_warm", SIZE, METHOD, EXT, "--fail-on-error", stdout=out, stderr=err
        )
    # The summary comes first, and the good image was still rendered.
    assert out.getvalue().splitlines()[-1] == "Rendered 1, skipped 0, failed 1."
    assert files_under(thumbs_dir) == [name_of("a.jpg")]

    bad.unlink()
    stdout, _ = warm("--fail-on-error")  # nothing failed: no error
    assert stdout.splitlines()[-1] == "Rendered 0, skipped 1, failed 0."


# -- the real command line -----------------------------------------------------


def manage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m django ARGS`` on settings pointing at this test's directories."""
    module = "restthumbs_cmd_settings"
    (tmp_path / f"{module}.py").write_text(
        "from testsuite.settings import *\n"
        f"MEDIA_ROOT = {str(tmp_path / 'media')!r}\n"
        f"THUMBNAILS_STORAGE_ROOT = {str(tmp_path / 'thumbnails')!r}\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": module,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_command_line_exit_statuses(
    tmp_path: Path, write_source: Callable[..., Path], thumbs_dir: Path
) -> None:
    write_source("a.jpg", small_image())
    write_source("bad.jpg", b"junk")

    ok = manage(tmp_path, "thumbnails_warm", SIZE, METHOD, EXT, "--no-color")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1] == "Rendered 1, skipped 0, failed 1."
    assert ok.stderr.startswith("bad.jpg: ")
    assert files_under(thumbs_dir) == [name_of("a.jpg")]

    failing = manage(
        tmp_path, "thumbnails_warm", SIZE, METHOD, EXT, "--fail-on-error", "--no-color"
    )
    assert failing.returncode == 1
    assert failing.stdout.splitlines()[-1] == "Rendered 0, skipped 1, failed 1."
    assert "CommandError" in failing.stderr

    usage = manage(tmp_path, "thumbnails_warm", SIZE, METHOD, EXT, "--workers", "0")
    assert usage.returncode == 2
    assert "--workers" in usage.stderr


@pytest.mark.parametrize(
    "command, expected",
    [
        (
            "thumbnails_warm",
            ["SIZE", "METHOD", "EXT", "--prefix DIR", "--workers N", "--fail-on-error"],
        ),
        (
            "thumbnails_purge",
            [
                "SOURCE_PATH",
                "--prefix DIR",
                "--version V",
                "--keep-version V",
                "--orphans",
                "--dry-run",
            ],
        ),
        ("thumbnails_url", ["SOURCE_PATH", "SIZE", "METHOD", "EXT", "--version V"]),
    ],
)
def test_help_describes_every_argument(
    command: str, expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        call_command(command, "--help")
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in expected:
        assert word in text
    # Every one of our arguments has a help text (argparse prints it after the name).
    description, _, arguments = text.partition("positional arguments:")
    assert len(description.split("\n\n")[1].strip()) > 40
    for word in expected:
        line = next(line for line in arguments.splitlines() if line.strip().startswith(word))
        assert len(line.strip()) > len(word) + 10, line


# -- thumbnails_purge ----------------------------------------------------------

SPECS = [("40x30", "crop", "jpg"), ("20x", "scale", "png"), ("x10", "smart", "webp")]


def render_all(path: str) -> list[str]:
    """Render every spec of SPECS for ``path`` through the real pipeline."""
    names = []
    for size, method, ext in SPECS:
        spec = build_spec(path, size, method, ext)
        names.append(ensure_thumbnail(spec, sign(spec)).name)
    return names


@pytest.fixture
def stored(write_source: Callable[..., Path], media: Path) -> dict[str, list[str]]:
    """Thumbnails of several sources whose names are prefixes of each other's.

    ``dir`` was an image before it became a directory, so the thumbnail
    storage holds both ``dir``'s own thumbnails and those of sources below it.
    """
    thumbnails: dict[str, list[str]] = {}
    write_source("dir", small_image(), format="JPEG")
    thumbnails["dir"] = render_all("dir")
    (media / "dir").unlink()
    for seed, path in enumerate(["a.jpg", "a.jp", "dir/x.jpg", "dir/100x100", "photos/a.jpg"]):
        write_source(path, small_image(seed), format="JPEG")
        thumbnails[path] = render_all(path)
    return thumbnails


def everything(stored: dict[str, list[str]]) -> list[str]:
    return sorted(name for names in stored.values() for name in names)


def test_purge_deletes_exactly_the_thumbnails_of_one_source(
    stored: dict[str, list[str]], thumbs_dir: Path, client: object
) -> None:
    assert files_under(thumbs_dir) == everything(stored)

    stdout, _ = run("thumbnails_purge", "a.jpg")

    assert stdout == "Deleted 3 thumbnails of a.jpg.\n"
    assert files_under(thumbs_dir) == sorted(set(everything(stored)) - set(stored["a.jpg"]))
    assert not (thumbs_dir / "a.jpg").exists()  # its directories are gone too
    # The thumbnail comes back on the next request.
    response = client.get(thumbnail_url("a.jpg", "40x30", "crop", "jpg"))  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert (thumbs_dir / stored["a.jpg"][0]).is_file()


def test_purge_of_a_prefix_of_another_name_keeps_the_other(
    stored: dict[str, list[str]], thumbs_dir: Path
) -> None:
    run("thumbnails_purge", "a.jp")
    assert files_under(thumbs_dir) == sorted(set(everything(stored)) - set(stored["a.jp"]))
    assert all((thumbs_dir / name).is_file() for name in stored["a.jpg"])


def test_purge_of_a_directory_like_path_keeps_the_sources_below_it(
    stored: dict[str, list[str]], thumbs_dir: Path
) -> None:
    stdout, _ = run("thumbnails_purge", "dir")

    assert stdout == "Deleted 3 thumbnails of dir.\n"
    remaining = files_under(thumbs_dir)
    assert remaining == sorted(set(everything(stored)) - set(stored["dir"]))
    # dir/100x100 looks like one of dir's size directories; its thumbnails stay.
    assert set(stored["dir/100x100"]) <= set(remaining)
    assert set(stored["dir/x.jpg"]) <= set(remaining)
    assert not (thumbs_dir / "dir" / "40x30").exists()
    assert (thumbs_dir / "dir").is_dir()


def test_purge_removes_empty_directories_but_never_the_root(
    stored: dict[str, list[str]], thumbs_dir: Path
) -> None:
    run("thumbnails_purge", "photos/a.jpg")
    assert not (thumbs_dir / "photos").exists()

    for path in ["a.jpg", "a.jp", "dir/x.jpg", "dir/100x100", "dir"]:
        run("thumbnails_purge", path)
    assert files_under(thumbs_dir) == []
    assert os.listdir(thumbs_dir) in ([], [".gitignore"])  # the root restthumbs created
    assert thumbs_dir.is_dir()


def test_purge_leaves_anything_not_spelled_as_a_thumbnail(
    stored: dict[str, list[str]], thumbs_dir: Path
) -> None:
    secret = stored["a.jpg"][0].rsplit("/", 1)[1].split(".")[0]
    strays = [
        "a.jpg/40x30/crop/notes.txt",
        f"a.jpg/40x30/crop/{secret.upper()}.jpg",
        f"a.jpg/40x30/crop/{secret}.JPG",
        f"a.jpg/40x30/crop/{secret}.bmp",
        f"a.jpg/40x30/crop/{secret[:40]}.jpg",
        f"a.jpg/40x30/crop/{secret}.jpg\n",
        f"a.jpg/40x30/crop/.tmp-{secret}.part",  # a render in progress
        f"a.jpg/40X30/crop/{secret}.jpg",
        f"a.jpg/040x30/crop/{secret}.jpg",
        f"a.jpg/40x30/fit/{secret}.jpg",
        f"a.jpg/{secret}.jpg",
    ]
    for name in strays:
        (thumbs_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (thumbs_dir / name).write_bytes(b"not ours")

    stdout, _ = run("thumbnails_purge", "a.jpg", verbosity=2)

    assert files_under(thumbs_dir) == sorted(
        (set(everything(stored)) - set(stored["a.jpg"])) | set(strays)
    )
    assert not (thumbs_dir / "a.jpg" / "20x").exists()  # emptied, so removed
    assert stdout.splitlines() == [f"Deleted {name}" for name in sorted(stored["a.jpg"])] + [
        "Deleted 3 thumbnails of a.jpg."
    ]


def test_purge_dry_run_deletes_nothing(stored: dict[str, list[str]], thumbs_dir: Path) -> None:
    stdout, _ = run("thumbnails_purge", "a.jpg", "--dry-run")

    assert files_under(thumbs_dir) == everything(stored)
    assert stdout.splitlines() == [f"Would delete {name}" for name in sorted(stored["a.jpg"])] + [
        "Would delete 3 thumbnails of a.jpg."
    ]


def test_purge_of_a_source_without_thumbnails(
    thumbs_dir: Path, write_source: Callable[..., Path]
) -> None:
    stdout, _ = run("thumbnails_purge", "nothing.jpg")  # the thumbnail root does not even exist
    assert stdout == (
        "Deleted 0 thumbnails of nothing.jpg.\nNo thumbnail of nothing.jpg is stored.\n"
    )
    assert not thumbs_dir.exists()

    write_source("one.jpg", small_image())
    spec = build_spec("one.jpg", SIZE, METHOD, EXT)
    ensure_thumbnail(spec, sign(spec))
    stdout, _ = run("thumbnails_purge", "one.jpg")
    assert stdout == "Deleted 1 thumbnail of one.jpg.\n"


@pytest.mark.parametrize(
    "path", ["../a.jpg", "/a.jpg", "dir/../a.jpg", "./a.jpg", "dir/", "dir//x.jpg", "a\\b.jpg", ""]
)
def test_purge_refuses_paths_outside_the_storage(
    path: str, stored: dict[str, list[str]], thumbs_dir: Path
) -> None:
    with pytest.raises(CommandError):
        run("thumbnails_purge", path)
    assert files_under(thumbs_dir) == everything(stored)


# -- thumbnails_url ------------------------------------------------------------


def fetch(client: object, url: str) -> object:
    return client.get(url)  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["a.jpg", "动物/kitten 1 (%).jpg"])
def test_url_prints_a_url_the_server_answers(
    path: str, write_source: Callable[..., Path], client: object, thumbs_dir: Path
) -> None:
    write_source(path, small_image())

    stdout, stderr = run("thumbnails_url", path, SIZE, METHOD, ".jpg")

    url = stdout.removesuffix("\n")
    assert stdout == url + "\n" and "\n" not in url and stderr == ""
    assert url == thumbnail_url(path, SIZE, METHOD, ".jpg")
    assert unquote(url) == "/" + name_of(path)
    response = fetch(client, url)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/jpeg"  # type: ignore[index]
    with Image.open(io.BytesIO(body(response))) as im:
        assert im.size == (40, 30)
    assert files_under(thumbs_dir) == [name_of(path)]


def test_url_accepts_the_extension_with_or_without_a_dot() -> None:
    with_dot, _ = run("thumbnails_url", "a.jpg", SIZE, METHOD, ".webp")
    without, _ = run("thumbnails_url", "a.jpg", SIZE, METHOD, "webp")
    assert with_dot == without
    assert with_dot.rstrip("\n").endswith(".webp")


@override_settings(THUMBNAILS_PROXY_BASE_URL="/thumbs/")
def test_url_honours_the_proxy_base_url(write_source: Callable[..., Path], client: object) -> None:
    write_source("a.jpg", small_image())
    stdout, _ = run("thumbnails_url", "a.jpg", SIZE, METHOD, EXT)
    assert stdout == f"/thumbs/{name_of('a.jpg')}\n"
    assert fetch(client, stdout.strip()).status_code == 200  # type: ignore[attr-defined]


@override_settings(THUMBNAILS_PROXY_BASE_URL="https://thumbs.example.com/")
def test_url_with_an_absolute_proxy_base() -> None:
    stdout, _ = run("thumbnails_url", "a.jpg", SIZE, METHOD, EXT)
    assert stdout == f"https://thumbs.example.com/{name_of('a.jpg')}\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (("a.jpg", "100", "crop", "jpg"), "Invalid size"),
        (("a.jpg", "10x10", "fit", "jpg"), "Invalid method"),
        (("a.jpg", "10x10", "crop", "tiff"), "Invalid extension"),
        (("a.jpg", "5000x5000", "crop", "jpg"), "THUMBNAILS_MAX_SIZE"),
        (("../a.jpg", "10x10", "crop", "jpg"), "segment"),
        (("/etc/passwd", "10x10", "crop", "jpg"), "relative"),
        (("", "10x10", "crop", "jpg"), "Empty source path"),
    ],
)
def test_url_refuses_invalid_input(args: tuple[str, ...], message: str) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match=message):
        call_command("thumbnails_url", *args, stdout=out)
    assert out.getvalue() == ""
