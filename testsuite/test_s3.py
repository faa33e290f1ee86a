"""Sources and thumbnails on S3 (django-storages' S3Storage), against moto's in-process mock.

Both storages are ``STORAGES`` aliases on two buckets, each with a ``location``
prefix. Every request their boto3 clients send is recorded on botocore's
``before-send`` event, so the tests assert the exact S3 round trips of a miss
and of a hit, not only the responses:

- miss: two looks at the thumbnail (is it stored? and again under the render
  lock: ``HeadObject`` twice with the redirect backend; with the streaming
  backend the first look is the ``GetObject`` that would have streamed a hit),
  one ``GetObject`` of the source, one ``PutObject`` of the thumbnail (plus one
  ``GetObject`` to stream it back with the default backend);
- hit: exactly one request: ``HeadObject`` with the redirect backend, one
  ``GetObject`` with the streaming backend (its response carries the size and
  ``Last-Modified``).

``test_s3_server.py`` repeats the end-to-end path over real HTTP (moto server mode).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from . import harness

harness.require_module("storages.backends.s3")  # skips, or fails under CI=true
moto = harness.require_module("moto")

import boto3  # noqa: E402
from django.core.files.storage import Storage, storages  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402
from PIL import Image  # noqa: E402

from restthumbs.api import thumbnail  # noqa: E402
from restthumbs.caching import object_cache_control  # noqa: E402
from restthumbs.storage import is_s3, save_atomically, url_expiry  # noqa: E402

from . import images  # noqa: E402
from .utils import body, files_under  # noqa: E402

REGION = "eu-west-1"
SOURCES_BUCKET = "restthumbs-sources"
THUMBS_BUCKET = "restthumbs-thumbnails"
SOURCES_PREFIX = "media/uploads"
THUMBS_PREFIX = "thumbs"
PUBLIC = "public, max-age=2592000"
DUMMY = "restthumbs.responses.dummy.sendfile"
REDIRECT = "restthumbs.responses.redirect.sendfile"
KITTEN = "animals/kitten.jpg"

# Request logs: (storage, operation) in the order the requests were sent.
HEAD_THUMB = ("thumbs", "HeadObject")
GET_THUMB = ("thumbs", "GetObject")
PUT_THUMB = ("thumbs", "PutObject")
GET_SOURCE = ("sources", "GetObject")
# A miss looks twice: before taking the render lock, and again once it holds it
# (another worker may have stored the thumbnail and unlocked in between).
MISS_CHECKS = [HEAD_THUMB, HEAD_THUMB]
#: With the streaming backend the first look is the GET that would have streamed a hit.
STREAM_MISS_CHECKS = [GET_THUMB, HEAD_THUMB]


def s3_storage(bucket: str, location: str, **options: Any) -> dict[str, Any]:
    """A STORAGES entry for S3Storage on ``bucket`` below ``location``."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": location,
            "region_name": REGION,
            "access_key": "testing",
            "secret_key": "testing",
            "signature_version": "s3v4",
            **options,
        },
    }


def storages_setting(sources: dict[str, Any], thumbs: dict[str, Any]) -> dict[str, Any]:
    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "s3_sources": sources,
        "s3_thumbs": thumbs,
    }


class S3Requests:
    """Every request the watched storages' boto3 clients send, as ``(label, operation)``.

    Recorded on botocore's ``before-send`` event, which fires for each HTTP
    request actually sent (retries included), in-process mock or real server.
    """

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def watch(self, label: str, storage: Storage) -> None:
        """Record ``storage``'s requests, also those of the connections it makes later
        (django-storages keeps one per thread: ``thumbnails_warm`` renders in threads)."""
        record = functools.partial(self._record, label)
        client = storage.connection.meta.client  # type: ignore[attr-defined]
        client.meta.events.register("before-send.s3", record)
        create_session = storage._create_session  # type: ignore[attr-defined]

        def watched_session() -> Any:
            session = create_session()
            session.events.register("before-send.s3", record)
            return session

        storage._create_session = watched_session  # type: ignore[attr-defined]

    def _record(self, label: str, event_name: str, **kwargs: Any) -> None:
        self.sent.append((label, event_name.rsplit(".", 1)[-1]))  # returns None: send for real

    def take(self) -> list[tuple[str, str]]:
        """The requests sent since the last call."""
        sent, self.sent = self.sent, []
        return sent


