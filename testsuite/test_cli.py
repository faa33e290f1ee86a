"""The ``restthumbs`` command line, run for real in subprocesses.

``restthumbs url`` is checked against :mod:`restthumbs.signing`; ``restthumbs
serve`` is started on a free port (``--port 0``, the address read from its
banner) and fetched with the harness's HTTP client, so these tests cover the embedded settings,
the threaded server, the demo page and the clean shutdown together.
"""

from __future__ import annotations

import html
import io
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

import pytest
from django.test import override_settings

from restthumbs.api import thumbnail_url
from restthumbs.engine import can_encode
from restthumbs.exceptions import BadSignature
from restthumbs.signing import verify
from restthumbs.spec import parse_name
from restthumbs.standalone.demo import RESPONSIVE_EXAMPLES
from restthumbs.standalone.samples import DEMO_DIRNAME, SAMPLES

from . import images
from .harness.http import request
from .utils import files_under

KEY = "cli-test-key-0123456789"
RUN_TIMEOUT = 60  # seconds for one ``restthumbs url`` run
START_TIMEOUT = 30  # seconds until the banner's "Listening on" line
STOP_TIMEOUT = 15


# -- helpers ------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess, without any secret key unless given."""
    env = {k: v for k, v in os.environ.items() if k != "RESTTHUMBS_SECRET_KEY"}
    env.update(extra)
    return env


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "restthumbs", *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=env if env is not None else cli_env(),
        cwd=cwd,
    )


@dataclass
class Server:
    """A running ``restthumbs serve`` and what it printed."""

    process: subprocess.Popen[str]
    stderr_path: Path
    banner: list[str]
    origin: str = ""
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def banner_value(self, label: str) -> str:
        for line in self.banner:
            if line.startswith(label + ":"):
                return line.split(":", 1)[1].strip()
        raise AssertionError(f"{label!r} not in the banner: {self.banner}")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def url(
        self, path: str, size: str, method: str = "crop", ext: str = ".jpg", key: str = KEY
    ) -> str:
        """A thumbnail URL on this server, signed in-process with ``key``."""
        with override_settings(SECRET_KEY=key, THUMBNAILS_PROXY_BASE_URL=self.origin + "/"):
            return thumbnail_url(path, size, method, ext)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server, wait for it, and return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return self.process.returncode

    def remaining_stdout(self) -> list[str]:
        """Lines printed after the banner (once the process has ended)."""
        out = []
        while True:
            line = self.lines.get(timeout=STOP_TIMEOUT)
            if line is None:
                return out
            out.append(line)


def _pump(stream: io.TextIOBase, lines: queue.Queue[str | None]) -> None:
    """Read the server's stdout to the end so its pipe never fills."""
    try:
        for line in stream:
            lines.put(line.rstrip("\n"))
    except ValueError:  # closed by Server.stop while reading
        pass
    lines.put(None)


