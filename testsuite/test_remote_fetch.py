"""Tests for :mod:`restthumbs.remote.fetch` and :mod:`.net` against real local origins.

Origins are :class:`testsuite.harness.origin.Origin` servers in threads on
loopback: ``127.0.0.1`` is allowed (the one network the tests allow), an
origin on ``127.0.0.2`` plays an internal host that must never be reached, and
host names get their addresses from ``THUMBNAILS_REMOTE_HOSTS``.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from restthumbs.exceptions import (
    OriginTimeout,
    OriginUnavailable,
    RemoteAddressRefused,
    RemoteNotAnImage,
    RemoteRefused,
    RemoteTooLarge,
    RemoteTooManyRedirects,
    SourceNotFound,
)
from restthumbs.remote.fetch import Fetched, Limits, fetch_image
from restthumbs.remote.naming import parse_url
from restthumbs.remote.policy import image_policy

from .harness import free_port
from .harness.origin import Origin, Route, origin_server
from .remote_support import counting_resolver, jpeg_bytes, make_ca, png_bytes, remote_settings

LIMITS = Limits(connect_timeout=2, timeout=5, max_bytes=1_000_000, max_redirects=3)


@pytest.fixture
def origin() -> Iterator[Origin]:
    with origin_server() as server:
        yield server


@pytest.fixture
def internal() -> Iterator[Origin]:
    """An origin on 127.0.0.2: to the rules, an internal host like 10.0.0.1."""
    with origin_server("127.0.0.2") as server:
        yield server


def fetch(url: str, limits: Limits = LIMITS, **settings: object) -> Fetched:
    allowed = settings.pop("allowed", None) or [
        url.split("/", 3)[0] + "//" + url.split("/")[2] + "/"
    ]
    with remote_settings(allowed, **settings):  # type: ignore[arg-type]
        return fetch_image(parse_url(url), image_policy(), limits)


def test_an_image_is_fetched_and_sniffed(origin: Origin) -> None:
    origin.routes["/cat.png"] = Route(body=png_bytes(), headers={"Content-Type": "text/html"})
    fetched = fetch(origin.url("/cat.png"))
    assert (fetched.format, fetched.content_type) == ("PNG", "image/png")
    assert origin.count("/cat.png") == 1
    assert origin.seen[0].host == f"127.0.0.1:{origin.port}"


def test_a_host_name_is_resolved_by_the_setting_and_sent_as_host(origin: Origin) -> None:
    origin.routes["/a.jpg"] = Route(body=jpeg_bytes())
    fetched = fetch(
        origin.url("/a.jpg", host="images.test"),
        THUMBNAILS_REMOTE_HOSTS={"images.test": ["127.0.0.1"]},
    )
    assert fetched.format == "JPEG"
    assert origin.seen[0].host == f"images.test:{origin.port}"


def test_a_name_that_resolves_to_a_private_address_is_refused_unconnected(
    internal: Origin,
) -> None:
    internal.routes["/a.jpg"] = Route(body=jpeg_bytes())
    for addresses in (["127.0.0.2"], ["10.0.0.1"], ["127.0.0.1", "127.0.0.2"], ["::1"]):
        with pytest.raises(RemoteAddressRefused):
            fetch(
                internal.url("/a.jpg", host="evil.test"),
                THUMBNAILS_REMOTE_HOSTS={"evil.test": addresses},
            )
    assert internal.seen == []


def test_the_system_resolver_is_asked_once_and_the_checked_address_connected(
    origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a second lookup would answer a private address; there is none."""
    origin.routes["/a.jpg"] = Route(body=jpeg_bytes())
    with counting_resolver(monkeypatch, [["127.0.0.1"], ["10.0.0.1"]]) as asked:
        fetch(origin.url("/a.jpg", host="rebind.test"))
    assert asked == ["rebind.test"]
    assert origin.count("/a.jpg") == 1


def test_every_address_of_a_name_is_checked_before_any_is_tried(
    origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin.routes["/a.jpg"] = Route(body=jpeg_bytes())
    with counting_resolver(monkeypatch, [["127.0.0.1", "10.0.0.1"]]):
        with pytest.raises(RemoteAddressRefused):
            fetch(origin.url("/a.jpg", host="mixed.test"))
    assert origin.seen == []


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.2:{internal}/a.jpg",  # another loopback address: not allowed
        "http://10.0.0.1/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{internal}/a.jpg",
        "http://[::ffff:127.0.0.1]:{port}/a.jpg",
        "http://internal.test:{internal}/a.jpg",  # a name of 127.0.0.2
    ],
)
def test_a_redirect_to_an_address_not_allowed_is_refused(
    origin: Origin, internal: Origin, location: str
) -> None:
    internal.routes["/a.jpg"] = Route(body=jpeg_bytes())
    target = location.format(internal=internal.port, port=origin.port)
    origin.routes["/r"] = Route(status=302, headers={"Location": target})
    allowed = [origin.url("/"), f"http://127.0.0.2:{internal.port}/", "http://10.0.0.1/"]
    allowed += ["http://169.254.169.254/", f"http://[::1]:{internal.port}/"]
    allowed += [
        f"http://[::ffff:127.0.0.1]:{origin.port}/",
        f"http://internal.test:{internal.port}/",
    ]
    with pytest.raises(RemoteAddressRefused):
        fetch(
            origin.url("/r"),
            allowed=allowed,
            THUMBNAILS_REMOTE_HOSTS={"internal.test": ["127.0.0.2"]},
        )
    assert internal.seen == []


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://example.com/a.jpg", "http://other.example/a.jpg"]
)
def test_a_redirect_outside_the_prefixes_or_schemes_is_refused(
    origin: Origin, location: str
) -> None:
    origin.routes["/r"] = Route(status=301, headers={"Location": location})
    with pytest.raises(RemoteRefused) as caught:
        fetch(origin.url("/r"))
    assert location in (caught.value.detail or "")