@dataclass
class S3Env:
    """The buckets as a plain boto3 client sees them, and the request log."""

    client: Any
    requests: S3Requests = field(default_factory=S3Requests)

    def put_source(self, name: str, data: bytes | None = None) -> str:
        data = images.jpeg_bytes((800, 600)) if data is None else data
        self.client.put_object(Bucket=SOURCES_BUCKET, Key=f"{SOURCES_PREFIX}/{name}", Body=data)
        return name

    def thumb_keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=THUMBS_BUCKET)
        return sorted(entry["Key"] for entry in listing.get("Contents", ()))

    def thumb_object(self, name: str) -> dict[str, Any]:
        response = self.client.get_object(Bucket=THUMBS_BUCKET, Key=f"{THUMBS_PREFIX}/{name}")
        with response["Body"] as stream:
            response["Data"] = stream.read()
        return response  # type: ignore[no-any-return]


def create_buckets(client: Any, region: str) -> None:
    config = {} if region == "us-east-1" else {"LocationConstraint": region}
    for bucket in (SOURCES_BUCKET, THUMBS_BUCKET):
        if config:
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration=config)
        else:
            client.create_bucket(Bucket=bucket)


@pytest.fixture
def aws() -> Iterator[Any]:
    with moto.mock_aws():
        client = boto3.client(
            "s3", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        create_buckets(client, REGION)
        yield client


@pytest.fixture
def s3(aws: Any) -> Iterator[Callable[..., S3Env]]:
    """``s3(backend=..., thumbs={...options}, sources={...}, **settings)`` -> S3Env.

    Switches both restthumbs storages to the S3 aliases for the rest of the test.
    """
    with ExitStack() as stack:

        def configure(
            backend: str = DUMMY,
            thumbs: dict[str, Any] | None = None,
            sources: dict[str, Any] | None = None,
            **settings: Any,
        ) -> S3Env:
            thumbs = thumbs or {"querystring_auth": False}
            return use_s3(stack, aws, backend, sources or {}, thumbs, **settings)

        yield configure


def use_s3(
    stack: ExitStack,
    aws: Any,
    backend: str,
    sources: dict[str, Any],
    thumbs: dict[str, Any],
    **settings: Any,
) -> S3Env:
    """Point both restthumbs storages at the S3 aliases until ``stack`` closes; watch them."""
    setting = storages_setting(
        s3_storage(SOURCES_BUCKET, SOURCES_PREFIX, **sources),
        s3_storage(THUMBS_BUCKET, THUMBS_PREFIX, **thumbs),
    )
    stack.enter_context(
        override_settings(
            STORAGES=setting,
            THUMBNAILS_SOURCE_STORAGE_BACKEND="s3_sources",
            THUMBNAILS_STORAGE_BACKEND="s3_thumbs",
            THUMBNAILS_RESPONSE_BACKEND=backend,
            **settings,
        )
    )
    env = S3Env(aws)
    env.requests.watch("sources", storages["s3_sources"])
    env.requests.watch("thumbs", storages["s3_thumbs"])
    return env


def decoded_size(data: bytes) -> tuple[int, int]:
    with Image.open(BytesIO(data)) as im:
        return im.size


# -- the streaming (default) backend --------------------------------------------


def test_miss_renders_once_and_stores_the_object_with_its_metadata(
    client: Any, s3: Callable[..., S3Env]
) -> None:
    env = s3()
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    response = client.get(thumb.url)
    assert response.status_code == 200
    data = body(response)
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE, PUT_THUMB, GET_THUMB]
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == PUBLIC
    assert response["Content-Length"] == str(len(data))
    assert decoded_size(data) == (100, 100)
    assert env.thumb_keys() == [f"{THUMBS_PREFIX}/{thumb.name}"]
    stored = env.thumb_object(thumb.name)
    assert stored["Data"] == data
    assert stored["ContentType"] == "image/jpeg"
    assert stored["CacheControl"] == PUBLIC