def start_server(
    args: list[str],
    workdir: Path,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
) -> Server:
    """Start ``restthumbs serve ARGS --port 0`` and wait for its banner."""
    stderr_path = workdir / f"serve-stderr-{len(list(workdir.glob('serve-stderr-*')))}.txt"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            [*(command or [sys.executable, "-m", "restthumbs"]), "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env if env is not None else cli_env(),
            cwd=workdir,
        )
    server = Server(process, stderr_path, banner=[])
    assert process.stdout is not None
    threading.Thread(target=_pump, args=(process.stdout, server.lines), daemon=True).start()
    try:
        while True:
            line = server.lines.get(timeout=START_TIMEOUT)
            if line is None:
                raise AssertionError(f"serve exited early: {server.banner}\n{server.stderr}")
            server.banner.append(line)
            if line.startswith("Listening on "):
                server.origin = line.removeprefix("Listening on ").rstrip("/")
                return server
    except BaseException:
        server.stop(signal.SIGKILL)
        raise


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``serve(*args, env=..., command=...)`` starts a server stopped at teardown."""
    started: list[Server] = []

    def start(
        *args: str, env: dict[str, str] | None = None, command: list[str] | None = None
    ) -> Server:
        server = start_server(list(args), tmp_path, env, command)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """One plain server for the read-only tests: ``(server, source_dir)``."""
    root = tmp_path_factory.mktemp("shared")
    source = root / "media"
    source.mkdir()
    (source / "photo.jpg").write_bytes(images.jpeg_bytes((640, 480)))
    (source / "alpha.png").write_bytes(images.encode(images.photo((300, 200), "RGBA"), "PNG"))
    server = start_server(["--source-dir", str(source), "--secret-key", KEY], root)
    try:
        yield server, source
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("demo")
    server = start_server(["--demo", "--secret-key", KEY], root)
    try:
        yield server
    finally:
        server.stop()


def signed_path(url: str) -> str:
    """The decoded thumbnail name of a URL (its path without the leading slash)."""
    return unquote(urlsplit(url).path).removeprefix("/")


def assert_verifies(url: str, key: str) -> None:
    spec, secret = parse_name(signed_path(url))
    with override_settings(THUMBNAILS_SECRET_KEY=key):
        verify(spec, secret)


# -- --help ---------------------------------------------------------------------


def test_serve_help_describes_every_option() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--source-dir", "--thumbnail-dir", "--host", "--port", "--secret-key", "--demo"):
        assert option in result.stdout
    assert "RESTTHUMBS_SECRET_KEY" in result.stdout
    assert "127.0.0.1" in result.stdout and "8000" in result.stdout
    assert "ALLOWED_HOSTS" in result.stdout  # says it is a local tool
    assert result.stdout.startswith("usage: restthumbs serve")


def test_url_help_describes_the_arguments() -> None:
    result = run_cli("url", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: restthumbs url")
    for word in (
        "PATH",
        "SIZE",
        "METHOD",
        "EXT",
        "--base-url",
        "--secret-key",
        "RESTTHUMBS_SECRET_KEY",
    ):
        assert word in result.stdout


def test_no_command_is_a_usage_error() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "COMMAND" in result.stderr


# -- restthumbs url ---------------------------------------------------------------


def test_url_prints_a_url_that_verifies_under_the_same_key() -> None:
    result = run_cli("url", "animals/kitten.jpg", "100x100", "crop", ".jpg", "--secret-key", KEY)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert re.fullmatch(r"/animals/kitten\.jpg/100x100/crop/[0-9a-f]{64}\.jpg\n", result.stdout)
    url = result.stdout.strip()
    assert_verifies(url, KEY)
    with pytest.raises(BadSignature):
        assert_verifies(url, "another-key")


def test_url_takes_the_key_from_the_environment() -> None:
    from_flag = run_cli("url", "a.png", "x150", "smart", "webp", "--secret-key", KEY)
    from_env = run_cli(
        "url", "a.png", "x150", "smart", "webp", env=cli_env(RESTTHUMBS_SECRET_KEY=KEY)
    )
    assert from_env.returncode == 0, from_env.stderr
    assert from_env.stdout == from_flag.stdout
    assert from_env.stdout.startswith("/a.png/x150/smart/")
    # The flag wins over the environment.
    both = run_cli(
        "url",
        "a.png",
        "x150",
        "smart",
        "webp",
        "--secret-key",
        KEY,
        env=cli_env(RESTTHUMBS_SECRET_KEY="other"),
    )
    assert both.stdout == from_flag.stdout


def test_url_base_url_and_unicode_path() -> None:
    result = run_cli(
        "url",
        "été/naïve photo.jpg",
        "200x",
        "scale",
        "jpg",
        "--secret-key",
        KEY,
        "--base-url",
        "http://127.0.0.1:8000",
    )
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("http://127.0.0.1:8000/%C3%A9t%C3%A9/na%C3%AFve%20photo.jpg/200x/scale/")
    assert signed_path(url).startswith("été/naïve photo.jpg/200x/scale/")
    assert_verifies(url, KEY)


def test_url_without_a_key_exits_2_naming_the_flag_and_variable() -> None:
    result = run_cli("url", "a.jpg", "100x100", "crop", ".jpg")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--secret-key" in result.stderr and "RESTTHUMBS_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("a.jpg", "0x100", "crop", ".jpg"), "Invalid size"),
        (("a.jpg", "100x100x", "crop", ".jpg"), "Invalid size"),
        (("a.jpg", "5000x10", "crop", ".jpg"), "THUMBNAILS_MAX_SIZE"),
        (("a.jpg", "100x100", "fill", ".jpg"), "Invalid method"),
        (("a.jpg", "100x100", "crop", ".bmp"), "Invalid extension"),
        (("../a.jpg", "100x100", "crop", ".jpg"), "'..'"),
        (("/etc/a.jpg", "100x100", "crop", ".jpg"), "relative"),
        (("", "100x100", "crop", ".jpg"), "PATH"),
    ],
)
def test_url_with_invalid_input_exits_2_with_the_message(
    args: tuple[str, ...], message: str
) -> None:
    result = run_cli("url", *args, "--secret-key", KEY)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("restthumbs url: error:")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_prints_the_same_url() -> None:
    script = shutil.which(
        "restthumbs",
        path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    assert script is not None, "the restthumbs console script is not installed"
    args = ["url", "animals/kitten.jpg", "100x100", "crop", ".jpg", "--secret-key", KEY]
    result = subprocess.run(
        [script, *args], capture_output=True, text=True, timeout=RUN_TIMEOUT, env=cli_env()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == run_cli(*args).stdout
    assert_verifies(result.stdout.strip(), KEY)


# -- restthumbs serve -------------------------------------------------------------


def test_serve_banner(shared_server: tuple[Server, Path]) -> None:
    server, source = shared_server
    assert re.fullmatch(r"http://127\.0\.0\.1:[1-9][0-9]*", server.origin)
    assert server.banner_value("Source directory") == str(source)
    assert server.banner_value("Thumbnail directory") == str(source.parent / "thumbnails")
    example = server.banner_value("Example thumbnail")
    assert example.startswith(server.origin + "/alpha.png/200x200/crop/")  # the first image, sorted
    response = request(example)
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.image().size == (200, 200)


def test_serve_renders_a_url_from_restthumbs_url(shared_server: tuple[Server, Path]) -> None:
    server, source = shared_server
    result = run_cli(
        "url",
        "photo.jpg",
        "100x100",
        "crop",
        ".jpg",
        "--secret-key",
        KEY,
        "--base-url",
        server.origin + "/",
    )
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    response = request(url)
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Cache-Control"] == "public, max-age=2592000"
    im = response.image()
    assert (im.format, im.size) == ("JPEG", (100, 100))
    stored = source.parent / "thumbnails" / signed_path(url)
    assert stored.read_bytes() == response.body
    again = request(url)
    assert (again.status, again.body) == (200, response.body)


@pytest.mark.parametrize(
    "path, size, method, ext, content_type, expected",
    [
        ("photo.jpg", "200x", "scale", ".jpg", "image/jpeg", (200, 150)),
        ("photo.jpg", "x60", "smart", ".webp", "image/webp", (80, 60)),
        ("alpha.png", "150x150", "crop", ".png", "image/png", (150, 150)),
    ],
)
def test_serve_renders_each_method_and_format(
    shared_server: tuple[Server, Path],
    path: str,
    size: str,
    method: str,
    ext: str,
    content_type: str,
    expected: tuple[int, int],
) -> None:
    server, _ = shared_server
    response = request(server.url(path, size, method, ext))
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert response.image().size == expected


def test_serve_refuses_a_tampered_url(shared_server: tuple[Server, Path]) -> None:
    server, source = shared_server
    url = server.url("photo.jpg", "123x45", "crop", ".jpg")
    tampered = url[:-5] + ("0" if url[-5] != "0" else "1") + url[-4:]
    before = files_under(source.parent / "thumbnails")
    response = request(tampered)
    assert response.status == 401
    assert response.headers["Cache-Control"] == "no-store"
    assert files_under(source.parent / "thumbnails") == before
    other_key = request(server.url("photo.jpg", "123x45", "crop", ".jpg", key="another-key"))
    assert other_key.status == 401


def test_serve_answers_errors_with_no_store(shared_server: tuple[Server, Path]) -> None:
    server, _ = shared_server
    missing = request(server.url("missing.jpg", "100x100"))
    assert missing.status == 404
    assert missing.headers["Cache-Control"] == "no-store"
    assert request(server.origin + "/").status == 404  # no demo page without --demo
    assert request(server.url("photo.jpg", "100x100"), method="POST").status == 405


def test_serve_without_source_dir_or_demo_exits_2(tmp_path: Path) -> None:
    result = run_cli("serve", "--secret-key", KEY, cwd=tmp_path)
    assert result.returncode == 2
    assert "--source-dir" in result.stderr and "--demo" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_a_missing_source_dir_exits_2(tmp_path: Path) -> None:
    result = run_cli("serve", "--source-dir", str(tmp_path / "nope"), "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "not a directory" in result.stderr


def test_serve_refuses_a_thumbnail_dir_inside_the_source_dir(media: Path) -> None:
    result = run_cli(
        "serve", "--source-dir", str(media), "--thumbnail-dir", str(media / "thumbs"), "--port", "0"
    )
    assert result.returncode == 2
    assert "inside the source directory" in result.stderr
    assert not (media / "thumbs").exists()


def test_serve_on_a_busy_port_exits_1(media: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(
            "serve", "--source-dir", str(media), "--port", str(port), "--secret-key", KEY
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_rejects_an_invalid_port(media: Path) -> None:
    result = run_cli("serve", "--source-dir", str(media), "--port", "70000")
    assert result.returncode == 2
    assert "invalid port" in result.stderr


def test_serve_with_a_custom_thumbnail_dir_and_env_key(
    serve: Callable[..., Server], media: Path, tmp_path: Path
) -> None:
    (media / "dir").mkdir()
    (media / "dir" / "p.jpg").write_bytes(images.jpeg_bytes((300, 300)))
    thumbs = tmp_path / "elsewhere"
    server = serve(
        "--source-dir",
        str(media),
        "--thumbnail-dir",
        str(thumbs),
        env=cli_env(RESTTHUMBS_SECRET_KEY=KEY),
    )
    assert server.banner_value("Thumbnail directory") == str(thumbs)
    assert server.banner_value("Example thumbnail").startswith(
        server.origin + "/dir/p.jpg/200x200/crop/"
    )
    url = server.url("dir/p.jpg", "64x64", "scale", ".png")
    response = request(url)
    assert response.status == 200
    assert response.image().size == (64, 64)
    assert files_under(thumbs) == [signed_path(url)]
    assert "random key" not in server.stderr


def test_serve_without_a_key_uses_a_random_one(serve: Callable[..., Server], media: Path) -> None:
    (media / "p.jpg").write_bytes(images.jpeg_bytes((300, 200)))
    server = serve("--source-dir", str(media))
    assert "random key" in server.stderr and "this process only" in server.stderr
    assert request(server.banner_value("Example thumbnail")).status == 200
    assert request(server.url("p.jpg", "200x200")).status == 401  # not signed with KEY


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly(serve: Callable[..., Server], media: Path, sig: int) -> None:
    if sig == signal.SIGINT and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("SIGINT is ignored here (a background job); the server inherits that")
    server = serve("--source-dir", str(media), "--secret-key", KEY)
    assert "No image found" in " ".join(server.banner)
    assert server.stop(sig) == 0
    assert server.remaining_stdout() == ["Press Ctrl-C to stop.", "Stopped."]
    assert "Traceback" not in server.stderr


# -- restthumbs serve --demo --------------------------------------------------------


def demo_images(page: str) -> list[str]:
    return [html.unescape(src) for src in re.findall(r'<img src="([^"]+)"', page)]


def test_demo_page_shows_working_thumbnails(demo_server: Server) -> None:
    response = request(demo_server.origin + "/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.text
    assert "local" in page  # the warning that the demo signs any input
    sources = demo_images(page)
    # The form's result, the responsive tags' <img>s, then every sample in every method and
    # grid size.
    assert len(sources) == 1 + len(RESPONSIVE_EXAMPLES) + len(SAMPLES) * 3 * 3
    for method in ("crop", "scale", "smart"):
        assert any(f"/{method}/" in src for src in sources)
    for src in sources:
        assert src.startswith("/")
        thumb = request(demo_server.origin + src)
        assert thumb.status == 200, (src, thumb.text)
        assert thumb.headers["Content-Type"].startswith("image/")
        im = thumb.image()
        assert max(im.size) <= 300


def test_demo_form_shows_the_signed_url_and_the_image(demo_server: Server) -> None:
    query = urlencode(
        {"source": "landscape.jpg", "size": "120x80", "method": "scale", "format": "png"}
    )
    response = request(f"{demo_server.origin}/?{query}")
    assert response.status == 200
    expected = run_cli(
        "url", "landscape.jpg", "120x80", "scale", "png", "--secret-key", KEY
    ).stdout.strip()
    assert f'<a href="{expected}">' in response.text
    assert demo_images(response.text)[0] == expected
    thumb = request(demo_server.origin + expected)
    assert thumb.status == 200
    assert thumb.headers["Content-Type"] == "image/png"
    assert thumb.image().size == (120, 75)  # 1600x1000 fitted into 120x80


@pytest.mark.parametrize(
    "form, message",
    [
        (
            {"source": "landscape.jpg", "size": "0x0", "method": "crop", "format": "jpg"},
            "Invalid size",
        ),
        (
            {"source": "landscape.jpg", "size": "abc", "method": "crop", "format": "jpg"},
            "Invalid size",
        ),
        (
            {"source": "landscape.jpg", "size": "10x10", "method": "zoom", "format": "jpg"},
            "Invalid method",
        ),
        (
            {"source": "landscape.jpg", "size": "10x10", "method": "crop", "format": "bmp"},
            "cannot write",
        ),
        (
            {"source": "../secret.jpg", "size": "10x10", "method": "crop", "format": "jpg"},
            "segment",
        ),
        ({"source": "", "size": "10x10", "method": "crop", "format": "jpg"}, "Enter the path"),
        ({"source": "x" * 5000, "size": "10x10", "method": "crop", "format": "jpg"}, "at most"),
    ],
)
def test_demo_form_with_invalid_input_shows_an_error(
    demo_server: Server, form: dict[str, str], message: str
) -> None:
    response = request(f"{demo_server.origin}/?{urlencode(form)}")
    assert response.status == 400
    assert message in html.unescape(response.text)
    assert 'class="error"' in response.text
    # No result image: only the responsive tags' and the grid's thumbnails remain.
    assert len(demo_images(response.text)) == len(RESPONSIVE_EXAMPLES) + len(SAMPLES) * 9


def test_demo_form_escapes_its_input(demo_server: Server) -> None:
    query = urlencode(
        {
            "source": '<script>alert("x")</script>.jpg',
            "size": "10x10",
            "method": "crop",
            "format": "jpg",
        }
    )
    response = request(f"{demo_server.origin}/?{query}")
    assert response.status == 200
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text
    assert "no image at this path" in response.text  # the URL is signed, but would 404


def test_demo_offers_avif_only_where_pillow_writes_it(demo_server: Server) -> None:
    page = request(demo_server.origin + "/").text
    assert ('<option value="avif"' in page) == can_encode("AVIF")
    assert '<option value="webp"' in page


def test_demo_page_refuses_post(demo_server: Server) -> None:
    assert request(demo_server.origin + "/", method="POST").status == 405


def test_demo_without_source_dir_removes_its_temporary_directory(
    serve: Callable[..., Server],
) -> None:
    server = serve("--demo", "--secret-key", KEY)
    source = Path(server.banner_value("Source directory"))
    assert server.banner_value("Demo page") == server.origin + "/"
    assert sorted(p.name for p in source.iterdir()) == sorted(s.filename for s in SAMPLES)
    assert server.banner_value("Example thumbnail").startswith(
        server.origin + "/landscape.jpg/200x200/crop/"
    )
    assert request(server.banner_value("Example thumbnail")).status == 200
    temporary = source.parent
    assert (temporary / "thumbnails").is_dir()
    assert server.stop() == 0
    assert not temporary.exists()


def test_demo_with_source_dir_never_overwrites_user_files(
    serve: Callable[..., Server], media: Path
) -> None:
    (media / "mine.jpg").write_bytes(images.jpeg_bytes((100, 100)))
    demo_dir = media / DEMO_DIRNAME
    demo_dir.mkdir()
    own = images.jpeg_bytes((64, 48))
    (demo_dir / "landscape.jpg").write_bytes(own)
    server = serve("--demo", "--source-dir", str(media), "--secret-key", KEY)
    assert server.banner_value("Source directory") == str(media)
    assert (demo_dir / "landscape.jpg").read_bytes() == own
    assert sorted(p.name for p in demo_dir.iterdir()) == sorted(s.filename for s in SAMPLES)
    page = request(server.origin + "/").text
    assert f"{DEMO_DIRNAME}/portrait.jpg" in page
    assert "64×48" in page  # the user's file, described as it is
    for src in demo_images(page)[:4]:
        assert request(server.origin + src).status == 200
    # The user's images are served too.
    assert request(server.url("mine.jpg", "50x50")).status == 200
    assert server.stop() == 0
    assert (media / "mine.jpg").exists() and (demo_dir / "portrait.jpg").exists()


def test_demo_through_the_console_script(serve: Callable[..., Server]) -> None:
    script = shutil.which(
        "restthumbs",
        path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    assert script is not None
    server = serve("--demo", command=[script])
    assert "random key" in server.stderr
    page = request(server.origin + "/")
    assert page.status == 200
    assert request(server.origin + demo_images(page.text)[1]).status == 200
    assert server.stop() == 0


def test_demo_that_cannot_write_its_samples_exits_1(media: Path) -> None:
    (media / DEMO_DIRNAME).write_text("a file of the user's, where the samples would go")
    result = run_cli("serve", "--demo", "--source-dir", str(media), "--port", "0")
    assert result.returncode == 1
    assert "cannot write the demo samples" in result.stderr
    assert "Traceback" not in result.stderr
    assert (media / DEMO_DIRNAME).read_text().startswith("a file of the user's")
