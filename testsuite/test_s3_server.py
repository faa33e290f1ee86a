"""End to end over real HTTP: restthumbs on two buckets of a moto server.

The moto server (:mod:`testsuite.harness.moto`, needs ``moto[server]``)
listens on 127.0.0.1 on a free port; the storages reach it through boto3's
real HTTP stack (``endpoint_url``, path-style addressing, SigV4), and the
redirect backend's URLs are fetched from it with the harness's HTTP client,
as a browser would.
Sources are in one bucket, thumbnails in another, each under a ``location``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from . import harness
from .harness.http import request

harness.require_module("storages.backends.s3")  # skips, or fails under CI=true
harness.require_module("moto.server")
harness.require_module("flask")  # moto[server]

import boto3  # noqa: E402
from django.core.management import CommandError, call_command  # noqa: E402

from restthumbs.api import thumbnail  # noqa: E402
from restthumbs.ensure import ensure_thumbnail  # noqa: E402
from restthumbs.signing import sign  # noqa: E402

from . import images  # noqa: E402
from .test_s3 import (  # noqa: E402
    DUMMY,
    GET_SOURCE,
    GET_THUMB,
    HEAD_THUMB,
    KITTEN,
    MISS_CHECKS,
    PUBLIC,
    PUT_THUMB,
    REDIRECT,
    STREAM_MISS_CHECKS,
    THUMBS_BUCKET,
    THUMBS_PREFIX,
    S3Env,
    create_buckets,
    decoded_size,
    use_s3,
)
from .utils import body  # noqa: E402

REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto() -> Iterator[harness.MotoServer]:
    with harness.moto_server() as server:
        yield server


@pytest.fixture(scope="module")
def endpoint(moto: harness.MotoServer) -> str:
    return moto.endpoint


@pytest.fixture
def aws(moto: harness.MotoServer, endpoint: str) -> Any:
    """A plain client on fresh, empty buckets (the server's state is reset per test)."""
    moto.reset()
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    create_buckets(client, REGION)
    return client


@pytest.fixture
def s3(aws: Any, endpoint: str) -> Iterator[Callable[..., S3Env]]:
    """As ``test_s3.s3``, with both storages on the moto server."""
    over_http = {"endpoint_url": endpoint, "region_name": REGION, "addressing_style": "path"}
    with ExitStack() as stack:

        def configure(backend: str = DUMMY, **thumbs: Any) -> S3Env:
            return use_s3(stack, aws, backend, over_http, {**over_http, **thumbs})

        yield configure


def test_miss_then_hit_streamed_through_django(client: Any, s3: Callable[..., S3Env]) -> None:
    env = s3(querystring_auth=False)
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "120x90", "smart", ".webp")
    miss = client.get(thumb.url)
    assert miss.status_code == 200
    data = body(miss)
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE, PUT_THUMB, GET_THUMB]
    assert miss["Content-Type"] == "image/webp"
    assert miss["Cache-Control"] == PUBLIC
    assert decoded_size(data) == (120, 90)
    head = env.client.head_object(Bucket=THUMBS_BUCKET, Key=f"{THUMBS_PREFIX}/{thumb.name}")
    assert head["ContentType"] == "image/webp"
    assert head["CacheControl"] == PUBLIC
    assert head["ContentLength"] == len(data)
    hit = client.get(thumb.url)
    assert hit.status_code == 200
    assert body(hit) == data
    assert hit["ETag"] == miss["ETag"]
    assert env.requests.take() == [GET_THUMB]


def test_redirect_to_the_public_bucket_url(
    client: Any, s3: Callable[..., S3Env], endpoint: str
) -> None:
    env = s3(backend=REDIRECT, querystring_auth=False, default_acl="public-read")
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    miss = client.get(thumb.url)
    assert miss.status_code == 302
    assert env.requests.take() == [*MISS_CHECKS, GET_SOURCE, PUT_THUMB]
    assert miss["Location"] == f"{endpoint}/{THUMBS_BUCKET}/{THUMBS_PREFIX}/{thumb.name}"
    assert miss["Cache-Control"] == PUBLIC
    hit = client.get(thumb.url)
    assert hit["Location"] == miss["Location"]
    assert env.requests.take() == [HEAD_THUMB]  # one request for a hit
    status, headers, data = request(hit["Location"])
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Cache-Control"] == PUBLIC
    assert decoded_size(data) == (100, 100)
    assert data == env.thumb_object(thumb.name)["Data"]


