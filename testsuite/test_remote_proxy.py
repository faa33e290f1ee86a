"""Tests for :mod:`restthumbs.remote.proxy`, spoken to as Chromium would, without a browser."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from django.test import override_settings

from restthumbs.exceptions import RemoteAddressRefused, RemoteRefused
from restthumbs.remote.policy import site_policy
from restthumbs.remote.proxy import FilteringProxy

from .harness.origin import Origin, Route, origin_server
from .remote_support import ALLOWED


@pytest.fixture
def origin() -> Iterator[Origin]:
    with origin_server() as server:
        server.routes["/a"] = Route(body=b"hello", headers={"Content-Type": "text/plain"})
        yield server


@pytest.fixture
def proxy() -> Iterator[FilteringProxy]:
    with override_settings(
        THUMBNAILS_REMOTE_ALLOWED_NETWORKS=ALLOWED,
        THUMBNAILS_REMOTE_HOSTS={"internal.test": ["127.0.0.2"], "site.test": ["127.0.0.1"]},
    ):
        policy = site_policy()
    deadline = time.monotonic() + 10
    with FilteringProxy(policy, connect_timeout=2, deadline=deadline, max_bytes=1000) as p:
        p.armed.set()
        yield p


def ask(proxy: FilteringProxy, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def test_a_get_goes_to_the_checked_address_with_its_host_header(
    proxy: FilteringProxy, origin: Origin
) -> None:
    answer = ask(
        proxy,
        f"GET http://site.test:{origin.port}/a HTTP/1.1\r\nHost: site.test:{origin.port}\r\n"
        "Proxy-Connection: keep-alive\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello")
    assert origin.seen[0].host == f"site.test:{origin.port}"
    assert proxy.refusals == []


@pytest.mark.parametrize(
    ("request_line", "error"),
    [
        ("CONNECT internal.test:443 HTTP/1.1", RemoteAddressRefused),
        ("CONNECT 10.0.0.1:443 HTTP/1.1", RemoteAddressRefused),
        ("CONNECT [::ffff:127.0.0.1]:443 HTTP/1.1", RemoteAddressRefused),
        ("GET http://169.254.169.254/latest/meta-data/ HTTP/1.1", RemoteAddressRefused),
        ("GET http://internal.test/ HTTP/1.1", RemoteAddressRefused),
        ("GET ftp://example.com/ HTTP/1.1", RemoteRefused),
        ("GET /relative HTTP/1.1", RemoteRefused),
        ("GET http://user@site.test/ HTTP/1.1", RemoteRefused),
    ],
)
def test_a_request_the_rules_refuse_is_a_403_and_recorded(
    proxy: FilteringProxy, request_line: str, error: type[Exception]
) -> None:
    answer = ask(proxy, f"{request_line}\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403")
    assert len(proxy.refusals) == 1 and isinstance(proxy.refusals[0], error)


def test_the_proxy_itself_is_refused(proxy: FilteringProxy) -> None:
    answer = ask(proxy, f"CONNECT 127.0.0.1:{proxy.port} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403")


def test_a_request_before_the_page_is_refused_unsent(origin: Origin) -> None:
    policy = site_policy()
    with FilteringProxy(
        policy, connect_timeout=2, deadline=time.monotonic() + 5, max_bytes=10
    ) as p:
        answer = ask(p, f"GET http://127.0.0.1:{origin.port}/a HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403") and origin.seen == [] and p.refusals == []


def test_bytes_over_the_budget_close_the_connection(proxy: FilteringProxy, origin: Origin) -> None:
    origin.routes["/big"] = Route(body=b"x" * 5000)
    answer = ask(proxy, f"GET http://127.0.0.1:{origin.port}/big HTTP/1.1\r\n\r\n".encode())
    assert len(answer) < 5000 and proxy.over_budget
