"""Tests for :mod:`restthumbs.remote.policy`: URL prefixes and address rules."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from restthumbs.exceptions import RemoteAddressRefused, RemoteRefused
from restthumbs.remote.naming import parse_url
from restthumbs.remote.policy import Policy, Prefix, image_policy, parse_network, special_range

#: (prefix, URL, allowed?)
PREFIX_CASES = [
    ("https://good.example", "https://good.example/a.jpg", True),
    ("https://good.example", "https://good.example", True),
    ("https://good.example", "https://GOOD.example./a.jpg", True),
    ("https://good.example", "https://good.example.evil.example/a.jpg", False),
    ("https://good.example", "https://evil.example/good.example/a.jpg", False),
    ("https://good.example", "https://xgood.example/a.jpg", False),
    ("https://good.example", "http://good.example/a.jpg", False),
    ("https://good.example", "https://good.example:8443/a.jpg", False),
    ("https://good.example:8443", "https://good.example:8443/a.jpg", True),
    ("https://good.example:443/", "https://good.example/a.jpg", True),
    ("https://cdn.example/images", "https://cdn.example/images", True),
    ("https://cdn.example/images", "https://cdn.example/images/a.jpg", True),
    ("https://cdn.example/images", "https://cdn.example/images2/a.jpg", False),
    ("https://cdn.example/images", "https://cdn.example/imagesa.jpg", False),
    ("https://cdn.example/images", "https://cdn.example/%69mages/a.jpg", True),
    ("https://cdn.example/images", "https://cdn.example/a/../images/a.jpg", True),
    ("https://cdn.example/images", "https://cdn.example/images/../secret.jpg", False),
    ("https://cdn.example/images/", "https://cdn.example/images/a.jpg", True),
    ("https://cdn.example/images/", "https://cdn.example/images", False),
    ("https://*.example.com", "https://a.example.com/x.jpg", True),
    ("https://*.example.com", "https://a.b.example.com/x.jpg", True),
    ("https://*.example.com", "https://example.com/x.jpg", False),
    ("https://*.example.com", "https://badexample.com/x.jpg", False),
    ("https://*.example.com", "https://example.com.evil.example/x.jpg", False),
    ("https://", "https://anything.example/x.jpg", True),
    ("https://", "https://anything.example:8443/x.jpg", False),
    ("https://", "http://anything.example/x.jpg", False),
    ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/a.jpg", True),
    ("http://127.0.0.1:8000/", "http://localhost:8000/a.jpg", False),
    ("https://bücher.example/", "https://xn--bcher-kva.example/a.jpg", True),
]


@pytest.mark.parametrize(("prefix", "url", "allowed"), PREFIX_CASES)
def test_a_prefix_matches_scheme_host_port_and_whole_segments(
    prefix: str, url: str, allowed: bool
) -> None:
    assert Prefix.parse(prefix).matches(parse_url(url)) is allowed


@pytest.mark.parametrize(
    "prefix",
    [
        "example.com",
        "ftp://example.com/",
        "https://user@example.com/",
        "https://example.com/?q=1",
        "https://example.com/#top",
        "https://*.1.2.3.4/",
        "https://exa mple.com/",
        "https://127.1/",
    ],
)
def test_a_prefix_that_is_not_one_is_a_value_error(prefix: str) -> None:
    with pytest.raises(ValueError):
        Prefix.parse(prefix)


def test_credentials_never_pass_whatever_the_prefix() -> None:
    with pytest.raises(RemoteRefused):
        Policy((Prefix.parse("https://good.example"),)).check_url(
            parse_url("https://good.example@evil.example/")
        )


#: (address, why it is refused by default)
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "non-public"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "IPv4-mapped IPv6"),
    ("::ffff:10.0.0.1", "IPv4-mapped IPv6"),
    ("::ffff:8.8.8.8", "IPv4-mapped IPv6"),
    ("::7f00:1", "IPv4-compatible"),
    ("2002:7f00:1::1", "6to4"),
    ("64:ff9b::7f00:1", "NAT64"),
    ("2001:db8::1", "private"),
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_special_addresses_are_refused_by_default(address: str, kind: str) -> None:
    ip = ipaddress.ip_address(address)
    assert special_range(ip) == kind
    with pytest.raises(RemoteAddressRefused) as caught:
        Policy(()).check_address("h.example", ip)
    assert kind in (caught.value.detail or "")


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "1.1.1.1"])
def test_public_addresses_are_allowed(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert special_range(ip) is None
    Policy(()).check_address("h.example", ip)


def test_an_allowed_network_allows_exactly_its_addresses() -> None:
    policy = Policy(
        (),
        allowed_networks=(parse_network("10.1.2.3/32"), parse_network("127.0.0.1")),
    )
    policy.check_address("images.internal", ipaddress.ip_address("10.1.2.3"))
    policy.check_address("localhost", ipaddress.ip_address("127.0.0.1"))
    for other in (
        "10.1.2.4",
        "10.0.0.1",
        "127.0.0.2",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
    ):
        with pytest.raises(RemoteAddressRefused):
            policy.check_address("h", ipaddress.ip_address(other))


def test_a_mapped_address_is_allowed_only_by_a_network_that_names_it() -> None:
    policy = Policy((), allowed_networks=(parse_network("::ffff:127.0.0.1/128"),))
    policy.check_address("h", ipaddress.ip_address("::ffff:127.0.0.1"))
    with pytest.raises(RemoteAddressRefused):
        policy.check_address("h", ipaddress.ip_address("127.0.0.1"))


def test_a_denied_network_refuses_public_addresses_and_wins_over_allowed() -> None:
    denied = parse_network("93.184.216.0/24")
    policy = Policy((), allowed_networks=(denied,), denied_networks=(denied,))
    with pytest.raises(RemoteAddressRefused) as caught:
        policy.check_address("example.com", ipaddress.ip_address("93.184.216.34"))
    assert "THUMBNAILS_REMOTE_DENIED_NETWORKS" in (caught.value.detail or "")
    policy.check_address("dns.google", ipaddress.ip_address("8.8.8.8"))


def test_the_policy_is_read_from_the_settings() -> None:
    with override_settings(
        THUMBNAILS_REMOTE_ALLOWED_URLS=["https://cdn.example/images/"],
        THUMBNAILS_REMOTE_ALLOWED_NETWORKS=["10.1.2.3/32"],
        THUMBNAILS_REMOTE_HOSTS={"Images.Internal": ["10.1.2.3"]},
    ):
        policy = image_policy()
        policy.check_url(parse_url("https://cdn.example/images/a.jpg"))
        with pytest.raises(RemoteRefused):
            policy.check_url(parse_url("https://cdn.example/other/a.jpg"))
        assert policy.hosts == {"images.internal": (ipaddress.ip_address("10.1.2.3"),)}
    with override_settings(THUMBNAILS_REMOTE_ALLOWED_URLS=[]):
        with pytest.raises(RemoteRefused):
            image_policy().check_url(parse_url("https://cdn.example/images/a.jpg"))


@pytest.mark.parametrize(
    "settings",
    [
        {"THUMBNAILS_REMOTE_ALLOWED_URLS": ["cdn.example"]},
        {"THUMBNAILS_REMOTE_ALLOWED_NETWORKS": ["10.1.2.3/8"]},
        {"THUMBNAILS_REMOTE_DENIED_NETWORKS": ["not a network"]},
        {"THUMBNAILS_REMOTE_HOSTS": {"images.internal": ["not an address"]}},
    ],
)
def test_bad_rules_are_improperly_configured(settings: dict[str, object]) -> None:
    with override_settings(**settings), pytest.raises(ImproperlyConfigured):
        image_policy()