def test_redirects_are_followed_up_to_the_limit(origin: Origin) -> None:
    origin.routes["/a.jpg"] = Route(body=jpeg_bytes())
    for i in range(3):
        origin.routes[f"/r{i}"] = Route(status=307, headers={"Location": f"/r{i + 1}"})
    origin.routes["/r3"] = Route(status=308, headers={"Location": origin.url("/a.jpg")})
    assert fetch(origin.url("/r1")).url == parse_url(origin.url("/a.jpg"))
    with pytest.raises(RemoteTooManyRedirects):
        fetch(origin.url("/r0"))
    assert origin.count("/r0") == 1 and origin.count("/a.jpg") == 1  # 4 hops, no fifth


def test_a_body_announced_too_large_is_refused_before_it_is_read(origin: Origin) -> None:
    origin.routes["/big.jpg"] = Route(body=jpeg_bytes(), length=50_000_000, drip=0.01)
    start = time.monotonic()
    with pytest.raises(RemoteTooLarge):
        fetch(origin.url("/big.jpg"))
    assert time.monotonic() - start < 2


def test_a_body_that_grows_past_the_limit_is_cut_while_streaming(origin: Origin) -> None:
    body = png_bytes((800, 600))
    origin.routes["/big.png"] = Route(body=body, length=-1)  # no Content-Length
    small = Limits(connect_timeout=2, timeout=5, max_bytes=len(body) // 4, max_redirects=0)
    with pytest.raises(RemoteTooLarge):
        fetch(origin.url("/big.png"), small)


@pytest.mark.parametrize(
    "route", [Route(body=b"x" * 200, drip=0.05), Route(body=b"x", delay=5), Route(hang=True)]
)
def test_a_slow_origin_is_cut_at_the_total_time_limit(origin: Origin, route: Route) -> None:
    origin.routes["/slow.jpg"] = route
    quick = Limits(connect_timeout=2, timeout=1, max_bytes=1_000_000, max_redirects=0)
    start = time.monotonic()
    with pytest.raises(OriginTimeout):
        fetch(origin.url("/slow.jpg"), quick)
    assert time.monotonic() - start < 2


def test_an_origin_that_is_down_is_unavailable() -> None:
    port = free_port()
    with pytest.raises(OriginUnavailable) as caught:
        fetch(f"http://127.0.0.1:{port}/a.jpg")
    assert not isinstance(caught.value, OriginTimeout)


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, SourceNotFound), (410, SourceNotFound), (403, OriginUnavailable), (500, OriginUnavailable), (503, OriginUnavailable), (304, OriginUnavailable)],
)  # fmt: skip
def test_an_error_status_is_a_missing_source_or_an_unavailable_origin(
    origin: Origin, status: int, error: type[Exception]
) -> None:
    origin.routes["/a.jpg"] = Route(status=status, body=b"no")
    with pytest.raises(error):
        fetch(origin.url("/a.jpg"))


@pytest.mark.parametrize(
    "body", [b"<html>not an image</html>", b"", b"GIF89a", b"%PDF-1.4", b"<svg xmlns='x'/>"]
)
def test_the_content_type_is_sniffed_never_trusted(origin: Origin, body: bytes) -> None:
    origin.routes["/a.jpg"] = Route(body=body, headers={"Content-Type": "image/jpeg"})
    with pytest.raises(RemoteNotAnImage):
        fetch(origin.url("/a.jpg"))


@pytest.fixture
def tls_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Origin]:
    """An HTTPS origin with a certificate for images.test, signed by a CA the client trusts."""
    ca = make_ca(tmp_path, ["images.test"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca.cert_file, ca.key_file)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_file))
    with origin_server(tls=context) as server:
        yield server


def test_https_connects_to_the_checked_address_with_the_name_in_sni_and_host(
    tls_origin: Origin,
) -> None:
    tls_origin.routes["/a.jpg"] = Route(body=jpeg_bytes())
    fetched = fetch(
        tls_origin.url("/a.jpg", host="images.test"),
        THUMBNAILS_REMOTE_HOSTS={"images.test": ["127.0.0.1"]},
    )
    assert fetched.format == "JPEG"
    seen = tls_origin.seen[0]
    assert (seen.sni, seen.host) == ("images.test", f"images.test:{tls_origin.port}")


def test_https_verifies_the_certificate_against_the_name(tls_origin: Origin) -> None:
    tls_origin.routes["/a.jpg"] = Route(body=jpeg_bytes())
    with pytest.raises(OriginUnavailable) as caught:
        fetch(
            tls_origin.url("/a.jpg", host="other.test"),
            THUMBNAILS_REMOTE_HOSTS={"other.test": ["127.0.0.1"]},
        )
    assert "certificate" in (caught.value.detail or "").lower()
    assert tls_origin.seen == []
