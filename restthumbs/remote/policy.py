"""What restthumbs agrees to fetch: URL prefixes and address rules (docs/remote.md).

Two rules, both applied to every request, redirects and (for web pages) every
request of the browser included:

- **URL prefixes** (``THUMBNAILS_REMOTE_ALLOWED_URLS`` for images,
  ``THUMBNAILS_SITE_ALLOWED_URLS`` for the pages asked for). A prefix is parsed
  like a URL and compared part by part, never as a string: the scheme, the host
  (exactly; ``*.example.com`` for its subdomains; none, ``https://``, for any),
  the port (the scheme's default unless the prefix names one) and whole path
  segments. ``https://good.example`` does not let ``https://good.example@evil.example/``
  (credentials are refused outright), ``https://good.example.evil.example/`` or
  ``https://good.example/images2`` through a prefix ``https://good.example/images``.
- **Addresses**: every address a host resolves to must be public; loopback,
  private, shared (100.64/10), link-local, multicast, unspecified, reserved,
  IPv4-mapped, IPv4-compatible, 6to4 and NAT64 addresses are refused unless a
  network of ``THUMBNAILS_REMOTE_ALLOWED_NETWORKS`` holds the address, and
  ``THUMBNAILS_REMOTE_DENIED_NETWORKS`` refuses public ones too (and wins).

Pure: no I/O here. :mod:`.net` resolves and connects, asking this module.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from ..conf import app_settings
from ..exceptions import RemoteAddressRefused, RemoteRefused
from .naming import SCHEMES, RemoteURL, normalize_host, parse_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: IPv6 ranges that carry an IPv4 address somewhere the IPv4 rules would not see it.
EMBEDDING_IPV4 = {
    "IPv4-compatible": ipaddress.IPv6Network("::/96"),
    "6to4": ipaddress.IPv6Network("2002::/16"),
    "NAT64": ipaddress.IPv6Network("64:ff9b::/96"),
    "local NAT64": ipaddress.IPv6Network("64:ff9b:1::/48"),
}


@dataclass(frozen=True)
class Prefix:
    """One allowed URL prefix, parsed."""

    scheme: str
    host: str | None  # None: any host
    subdomains: bool  # "*.example.com": strictly below host
    port: int
    segments: tuple[str, ...]
    directory: bool  # the prefix's path ends with "/": the URL must go below it

    @classmethod
    def parse(cls, text: str) -> Prefix:
        """Parse ``text``; ``ValueError`` says what is wrong (the system checks show it)."""
        scheme, sep, rest = text.partition("://")
        if not sep or scheme.lower() not in SCHEMES:
            raise ValueError(f"{text!r} does not start with http:// or https://")
        netloc = rest.split("/", 1)[0]
        if any(char in text for char in "?#@"):
            raise ValueError(f"{text!r} has a query, a fragment or credentials")
        subdomains = netloc.startswith("*.")
        probe = f"{scheme}://{netloc[2:] if subdomains else netloc or 'any.invalid'}/{rest[len(netloc) + 1 :]}"
        try:
            url = parse_url(probe)
        except RemoteRefused as e:
            raise ValueError(f"{text!r} is not a URL prefix: {e.detail}") from e
        if url.ip is not None and subdomains:
            raise ValueError(f"{text!r}: an address has no subdomains")
        path = url.path[1:]
        directory = path.endswith("/")
        segments = tuple(path.rstrip("/").split("/")) if path.strip("/") else ()
        return cls(
            url.scheme, url.host if netloc else None, subdomains, url.port, segments, directory
        )

    def matches(self, url: RemoteURL) -> bool:
        if url.scheme != self.scheme or url.port != self.port:
            return False
        if self.host is not None:
            if self.subdomains:
                if not url.host.endswith("." + self.host):
                    return False
            elif url.host != self.host:
                return False
        parts = url.path[1:].split("/")
        if tuple(parts[: len(self.segments)]) != self.segments:
            return False
        return not self.directory or len(parts) > len(self.segments)


def parse_network(text: str) -> IPNetwork:
    """``"10.1.2.3/32"``, ``"10.1.2.3"`` (one address) or ``"fd00::/8"``; ``ValueError`` else."""
    return ipaddress.ip_network(text, strict=True)


def special_range(ip: IPAddress) -> str | None:
    """Why ``ip`` is not an ordinary public address (``"loopback"``...), or ``None``."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "IPv4-mapped IPv6"
        if ip.is_unspecified or ip.is_loopback:
            return "unspecified" if ip.is_unspecified else "loopback"
        for name, network in EMBEDDING_IPV4.items():
            if ip in network:
                return name
    kinds = (
        "unspecified",
        "loopback",
        "link_local",
        "site_local",
        "multicast",
        "reserved",
        "private",
    )
    for name in kinds:
        if getattr(ip, f"is_{name}", False):
            return name.replace("_", "-")
    if not ip.is_global:
        return "non-public"
    return None


