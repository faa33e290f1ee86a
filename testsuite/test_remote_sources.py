"""Remote images end to end, through the view: one fetch per source, statuses, nothing stored.

A real origin (a thread on loopback) counts the fetches: the first thumbnail of
a remote image fetches it, later ones (other sizes, formats, methods) read the
kept original; twenty sizes asked at once still fetch it once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client, override_settings

from restthumbs.api import thumbnail_url
from restthumbs.remote.naming import to_source_path

from .harness import free_port
from .harness.origin import Origin, Route, origin_server
from .remote_support import jpeg_bytes, kept_files, png_bytes, remote_settings, thumb
from .utils import body, files_under

pytestmark = pytest.mark.django_db(databases=[])


@pytest.fixture
def origin() -> Iterator[Origin]:
    with origin_server() as server:
        server.routes["/cat.jpg"] = Route(body=jpeg_bytes((640, 480)))
        with remote_settings([server.url("/"), "http://10.0.0.1/"]):
            yield server


def test_a_remote_image_is_a_source_like_any_other(
    client: Client, origin: Origin, thumbs_dir: Path, media: Path
) -> None:
    url = thumb(origin.url("/cat.jpg"), "120x90", "crop", ".png")
    source_path = f"remote/http/127.0.0.1:{origin.port}/cat.jpg"
    assert unquote(url).startswith(f"/{source_path}/120x90/crop/")
    response = client.get(url)
    assert response.status_code == 200, body(response)
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"].startswith("public")
    stored = files_under(thumbs_dir)
    assert stored == [unquote(url).lstrip("/")]  # <source_path>/<size>/<method>/<secret>.<ext>
    assert len(kept_files(media)) == 1
    assert origin.count("/cat.jpg") == 1


def test_later_thumbnails_of_a_remote_image_cost_no_fetch(client: Client, origin: Origin) -> None:
    source = origin.url("/cat.jpg")
    for size, method, ext in [
        ("100x100", "crop", ".jpg"),
        ("200x", "scale", ".webp"),
        ("x50", "smart", ".png"),
        ("64x64", "crop", ".gif"),
    ]:
        assert client.get(thumb(source, size, method, ext)).status_code == 200
    assert origin.count("/cat.jpg") == 1
    assert client.get(thumb(source, "100x100")).status_code == 200  # stored: no render at all
    assert origin.count("/cat.jpg") == 1


def test_twenty_sizes_asked_at_once_fetch_the_image_once(origin: Origin, thumbs_dir: Path) -> None:
    origin.routes["/slow.jpg"] = Route(body=jpeg_bytes((800, 600)), delay=0.5)
    urls = [thumb(origin.url("/slow.jpg"), f"{40 + i}x{30 + i}") for i in range(20)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(urls))

    def get(url: str) -> None:
        barrier.wait()
        response = Client().get(url)
        statuses.append(response.status_code)
        response.close()

    threads = [threading.Thread(target=get, args=(url,)) for url in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200] * 20
    assert origin.count("/slow.jpg") == 1
    assert len(files_under(thumbs_dir)) == 20


def test_an_original_older_than_its_time_to_live_is_fetched_again(
    client: Client, origin: Origin, media: Path
) -> None:
    source = origin.url("/cat.jpg")
    assert client.get(thumb(source, "100x100")).status_code == 200
    (kept,) = kept_files(media)
    with override_settings(THUMBNAILS_REMOTE_TTL=3600):
        old = time.time() - 3601
        os.utime(kept, (old, old))
        assert client.get(thumb(source, "101x101")).status_code == 200
        assert origin.count("/cat.jpg") == 2
        assert client.get(thumb(source, "102x102")).status_code == 200
        assert origin.count("/cat.jpg") == 2


def test_an_expired_original_is_used_when_the_origin_fails(
    client: Client, origin: Origin, media: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = origin.url("/cat.jpg")
    assert client.get(thumb(source, "100x100")).status_code == 200
    (kept,) = kept_files(media)
    os.utime(kept, (1, 1))
    origin.routes["/cat.jpg"] = Route(status=503)
    with caplog.at_level(logging.WARNING, logger="restthumbs"):
        assert client.get(thumb(source, "101x101")).status_code == 200
    assert "expired copy" in caplog.text


def refused(
    client: Client, url: str, status: int, reason: str, caplog: pytest.LogCaptureFixture
) -> Any:
    with caplog.at_level(logging.INFO, logger="restthumbs"):
        response = client.get(url)
    assert response.status_code == status, body(response)
    assert response["Cache-Control"] == "no-store"
    records = [r for r in caplog.records if getattr(r, "reason", None) == reason]
    assert records, [(r.getMessage(), getattr(r, "reason", None)) for r in caplog.records]
    return response


@pytest.mark.parametrize(
    ("route", "status", "reason"),
    [
        (Route(status=302, headers={"Location": "http://10.0.0.1/a.jpg"}), 403, "remote_address_refused"),
        (Route(status=302, headers={"Location": "file:///etc/passwd"}), 403, "remote_refused"),
        (Route(body=b"<html></html>", headers={"Content-Type": "image/jpeg"}), 422, "remote_not_image"),
        (Route(body=b"x", length=500_000_000), 422, "remote_too_large"),
        (Route(status=404), 404, "source_missing"),
    ],
)  # fmt: skip
def test_a_refusal_is_a_4xx_with_its_reason_logged_and_nothing_stored(
    client: Client,
    origin: Origin,
    media: Path,
    thumbs_dir: Path,
    caplog: pytest.LogCaptureFixture,
    route: Route,
    status: int,
    reason: str,
) -> None:
    origin.routes["/bad.jpg"] = route
    refused(client, thumb(origin.url("/bad.jpg")), status, reason, caplog)
    assert files_under(thumbs_dir) == [] and kept_files(media) == []


def test_a_url_outside_the_prefixes_is_refused_without_a_request(
    client: Client, origin: Origin, caplog: pytest.LogCaptureFixture
) -> None:
    url = thumb(f"http://127.0.0.1:{origin.port + 1 if origin.port < 65535 else 1}/cat.jpg")
    refused(client, url, 403, "remote_refused", caplog)
    with override_settings(THUMBNAILS_REMOTE_ALLOWED_NETWORKS=[]):
        refused(client, thumb(origin.url("/cat.jpg")), 403, "remote_address_refused", caplog)
    assert origin.seen == []


@pytest.mark.parametrize(
    ("route", "status", "reason"),
    [
        (Route(status=500), 502, "origin_unavailable"),
        (Route(status=403), 502, "origin_unavailable"),
        (Route(hang=True), 504, "origin_timeout"),
        (Route(body=jpeg_bytes(), drip=0.01), 504, "origin_timeout"),
    ],
)
def test_a_failing_or_slow_origin_is_a_502_or_504_to_retry_and_nothing_stored(
    client: Client,
    origin: Origin,
    media: Path,
    thumbs_dir: Path,
    caplog: pytest.LogCaptureFixture,
    route: Route,
    status: int,
    reason: str,
) -> None:
    origin.routes["/bad.jpg"] = route
    with override_settings(THUMBNAILS_REMOTE_TIMEOUT=1):
        response = refused(client, thumb(origin.url("/bad.jpg")), status, reason, caplog)
    assert int(response["Retry-After"]) > 0
    assert files_under(thumbs_dir) == [] and kept_files(media) == []


def test_an_unreachable_origin_is_a_502(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    down = f"http://127.0.0.1:{free_port()}/"
    with remote_settings([down]):
        response = refused(client, thumb(down + "a.jpg"), 502, "origin_unavailable", caplog)
    assert response["Retry-After"]


def test_a_failure_is_remembered_for_its_retry_after(client: Client, origin: Origin) -> None:
    origin.routes["/down.jpg"] = Route(status=500)
    for size in ("100x100", "101x101", "102x102"):
        assert client.get(thumb(origin.url("/down.jpg"), size)).status_code == 502
    assert origin.count("/down.jpg") == 1


def test_a_source_path_not_in_canonical_form_is_a_404(client: Client, origin: Origin) -> None:
    url = thumbnail_url(
        f"remote/http/127.0.0.1:{origin.port}/./cat.jpg".replace("/./", "/%2e/"), "10x10"
    )
    assert client.get(url).status_code == 404
    upper = thumbnail_url(f"remote/HTTP/127.0.0.1:{origin.port}/cat.jpg", "10x10")
    assert client.get(upper).status_code in (403, 404)
    assert origin.seen == []


def test_the_placeholder_answers_an_image_missing_at_its_origin(
    client: Client, origin: Origin
) -> None:
    origin.routes["/gone.jpg"] = Route(status=404)
    with override_settings(THUMBNAILS_PLACEHOLDER=True):
        response = client.get(thumb(origin.url("/gone.jpg"), "30x20", "crop", ".png"))
    assert response.status_code == 200
    assert (response["Content-Type"], response["Cache-Control"]) == ("image/png", "no-store")


def test_local_sources_are_unchanged_beside_remote_ones(
    client: Client, origin: Origin, write_source: Any
) -> None:
    write_source("animals/kitten.jpg")
    write_source("remote/hidden.jpg")  # a local directory named like a mount is hidden by it
    assert client.get(thumbnail_url("animals/kitten.jpg", "50x50")).status_code == 200
    assert client.get(thumbnail_url("remote/hidden.jpg", "50x50")).status_code == 404


def test_a_png_served_as_text_is_rendered(client: Client, origin: Origin) -> None:
    origin.routes["/p"] = Route(body=png_bytes(), headers={"Content-Type": "text/plain"})
    source = to_source_path(origin.url("/p"), "remote")
    assert client.get(thumbnail_url(source, "32x32", "crop", ".png")).status_code == 200
