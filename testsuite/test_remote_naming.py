"""Tests for :mod:`restthumbs.remote.naming`: the mapping a remote URL <-> a source path.

The table below is the one in docs/remote.md.
"""

from __future__ import annotations

import pytest

from restthumbs.exceptions import InvalidSourcePath, RemoteRefused
from restthumbs.remote.naming import parse_url, to_source_path, url_of
from restthumbs.spec import validate_source_path

#: (URL as given, its source path under "remote", the URL fetched).
MAPPING = [
    ("https://example.com/cat.jpg", "remote/https/example.com/cat.jpg", None),
    ("HTTP://Example.COM:80/a/b.png", "remote/http/example.com/a/b.png", "http://example.com/a/b.png"),
    ("https://example.com:8443/x.jpg", "remote/https/example.com:8443/x.jpg", None),
    (
        "https://Bücher.example/covers/a b.jpg",
        "remote/https/xn--bcher-kva.example/covers/a%20b.jpg",
        "https://xn--bcher-kva.example/covers/a%20b.jpg",
    ),
    ("https://example.com/€.jpg", "remote/https/example.com/%E2%82%AC.jpg", "https://example.com/%E2%82%AC.jpg"),
    ("https://example.com/%7euser/%e2%82%ac.jpg", "remote/https/example.com/~user/%E2%82%AC.jpg", "https://example.com/~user/%E2%82%AC.jpg"),
    ("https://example.com/img?w=200&h=100", "remote/https/example.com/img?w=200&h=100", None),
    (
        "https://example.com/img?u=http://x/y",
        "remote/https/example.com/img?u=http:%2F%2Fx%2Fy",
        "https://example.com/img?u=http:%2F%2Fx%2Fy",
    ),
    ("https://example.com/docs/", "remote/https/example.com/docs/?", None),
    ("https://example.com/docs/?page=2", "remote/https/example.com/docs/?page=2", None),
    ("https://example.com/", "remote/https/example.com", None),
    ("https://example.com", "remote/https/example.com", "https://example.com/"),
    ("https://example.com/?q=1", "remote/https/example.com/?q=1", None),
    ("https://example.com/a.jpg#top", "remote/https/example.com/a.jpg", "https://example.com/a.jpg"),
    ("https://example.com/a/./b/../c.jpg", "remote/https/example.com/a/c.jpg", "https://example.com/a/c.jpg"),
    ("https://example.com./a.jpg", "remote/https/example.com/a.jpg", "https://example.com/a.jpg"),
    ("https://[2001:DB8::1]:8080/a.jpg", "remote/https/[2001:db8::1]:8080/a.jpg", "https://[2001:db8::1]:8080/a.jpg"),
    ("http://93.184.216.34/a.jpg", "remote/http/93.184.216.34/a.jpg", None),
]  # fmt: skip


@pytest.mark.parametrize(("url", "source_path", "fetched"), MAPPING)
def test_a_url_maps_to_one_source_path_and_back(
    url: str, source_path: str, fetched: str | None
) -> None:
    assert to_source_path(url, "remote") == source_path
    assert validate_source_path(source_path) == source_path
    name = source_path.partition("/")[2]
    assert str(url_of(name)) == (fetched or url)
    assert to_source_path(url_of(name), "remote") == source_path


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.jpg",
        "file:///etc/passwd",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "chrome://settings/",
        "https://user:pw@example.com/a.jpg",
        "https://good.example@evil.example/",
        "https://good.example\\@evil.example/",
        "https://127.1/",
        "https://2130706433/",
        "https://0x7f.0.0.1/",
        "https://017700000001/",
        "http://exa mple.com/",
        "https://example.com/a\nb",
        " https://example.com/",
        "https://[fe80::1%25eth0]/",
        "https:///a.jpg",
        "https://exa%6dple.com/",
        "https://example.com:0/",
        "https://example.com:99999/",
        "https://-bad-.example/",
    ],
)
def test_a_url_that_is_not_plain_http_or_https_is_refused(url: str) -> None:
    with pytest.raises(RemoteRefused):
        to_source_path(url, "remote")


def test_a_url_with_an_empty_path_segment_has_no_source_path() -> None:
    with pytest.raises(RemoteRefused) as caught:
        to_source_path("https://example.com/a//b.jpg", "remote")
    assert "empty path segment" in (caught.value.detail or "")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("https/Example.com/a.jpg", "https/example.com/a.jpg"),
        ("https/example.com:443/a.jpg", "https/example.com/a.jpg"),
        ("https/example.com/a.jpg?", "https/example.com/a.jpg"),
        ("https/example.com/%7e.jpg", "https/example.com/~.jpg"),
        ("https/example.com/a b.jpg", "https/example.com/a%20b.jpg"),
        ("https/bücher.example/a.jpg", "https/xn--bcher-kva.example/a.jpg"),
    ],
)
def test_a_name_that_is_not_canonical_is_refused_with_the_canonical_one(
    name: str, canonical: str
) -> None:
    with pytest.raises(InvalidSourcePath) as caught:
        url_of(name)
    assert repr(canonical) in (caught.value.detail or "")
    assert to_source_path(url_of(canonical), "") == canonical


@pytest.mark.parametrize(
    "name", ["https", "https/", "ftp/example.com/a.jpg", "https/u@example.com/a"]
)
def test_a_name_that_holds_no_url_is_refused(name: str) -> None:
    with pytest.raises((InvalidSourcePath, RemoteRefused)):
        url_of(name)


def test_the_parsed_url_keeps_the_port_and_the_host_header_form() -> None:
    url = parse_url("https://[::1]:8443/a?b=c")
    assert (url.host, url.port, url.netloc, url.target) == ("::1", 8443, "[::1]:8443", "/a?b=c")
    assert parse_url("http://example.com/").netloc == "example.com"


def test_remote_source_and_its_template_filter() -> None:
    from django.template import Context, Template
    from django.test import override_settings

    from restthumbs.remote import remote_source

    assert remote_source("https://example.com/a.jpg") == "remote/https/example.com/a.jpg"
    assert remote_source("https://example.com/", "site") == "site/https/example.com"
    page = Template(
        '{% load thumbnail restthumbs_remote %}{% thumbnail url|remote_source "10x10" "crop" ".jpg" %}'
        '|{{ url|remote_source:"site" }}'
    )
    with override_settings(THUMBNAILS_DEBUG=False):
        rendered = page.render(Context({"url": "https://example.com/a.jpg"}))
        assert rendered.startswith("/remote/https/example.com/a.jpg/10x10/crop/")
        assert rendered.endswith("|site/https/example.com/a.jpg")
        assert page.render(Context({"url": "file:///etc/passwd"})) == "|"
    with override_settings(THUMBNAILS_DEBUG=True), pytest.raises(RemoteRefused):
        page.render(Context({"url": "file:///etc/passwd"}))