@dataclass(frozen=True)
class Policy:
    """The rules one kind of remote source is fetched under."""

    prefixes: tuple[Prefix, ...]
    allowed_networks: tuple[IPNetwork, ...] = ()
    denied_networks: tuple[IPNetwork, ...] = ()
    hosts: dict[str, tuple[IPAddress, ...]] = field(default_factory=dict)
    prefix_setting: str = "THUMBNAILS_REMOTE_ALLOWED_URLS"

    def check_url(self, url: RemoteURL) -> None:
        """Refuse a URL no prefix allows (:class:`RemoteRefused`)."""
        if not any(prefix.matches(url) for prefix in self.prefixes):
            raise RemoteRefused(detail=f"{url} matches no prefix of {self.prefix_setting}")

    def check_address(self, host: str, ip: IPAddress) -> None:
        """Refuse an address the network rules do not allow (:class:`RemoteAddressRefused`)."""
        for network in self.denied_networks:
            if ip in network:
                raise RemoteAddressRefused(
                    detail=f"{host} is {ip}, in THUMBNAILS_REMOTE_DENIED_NETWORKS ({network})"
                )
        if any(ip in network for network in self.allowed_networks):
            return
        kind = special_range(ip)
        if kind is not None:
            raise RemoteAddressRefused(
                detail=f"{host} is {ip}, a {kind} address (not in THUMBNAILS_REMOTE_ALLOWED_NETWORKS)"
            )


def _networks(setting: str, values: list[str]) -> tuple[IPNetwork, ...]:
    try:
        return tuple(parse_network(value) for value in values)
    except (TypeError, ValueError) as e:
        raise ImproperlyConfigured(f"{setting}: {e}") from e


def _prefixes(setting: str, values: list[str]) -> tuple[Prefix, ...]:
    try:
        return tuple(Prefix.parse(value) for value in values)
    except (TypeError, ValueError) as e:
        raise ImproperlyConfigured(f"{setting}: {e}") from e


def parse_hosts(hosts: dict[str, list[str]]) -> dict[str, tuple[IPAddress, ...]]:
    """``THUMBNAILS_REMOTE_HOSTS`` with normalised names and parsed addresses."""
    try:
        return {
            normalize_host(name): tuple(ipaddress.ip_address(a) for a in addresses)
            for name, addresses in hosts.items()
        }
    except (TypeError, ValueError, RemoteRefused) as e:
        raise ImproperlyConfigured(f"THUMBNAILS_REMOTE_HOSTS: {e}") from e


def _build(prefix_setting: str, prefixes: list[str]) -> Policy:
    return Policy(
        prefixes=_prefixes(prefix_setting, prefixes),
        allowed_networks=_networks(
            "THUMBNAILS_REMOTE_ALLOWED_NETWORKS", app_settings.REMOTE_ALLOWED_NETWORKS
        ),
        denied_networks=_networks(
            "THUMBNAILS_REMOTE_DENIED_NETWORKS", app_settings.REMOTE_DENIED_NETWORKS
        ),
        hosts=parse_hosts(app_settings.REMOTE_HOSTS),
        prefix_setting=prefix_setting,
    )


def image_policy() -> Policy:
    """The rules of remote images, built once per settings."""
    return app_settings.derived(
        "remote_image_policy",
        lambda: _build("THUMBNAILS_REMOTE_ALLOWED_URLS", app_settings.REMOTE_ALLOWED_URLS),
    )


def site_policy() -> Policy:
    """The rules of web pages (the page asked for; its subresources: addresses only)."""
    return app_settings.derived(
        "remote_site_policy",
        lambda: _build("THUMBNAILS_SITE_ALLOWED_URLS", app_settings.SITE_ALLOWED_URLS),
    )