def test_hit_costs_one_get(client: Any, s3: Callable[..., S3Env]) -> None:
    env = s3()
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    first = body(client.get(thumb.url))
    env.requests.take()
    response = client.get(thumb.url)
    assert response.status_code == 200
    assert body(response) == first
    assert env.requests.take() == [GET_THUMB]  # size and time from the GET itself
    assert response["Cache-Control"] == PUBLIC
    stored = env.thumb_object(thumb.name)
    assert response["Content-Length"] == str(stored["ContentLength"])
    assert response["Last-Modified"] == stored["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    assert not response.has_header("Server-Timing")  # nothing rendered


def test_conditional_hit_and_head_request(client: Any, s3: Callable[..., S3Env]) -> None:
    env = s3()
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    first = client.get(thumb.url)
    size = len(body(first))
    env.requests.take()
    revalidated = client.get(thumb.url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert revalidated.status_code == 304
    assert revalidated["ETag"] == first["ETag"]
    assert env.requests.take() == [GET_THUMB]
    head = client.head(thumb.url)
    assert head.status_code == 200
    assert head["Content-Length"] == str(size)
    assert head["ETag"] == first["ETag"]
    assert env.requests.take() == [HEAD_THUMB]  # no body fetched for HEAD


def test_unicode_source_path_under_both_prefixes(client: Any, s3: Callable[..., S3Env]) -> None:
    env = s3()
    source = env.put_source("Tiere/kätzchen mit ü & 100%.jpg")
    thumb = thumbnail(source, "64x48", "scale", ".png")
    response = client.get(thumb.url)
    assert response.status_code == 200
    data = body(response)
    assert env.thumb_keys() == [f"{THUMBS_PREFIX}/{thumb.name}"]
    stored = env.thumb_object(thumb.name)
    assert stored["Data"] == data
    assert stored["ContentType"] == "image/png"
    assert decoded_size(data) == (64, 48)
    assert body(client.get(thumb.url)) == data


# -- what goes into the bucket ------------------------------------------------------


def test_object_parameters_cache_control_wins_content_type_does_not(
    client: Any, s3: Callable[..., S3Env]
) -> None:
    """``object_parameters`` apply (ACL included), but every object gets its format's type."""
    env = s3(
        thumbs={
            "querystring_auth": False,
            "default_acl": "public-read",
            "object_parameters": {
                "CacheControl": "public, max-age=31536000, immutable",
                "ContentType": "application/octet-stream",
            },
        }
    )
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "80x80", "crop", ".webp")
    assert client.get(thumb.url).status_code == 200
    stored = env.thumb_object(thumb.name)
    assert stored["ContentType"] == "image/webp"
    assert stored["CacheControl"] == "public, max-age=31536000, immutable"
    acl = env.client.get_object_acl(Bucket=THUMBS_BUCKET, Key=f"{THUMBS_PREFIX}/{thumb.name}")
    assert {
        (grant["Grantee"].get("URI", "").rsplit("/", 1)[-1], grant["Permission"])
        for grant in acl["Grants"]
    } >= {("AllUsers", "READ")}


def test_file_overwrite_false_never_renames_nor_asks(client: Any, s3: Callable[..., S3Env]) -> None:
    """No ``get_available_name``: one PUT under the exact key, no HEAD before it."""
    env = s3(thumbs={"querystring_auth": False, "file_overwrite": False})
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    assert client.get(thumb.url).status_code == 200
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE, PUT_THUMB, GET_THUMB]
    assert env.thumb_keys() == [f"{THUMBS_PREFIX}/{thumb.name}"]
    # Rewriting an existing key (a second render after a lost race) keeps the key too.
    save_atomically(storages["s3_thumbs"], thumb.name, b"again", "image/jpeg")
    assert env.requests.take() == [PUT_THUMB]
    assert env.thumb_keys() == [f"{THUMBS_PREFIX}/{thumb.name}"]
    assert env.thumb_object(thumb.name)["Data"] == b"again"