def test_redirect_to_a_presigned_url_of_the_private_bucket(
    client: Any, s3: Callable[..., S3Env]
) -> None:
    env = s3(backend=REDIRECT, querystring_auth=True, querystring_expire=120)
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    assert client.get(thumb.url).status_code == 302
    env.requests.take()
    response = client.get(thumb.url)
    assert response.status_code == 302
    assert env.requests.take() == [HEAD_THUMB]
    assert response["Cache-Control"] == "private, max-age=60"
    assert parse_qs(urlsplit(response["Location"]).query)["X-Amz-Expires"] == ["120"]
    status, headers, data = request(response["Location"])
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Cache-Control"] == "private, max-age=2592000"
    assert data == env.thumb_object(thumb.name)["Data"]
    # The object itself is private: its plain (unsigned) URL is refused.
    plain = urlsplit(response["Location"])._replace(query="").geturl()
    assert request(plain)[0] == 403


def test_unicode_source_over_http(client: Any, s3: Callable[..., S3Env]) -> None:
    env = s3(backend=REDIRECT, querystring_auth=False, default_acl="public-read")
    source = env.put_source("Fotos/straße & 100%.jpg")
    thumb = thumbnail(source, "64x", "scale", ".png")
    response = client.get(thumb.url)
    assert response.status_code == 302
    status, headers, data = request(response["Location"])
    assert status == 200
    assert headers["Content-Type"] == "image/png"
    assert decoded_size(data) == (64, 48)


def test_missing_source_is_404_and_writes_nothing(client: Any, s3: Callable[..., S3Env]) -> None:
    env = s3()
    response = client.get(thumbnail("nowhere/missing.jpg", "100x100").url)
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE]
    assert env.thumb_keys() == []


def test_bad_image_is_4xx_and_writes_nothing(client: Any, s3: Callable[..., S3Env]) -> None:
    env = s3()
    env.put_source("broken.jpg", images.jpeg_bytes((800, 600))[:700])
    env.put_source("junk.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    for source in ("broken.jpg", "junk.png"):
        response = client.get(thumbnail(source, "100x100").url)
        assert 400 <= response.status_code < 500
        assert response["Cache-Control"] == "no-store"
    assert env.thumb_keys() == []


# -- S3 unreachable: a 503 that nothing keeps, then recovery --------------------------


def quick_failing(endpoint: str) -> dict[str, Any]:
    """Options for an S3Storage on ``endpoint`` that fail at once when nothing answers.

    One attempt and short timeouts: botocore's retries with backoff would only
    make the test slow, not different.
    """
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        connect_timeout=2,
        read_timeout=5,
        retries={"total_max_attempts": 1},
    )
    return {"endpoint_url": endpoint, "region_name": REGION, "client_config": config}


@contextmanager
def storages_on(aws: Any, sources: str, thumbs: str, backend: str = DUMMY) -> Iterator[S3Env]:
    """Both storages on the given endpoints, failing fast, for the ``with`` block."""
    with ExitStack() as stack:
        thumbs_options = {"querystring_auth": False, **quick_failing(thumbs)}
        yield use_s3(stack, aws, backend, quick_failing(sources), thumbs_options)


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"
    assert response["Retry-After"] == "5"
    assert b"storage is unavailable" in response.content


