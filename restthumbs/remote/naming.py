"""Remote URLs: parsed strictly, normalised, and mapped to and from source paths.

A remote source is named by a source path like any other (docs/remote.md)::

    https://Bücher.example:8443/covers/a b.jpg?size=large&from=/x
    -> <segment>/https/xn--bcher-kva.example:8443/covers/a%20b.jpg?size=large&from=%2Fx

- ``<segment>`` is the first segment ``THUMBNAILS_SOURCES`` maps to the storage;
- then the scheme (``http`` or ``https`` only), then the host: lower case, a
  non-ASCII name in its IDNA form (``xn--``), an IPv6 address in brackets, and
  ``:port`` only when it is not the scheme's default;
- then the path and query as they are sent on the wire: percent-encoded
  ASCII (UTF-8 for anything else), ``%XX`` in upper case, unreserved characters
  decoded, dot segments removed, and ``/`` written ``%2F`` in the query so the
  query stays one segment. A path ending in ``/`` is followed by ``?`` (an
  empty query, which servers ignore), so no segment of the source path is empty.
  The fragment is dropped (it is never sent).

Every URL has exactly one source path: a source path that is not the canonical
form of its URL is refused (:func:`url_of`), so one remote image is never
fetched and kept twice under two names. Credentials (``user@``), backslashes,
control characters, empty path segments (``a//b``) and numeric host names that
are not a dotted-quad IPv4 address (``127.1``, ``0x7f.1``) are refused.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..exceptions import InvalidSourcePath, RemoteRefused

#: The schemes a remote source may use, with their default ports.
SCHEMES = {"http": 80, "https": 443}

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: Characters kept as they are in a path (RFC 3986 pchar and "/"), besides "%XX".
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
#: In a query "?" is allowed too, and "/" is written %2F (see the module docstring).
_QUERY_SAFE = (_PATH_SAFE | frozenset("?")) - {"/"}
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")
_HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


@dataclass(frozen=True)
class RemoteURL:
    """A remote URL, normalised: the one form restthumbs compares, fetches and names."""

    scheme: str
    host: str  # lower case, IDNA; an IPv6 address without brackets
    port: int
    path: str  # percent-encoded, starts with "/"
    query: str = ""  # percent-encoded, without "?"

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The host as an address, if it is an address literal."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    @property
    def netloc(self) -> str:
        """``host[:port]`` as in a URL and a ``Host`` header: the port only if not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"

    @property
    def target(self) -> str:
        """The request target: path and query."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.target}"


def parse_url(url: str) -> RemoteURL:
    """Parse and normalise an ``http``/``https`` URL, or raise :class:`RemoteRefused`."""
    if not isinstance(url, str) or _FORBIDDEN.search(url):
        raise RemoteRefused(detail=f"{url!r}: control characters or backslashes")
    if url != url.strip():
        raise RemoteRefused(detail=f"{url!r}: surrounding spaces")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise RemoteRefused(detail=f"{url!r}: only http and https are allowed")
    if "@" in parts.netloc:
        raise RemoteRefused(detail=f"{url!r}: credentials in a URL are refused")
    host = normalize_host(parts.hostname or "", url)
    try:
        port = parts.port
    except ValueError as e:
        raise RemoteRefused(detail=f"{url!r}: bad port") from e
    if port == 0:
        raise RemoteRefused(detail=f"{url!r}: bad port")
    path = _remove_dot_segments(_normalize(parts.path or "/", _PATH_SAFE))
    query = _normalize(parts.query, _QUERY_SAFE | {"/"})
    return RemoteURL(scheme, host, port or SCHEMES[scheme], path, query)


def normalize_host(host: str, url: str = "") -> str:
    """Lower case and IDNA; an address literal as :mod:`ipaddress` writes it."""
    where = url or host
    if not host:
        raise RemoteRefused(detail=f"{where!r}: no host")
    if ":" in host:  # IPv6 (urlsplit removed the brackets)
        if "%" in host:
            raise RemoteRefused(detail=f"{where!r}: IPv6 zone identifiers are refused")
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError as e:
            raise RemoteRefused(detail=f"{where!r}: bad IPv6 address") from e
    host = host.lower().removesuffix(".")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise RemoteRefused(detail=f"{where!r}: not a valid host name") from e
    labels = ascii_host.split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        raise RemoteRefused(detail=f"{where!r}: not a valid host name")
    if _NUMERIC_LABEL.match(labels[-1]):
        try:
            return str(ipaddress.IPv4Address(ascii_host))
        except ValueError as e:  # 127.1, 2130706433, 0x7f.0.0.1: ambiguous, refused
            raise RemoteRefused(
                detail=f"{where!r}: a numeric host that is not an IPv4 address"
            ) from e
    return ascii_host


def _normalize(text: str, safe: frozenset[str]) -> str:
    """Percent-encode what ``safe`` lacks; ``%XX`` upper case; unreserved ones decoded."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%" and re.fullmatch(r"[0-9A-Fa-f]{2}", text[i + 1 : i + 3]):
            decoded = chr(int(text[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + text[i + 1 : i + 3].upper())
            i += 3
            continue
        if char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986's remove_dot_segments, keeping a trailing slash."""
    if not path.startswith("/"):
        path = "/" + path
    segments = path.split("/")
    if not any(segment in (".", "..") for segment in segments):
        return path
    trailing = segments[-1] in ("", ".", "..")
    normal = posixpath.normpath(path).replace("//", "/")
    return normal + "/" if trailing and normal != "/" else normal


def to_source_path(url: str | RemoteURL, segment: str) -> str:
    """The source path of ``url`` under ``segment`` (``"remote"``, ``"site"``...)."""
    remote = url if isinstance(url, RemoteURL) else parse_url(url)
    rest = remote.path[1:]
    if "" in rest.split("/")[:-1]:
        raise RemoteRefused(detail=f"{remote}: an empty path segment cannot be a source path")
    query = remote.query.replace("/", "%2F")
    if query or (rest.endswith("/")):
        rest += "?" + query
    netloc = remote.netloc
    return "/".join(part for part in (segment, remote.scheme, netloc, rest) if part)


def url_of(name: str) -> RemoteURL:
    """The URL a source name (the source path without its first segment) stands for.

    Raises :class:`InvalidSourcePath` for a name too short to hold a URL or not
    in its canonical form, and :class:`RemoteRefused` for one no URL can have
    (another scheme, credentials).
    """
    scheme, _, rest = name.partition("/")
    netloc, _, target = rest.partition("/")
    if not scheme or not netloc:
        raise InvalidSourcePath(detail=f"{name!r} is not <scheme>/<host>[/<path>]")
    if scheme not in SCHEMES:
        raise RemoteRefused(detail=f"{name!r}: only http and https are allowed")
    path, _, query = target.partition("?")
    if "@" in netloc:
        raise RemoteRefused(detail=f"{name!r}: credentials in a URL are refused")
    remote = parse_url(f"{scheme}://{netloc}/{path}" + (f"?{query}" if query else ""))
    if to_source_path(remote, "") != name:
        canonical = to_source_path(remote, "")
        raise InvalidSourcePath(
            detail=f"{name!r} is not the canonical source name of {remote} (that is {canonical!r})"
        )
    return remote