def test_save_guesses_the_content_type_without_one(s3: Callable[..., S3Env]) -> None:
    env = s3()
    save_atomically(storages["s3_thumbs"], "a.jpg/10x10/crop/x.png", b"data")
    assert env.thumb_object("a.jpg/10x10/crop/x.png")["ContentType"] == "image/png"


def test_a_private_bucket_stores_private_cache_control(
    client: Any, s3: Callable[..., S3Env]
) -> None:
    env = s3(thumbs={"querystring_auth": True})
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    assert client.get(thumb.url).status_code == 200
    assert env.thumb_object(thumb.name)["CacheControl"] == "private, max-age=2592000"


# -- failures: statuses, request counts, nothing written --------------------------


def test_missing_source_is_404_after_one_get(client: Any, s3: Callable[..., S3Env]) -> None:
    env = s3()
    response = client.get(thumbnail("animals/missing.jpg", "100x100").url)
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE]
    assert env.thumb_keys() == []


def test_source_only_in_another_prefix_is_404(client: Any, s3: Callable[..., S3Env]) -> None:
    """The source storage's ``location`` is applied: a key outside it is not a source."""
    env = s3()
    env.client.put_object(Bucket=SOURCES_BUCKET, Key=KITTEN, Body=images.jpeg_bytes())
    assert client.get(thumbnail(KITTEN, "100x100").url).status_code == 404
    assert env.thumb_keys() == []


@pytest.mark.parametrize(
    "data",
    [b"this is not an image", images.jpeg_bytes((800, 600))[:600]],
    ids=["junk", "truncated"],
)
def test_bad_image_is_422_and_writes_nothing(
    client: Any, s3: Callable[..., S3Env], data: bytes
) -> None:
    env = s3()
    env.put_source("bad.jpg", data)
    response = client.get(thumbnail("bad.jpg", "100x100").url)
    assert response.status_code == 422
    assert response["Cache-Control"] == "no-store"
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE]
    assert env.thumb_keys() == []


def test_source_over_the_byte_limit_is_refused_from_the_get_headers(
    client: Any, s3: Callable[..., S3Env]
) -> None:
    env = s3(THUMBNAILS_MAX_SOURCE_BYTES=1000)
    env.put_source(KITTEN)
    response = client.get(thumbnail(KITTEN, "100x100").url)
    assert response.status_code == 422
    assert b"over the limit of 1000" in response.content
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE]  # no HEAD or size() call
    assert env.thumb_keys() == []


def test_unwritable_bucket_is_503(client: Any, s3: Callable[..., S3Env], aws: Any) -> None:
    """A PutObject that fails (here: the bucket was deleted) is a StorageWriteError."""
    env = s3()
    env.put_source(KITTEN)
    aws.delete_bucket(Bucket=THUMBS_BUCKET)
    response = client.get(thumbnail(KITTEN, "100x100").url)
    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"
    assert b"could not be stored" in response.content
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE, PUT_THUMB]


# -- the redirect backend ------------------------------------------------------------


def test_redirect_to_a_public_bucket(client: Any, s3: Callable[..., S3Env]) -> None:
    env = s3(backend=REDIRECT)
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    for expected in ([*MISS_CHECKS, GET_SOURCE, PUT_THUMB], [HEAD_THUMB]):
        response = client.get(thumb.url)
        assert response.status_code == 302
        assert env.requests.take() == expected  # url() sends nothing
        location = urlsplit(response["Location"])
        assert location.query == ""  # a plain, permanent URL
        assert location.path.endswith(quote(f"/{THUMBS_PREFIX}/{thumb.name}"))
        assert THUMBS_BUCKET in response["Location"]
        assert response["Location"] == storages["s3_thumbs"].url(thumb.name)
        assert response["Cache-Control"] == PUBLIC