@pytest.mark.parametrize("backend", [DUMMY, REDIRECT])
def test_s3_stopped_mid_run_is_503_then_recovers(
    client: Any, aws: Any, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A second moto server on its own port is stopped, then started again on that port.

    moto keeps its buckets in the process, so the restarted server has the
    thumbnail rendered before the outage, as S3 would after a network blip.
    """
    server = harness.MotoServer(harness.free_port())
    server.start()
    own = server.endpoint
    env = S3Env(aws)
    env.put_source(KITTEN)
    stored, cold = thumbnail(KITTEN, "100x100"), thumbnail(KITTEN, "60x60")
    try:
        with storages_on(aws, own, own, backend):
            assert client.get(stored.url).status_code in (200, 302)
            server.stop()
            with caplog.at_level(logging.WARNING, logger="restthumbs"):
                for thumb in (stored, cold):
                    assert_unavailable(client.get(thumb.url))
            warnings = [
                r for r in caplog.records if getattr(r, "reason", None) == "storage_unavailable"
            ]
            assert len(warnings) == 2
            assert all("Could not connect" in r.getMessage() for r in warnings)
            server.start()  # again, on the same port
            for thumb in (stored, cold):
                assert client.get(thumb.url).status_code in (200, 302)
    finally:
        server.stop()
    assert env.thumb_keys() == sorted(f"{THUMBS_PREFIX}/{t.name}" for t in (stored, cold))


def test_warm_names_the_cause_when_the_thumbnail_bucket_is_unreachable(
    aws: Any, endpoint: str
) -> None:
    """Sources are listed and read from moto; the thumbnail storage answers nothing."""
    env = S3Env(aws)
    env.put_source(KITTEN)
    env.put_source("animals/puppy.jpg")
    out, err = StringIO(), StringIO()
    with storages_on(aws, endpoint, f"http://127.0.0.1:{harness.free_port()}"):
        with pytest.raises(CommandError):
            call_command(
                "thumbnails_warm", "100x100", "crop", ".jpg",
                fail_on_error=True, stdout=out, stderr=err,
            )  # fmt: skip
    lines = err.getvalue().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == ["animals/kitten.jpg", "animals/puppy.jpg"]
    assert all("Could not connect" in line and "(storage_unavailable)" in line for line in lines)
    assert "failed 2" in out.getvalue()


def test_warm_refuses_cleanly_when_the_source_bucket_is_unreachable(aws: Any) -> None:
    closed = f"http://127.0.0.1:{harness.free_port()}"
    with storages_on(aws, closed, closed):
        with pytest.raises(CommandError, match="could not be listed"):
            call_command("thumbnails_warm", "100x100", "crop", ".jpg", stdout=StringIO())


# -- deploy/nginx-s3.conf: nginx in front of the bucket, Django behind it -------------


@contextmanager
def django_over_http() -> Iterator[tuple[int, list[str]]]:
    """This process's Django (settings overrides included) on a loopback port.

    Yields the port and the list of (WSGI, latin-1) paths Django was asked for.
    """
    from django.core.handlers.wsgi import WSGIHandler

    handler, asked = WSGIHandler(), []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        asked.append(environ["PATH_INFO"])
        return handler(environ, start_response)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def nginx_in_front(endpoint: str, django_port: int) -> Iterator[str]:
    """deploy/nginx-s3.conf running in the foreground; yields its base URL.

    The bucket is reached over plain HTTP, path-style, as moto serves it. On the
    harness: a missing nginx skips, or fails under ``CI=true``.
    """
    with harness.workspace("restthumbs-nginx-s3-") as directory:
        prefix = f"/{THUMBS_BUCKET}/{THUMBS_PREFIX}"
        with harness.s3_nginx(directory, endpoint, prefix, [django_port]) as nginx:
            yield f"http://127.0.0.1:{nginx.port}"


@pytest.mark.integration
def test_nginx_tries_the_bucket_then_django(s3: Callable[..., S3Env], endpoint: str) -> None:
    env = s3(querystring_auth=False, default_acl="public-read")
    env.put_source(KITTEN)
    source = env.put_source("Tiere/kätzchen mit ü & 100%.jpg")
    with django_over_http() as (django_port, asked), nginx_in_front(endpoint, django_port) as base:
        for path in (KITTEN, source):
            thumb = thumbnail(path, "100x100")
            status, headers, data = request(base + thumb.url)
            # Not in the bucket yet: the bucket's 403/404 sends nginx to Django, which renders.
            assert (status, headers["X-Cache-Status"]) == (200, "MISS")
            assert len(asked) == 1  # Django, once
            assert headers["Cache-Control"] == PUBLIC
            assert data == env.thumb_object(thumb.name)["Data"]
            # Then nginx's cache answers; Django is not asked again.
            status, headers, again = request(base + thumb.url)
            assert (status, headers["X-Cache-Status"], again) == (200, "HIT", data)
            assert request(base + thumb.url, "HEAD")[0] == 200
            asked.clear()
        # A thumbnail stored in the bucket but not in nginx's cache comes from the bucket.
        other = thumbnail(KITTEN, "64x64", "scale", ".png")
        assert other.spec is not None
        ensure_thumbnail(other.spec, sign(other.spec))  # as thumbnails_warm does
        status, headers, data = request(base + other.url)
        assert (status, headers["X-Cache-Status"], headers["Content-Type"]) == (
            200,
            "MISS",
            "image/png",
        )
        assert headers["Cache-Control"] == PUBLIC
        assert asked == []
        assert data == env.thumb_object(other.name)["Data"]
        # Django's errors pass through, uncached.
        for url, expected in [
            (thumbnail(KITTEN, "100x100").url[:-12] + "01234567.jpg", 401),
            (thumbnail("missing.jpg", "100x100").url, 404),
        ]:
            for _ in range(2):
                status, headers, _body = request(base + url)
                assert (status, headers["Cache-Control"]) == (expected, "no-store")
        status, headers, _body = request(base + thumbnail(KITTEN, "100x100").url, "POST")
        assert (status, headers["Allow"]) == (405, "GET, HEAD")
        assert headers.get_all("Cache-Control") == ["no-store"]
        # A hit keeps the object's own Cache-Control, once.
        status, headers, _body = request(base + thumbnail(KITTEN, "100x100").url)
        assert (status, headers.get_all("Cache-Control")) == (200, [PUBLIC])
    # Django gone: nginx's own 502 for a thumbnail not in the bucket is not cached either.
    with nginx_in_front(endpoint, harness.free_port()) as base:
        status, headers, _body = request(base + thumbnail(KITTEN, "33x33").url)
        assert (status, headers.get_all("Cache-Control")) == (502, ["no-store"])
