"""Shared fixtures (source and thumbnail directories, image writers, spec helpers), and
the hooks that make a missing server a skip, or a failure under CI=true."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client, override_settings
from PIL import Image

from restthumbs.signals import thumbnail_rendered

from . import images
from .outcomes import missing_is_skip_or_fail

# -- a missing server: skip, or fail under CI=true (testsuite/outcomes.py) -----------


class HarnessModule(pytest.Module):
    """A test module whose import may need a package the harness finds missing."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        with missing_is_skip_or_fail():
            return list(super().collect())


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
    return HarnessModule.from_parent(parent, path=module_path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with missing_is_skip_or_fail():  # fixtures start the servers
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with missing_is_skip_or_fail():
        return (yield)


@pytest.fixture(autouse=True)
def media(tmp_path: Path) -> Iterator[Path]:
    """Point the source root at ``tmp_path/media`` and thumbnails at ``tmp_path/thumbnails``.

    Yields the source directory; the thumbnail directory is its sibling ``thumbnails``.
    """
    source = tmp_path / "media"
    thumbs = tmp_path / "thumbnails"
    source.mkdir()
    with override_settings(MEDIA_ROOT=str(source), THUMBNAILS_STORAGE_ROOT=str(thumbs)):
        caches["default"].clear()
        yield source


@pytest.fixture
def thumbs_dir(media: Path) -> Path:
    return media.parent / "thumbnails"


@pytest.fixture
def write_source(media: Path) -> Callable[..., Path]:
    """``write_source("a/b.jpg", data_or_image, format=..., **params)`` -> the file's path."""

    def write(
        name: str,
        content: bytes | Image.Image | None = None,
        format: str | None = None,
        **params: object,
    ) -> Path:
        path = media / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            content = images.photo()
        if isinstance(content, Image.Image):
            fmt = format or {".png": "PNG", ".gif": "GIF", ".webp": "WEBP"}.get(
                path.suffix.lower(), "JPEG"
            )
            content = images.encode(content, fmt, **params)
        path.write_bytes(content)
        return path

    return write


class ClosingClient(Client):
    """A test client that closes every response at teardown, as a WSGI server does.

    Streaming responses hold the thumbnail file open until closed; without
    this, ``-W error`` turns the unclosed file into a failure.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.responses: list[object] = []

    def request(self, **request: object):  # type: ignore[no-untyped-def]
        response = super().request(**request)
        self.responses.append(response)
        return response

    def close_all(self) -> None:
        # As Django's Client does: closing sends request_finished, whose
        # close_old_connections must not touch the test database.
        request_finished.disconnect(close_old_connections)
        try:
            for response in self.responses:
                response.close()  # type: ignore[attr-defined]
        finally:
            request_finished.connect(close_old_connections)
        self.responses.clear()


@pytest.fixture
def client() -> Iterator[ClosingClient]:
    c = ClosingClient()
    yield c
    c.close_all()


# -- fuzzing budgets: RESTTHUMBS_FUZZ=ci (default) or long (testsuite/fuzzing.py) ----


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before collection, so the fuzz tests' settings see the chosen profile; an
    explicit ``--hypothesis-profile`` is loaded after this and wins."""
    from .fuzzing import register_profiles

    register_profiles()


@pytest.fixture
def renders() -> Iterator[list[str]]:
    """The thumbnail names for which ``thumbnail_rendered`` was sent during the test."""
    names: list[str] = []

    def receiver(sender: object, thumbnail_path: str, **kwargs: object) -> None:
        names.append(thumbnail_path)

    thumbnail_rendered.connect(receiver, weak=False)
    yield names
    thumbnail_rendered.disconnect(receiver)