def test_redirect_through_a_cdn_domain(client: Any, s3: Callable[..., S3Env]) -> None:
    """A custom domain without a CloudFront key gives plain URLs, even with querystring_auth."""
    env = s3(backend=REDIRECT, thumbs={"custom_domain": "cdn.example.com"})
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    response = client.get(thumb.url)
    assert response.status_code == 302
    assert response["Location"] == f"https://cdn.example.com/{THUMBS_PREFIX}/{thumb.name}"
    assert response["Cache-Control"] == PUBLIC
    assert env.thumb_object(thumb.name)["CacheControl"] == PUBLIC


def test_redirect_to_a_private_bucket_is_presigned_and_privately_cached(
    client: Any, s3: Callable[..., S3Env]
) -> None:
    env = s3(backend=REDIRECT, thumbs={"querystring_auth": True, "querystring_expire": 600})
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    for expected in ([*MISS_CHECKS, GET_SOURCE, PUT_THUMB], [HEAD_THUMB]):
        response = client.get(thumb.url)
        assert response.status_code == 302
        assert env.requests.take() == expected
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query["X-Amz-Expires"] == ["600"]
        assert query["X-Amz-Signature"]
        assert response["Cache-Control"] == "private, max-age=300"  # half the URL's life
        assert "public" not in response["Cache-Control"]


def test_private_redirect_never_outlives_the_cache_max_age(
    client: Any, s3: Callable[..., S3Env]
) -> None:
    env = s3(
        backend=REDIRECT,
        thumbs={"querystring_auth": True, "querystring_expire": 604800},
        THUMBNAILS_CACHE_MAX_AGE=60,
    )
    env.put_source(KITTEN)
    response = client.get(thumbnail(KITTEN, "100x100").url)
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, max-age=60"


@pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")
def test_redirect_to_cloudfront_signed_urls(client: Any, s3: Callable[..., S3Env]) -> None:
    """A custom domain with a CloudFront key signs its URLs: they expire, so private."""
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    env = s3(
        backend=REDIRECT,
        thumbs={
            "custom_domain": "cdn.example.com",
            "querystring_expire": 120,
            "cloudfront_key_id": "K2JCJMDEHXQW5F",
            "cloudfront_key": pem,
        },
    )
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    response = client.get(thumb.url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc == "cdn.example.com"
    assert parse_qs(location.query)["Key-Pair-Id"] == ["K2JCJMDEHXQW5F"]
    assert response["Cache-Control"] == "private, max-age=60"
    assert env.thumb_object(thumb.name)["CacheControl"] == "private, max-age=2592000"


def test_redirect_errors_are_not_redirects(client: Any, s3: Callable[..., S3Env]) -> None:
    s3(backend=REDIRECT, thumbs={"querystring_auth": True})
    response = client.get(thumbnail("missing.jpg", "100x100").url)
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert not response.has_header("Location")


# -- helpers of restthumbs.storage --------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expiry", "cache_control"),
    [
        ({"querystring_auth": False}, None, PUBLIC),
        ({"querystring_auth": True}, 3600, "private, max-age=2592000"),
        ({"querystring_auth": True, "querystring_expire": 30}, 30, "private, max-age=2592000"),
        ({"querystring_auth": True, "custom_domain": "cdn.example.com"}, None, PUBLIC),
        ({"querystring_auth": False, "custom_domain": "cdn.example.com"}, None, PUBLIC),
    ],
)
def test_url_expiry_and_object_cache_control(
    s3: Callable[..., S3Env], options: dict[str, Any], expiry: int | None, cache_control: str
) -> None:
    s3(thumbs=options)
    storage = storages["s3_thumbs"]
    assert is_s3(storage)
    assert url_expiry(storage) == expiry
    assert object_cache_control(url_expiry(storage)) == cache_control


def test_filesystem_storage_is_not_s3(tmp_path: Path) -> None:
    from django.core.files.storage import FileSystemStorage

    storage = FileSystemStorage(location=str(tmp_path))
    assert not is_s3(storage)
    assert url_expiry(storage) is None


# -- management commands on S3 ------------------------------------------------------


def test_warm_then_purge_in_the_buckets(s3: Callable[..., S3Env]) -> None:
    env = s3()
    env.put_source(KITTEN)
    env.put_source("animals/fox.jpg")
    env.client.put_object(Bucket=THUMBS_BUCKET, Key=f"{THUMBS_PREFIX}/unrelated.txt", Body=b"x")
    call_command("thumbnails_warm", "64x64", "crop", ".jpg", stdout=StringIO())
    names = [thumbnail(s, "64x64").name for s in ("animals/fox.jpg", KITTEN)]
    assert env.thumb_keys() == sorted(
        [f"{THUMBS_PREFIX}/{name}" for name in names] + [f"{THUMBS_PREFIX}/unrelated.txt"]
    )
    assert env.thumb_object(names[1])["ContentType"] == "image/jpeg"
    call_command("thumbnails_purge", KITTEN, stdout=StringIO())
    assert env.thumb_keys() == [f"{THUMBS_PREFIX}/{names[0]}", f"{THUMBS_PREFIX}/unrelated.txt"]


# -- a storage that is neither local nor S3 -------------------------------------------


def test_streaming_from_a_storage_without_paths(
    client: Any, write_source: Callable[..., Path], media: Path, thumbs_dir: Path
) -> None:
    """The generic path: size(), get_modified_time() and open() of the storage.

    InMemoryStorage implements ``path()`` (under MEDIA_ROOT), yet is not local:
    the thumbnail must go into the storage, not into a file in the source tree.
    """
    write_source(KITTEN)
    memory = {"BACKEND": "django.core.files.storage.InMemoryStorage"}
    setting = storages_setting({"BACKEND": "django.core.files.storage.FileSystemStorage"}, memory)
    with override_settings(
        STORAGES=setting, THUMBNAILS_STORAGE_BACKEND="s3_thumbs", THUMBNAILS_RESPONSE_BACKEND=DUMMY
    ):
        thumb = thumbnail(KITTEN, "100x100")
        first = client.get(thumb.url)
        data = body(first)
        with storages["s3_thumbs"].open(thumb.name, "rb") as f:
            assert f.read() == data
        second = client.get(thumb.url)
        assert body(second) == data
        assert second["ETag"] == first["ETag"]
        assert second["Content-Type"] == "image/jpeg"
        assert client.get(thumb.url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert files_under(media) == [KITTEN]
    assert files_under(thumbs_dir) == []


# -- S3 failing: throttled, refusing access -------------------------------------------
#
# moto never throttles nor refuses, so these answers are injected. What they
# exercise is real: botocore parses the injected HTTP answer as it would S3's.


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.data


class S3Faults:
    """Answer chosen requests of the watched storages with an S3 error, unsent.

    A ``before-send`` handler that returns a response replaces the HTTP
    exchange; for any request without a rule it returns ``None`` and the
    request goes to moto as usual.
    """

    def __init__(self) -> None:
        self.rules: dict[tuple[str, str], tuple[int, str]] = {}

    def watch(self, label: str, storage: Storage) -> None:
        client = storage.connection.meta.client  # type: ignore[attr-defined]
        client.meta.events.register("before-send.s3", functools.partial(self._answer, label))

    def _answer(self, label: str, event_name: str, request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        rule = self.rules.get((label, event_name.rsplit(".", 1)[-1]))
        if rule is None:
            return None
        status, code = rule
        xml = f"<Error><Code>{code}</Code><Message>Injected by the test.</Message></Error>"
        headers = {"Content-Type": "application/xml", "x-amz-request-id": "TEST"}
        return AWSResponse(request.url, status, headers, _Body(xml.encode()))


#: One attempt: botocore's retries of a 503 would only make these tests slow.
def _one_attempt() -> dict[str, Any]:
    from botocore.config import Config

    return {"client_config": Config(signature_version="s3v4", retries={"total_max_attempts": 1})}


@pytest.fixture
def faults(s3: Callable[..., S3Env]) -> Callable[..., tuple[S3Env, S3Faults]]:
    def configure(backend: str = DUMMY) -> tuple[S3Env, S3Faults]:
        env = s3(
            backend,
            thumbs={"querystring_auth": False, **_one_attempt()},
            sources=_one_attempt(),
        )
        injected = S3Faults()
        injected.watch("sources", storages["s3_sources"])
        injected.watch("thumbs", storages["s3_thumbs"])
        return env, injected

    return configure


def _assert_storage_unavailable(
    response: Any, caplog: pytest.LogCaptureFixture, cause: str
) -> None:
    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"
    assert response["Retry-After"] == "5"
    # The client reads a generic message; bucket, key and S3's code are for the log.
    text = response.content.decode()
    assert "storage is unavailable" in text
    assert THUMBS_BUCKET not in text and SOURCES_BUCKET not in text and "S3" not in text
    refusals = [r for r in caplog.records if getattr(r, "reason", None) == "storage_unavailable"]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.WARNING
    assert refusals[0].status == 503  # type: ignore[attr-defined]
    assert cause in refusals[0].getMessage()


@pytest.mark.parametrize(
    ("backend", "operation"),
    [
        pytest.param(DUMMY, "GetObject", id="streaming"),  # the one-read hit path
        pytest.param(REDIRECT, "HeadObject", id="redirect"),  # the existence check
    ],
)
@pytest.mark.parametrize(
    ("status", "code"), [(503, "SlowDown"), (500, "InternalError"), (403, "AccessDenied")]
)
def test_thumbnail_bucket_failing_is_503_then_recovers(
    client: Any,
    faults: Callable[..., tuple[S3Env, S3Faults]],
    caplog: pytest.LogCaptureFixture,
    backend: str,
    operation: str,
    status: int,
    code: str,
) -> None:
    env, injected = faults(backend)
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    injected.rules[("thumbs", operation)] = (status, code)
    with caplog.at_level(logging.INFO, logger="restthumbs"):
        response = client.get(thumb.url)
    _assert_storage_unavailable(response, caplog, str(status))
    assert env.requests.take() == [("thumbs", operation)]  # nothing read, nothing written
    assert env.thumb_keys() == []

    injected.rules.clear()
    assert client.get(thumb.url).status_code in (200, 302)
    assert env.thumb_keys() == [f"{THUMBS_PREFIX}/{thumb.name}"]


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (403, "AccessDenied")])
def test_source_bucket_failing_is_503_not_404(
    client: Any,
    faults: Callable[..., tuple[S3Env, S3Faults]],
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: str,
) -> None:
    """A source S3 will not give is not a missing source: no 404 for a CDN to believe."""
    env, injected = faults()
    env.put_source(KITTEN)
    thumb = thumbnail(KITTEN, "100x100")
    injected.rules[("sources", "GetObject")] = (status, code)
    with caplog.at_level(logging.INFO, logger="restthumbs"):
        response = client.get(thumb.url)
    _assert_storage_unavailable(response, caplog, f"{status} {code}")
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE]
    assert env.thumb_keys() == []
    injected.rules.clear()
    assert client.get(thumb.url).status_code == 200


def test_a_key_too_long_for_s3_is_a_missing_source(
    client: Any, faults: Callable[..., tuple[S3Env, S3Faults]]
) -> None:
    """S3 answers 400 KeyTooLongError for a key over 1,024 bytes (moto does not check)."""
    env, injected = faults()
    injected.rules[("thumbs", "GetObject")] = (400, "KeyTooLongError")
    injected.rules[("thumbs", "HeadObject")] = (400, "KeyTooLongError")
    injected.rules[("sources", "GetObject")] = (400, "KeyTooLongError")
    response = client.get(thumbnail("é" * 600 + "/kitten.jpg", "100x100").url)
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert env.requests.take() == [*STREAM_MISS_CHECKS, GET_SOURCE]
    assert env.thumb_keys() == []
