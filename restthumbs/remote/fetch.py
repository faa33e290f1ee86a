"""The HTTP client of remote images: SSRF-safe by construction, bounded in size and time.

:func:`fetch_image` GETs a URL with ``http.client`` over a socket that
:mod:`.net` connected to a checked address, and follows redirects itself, each
one checked again from the start (scheme, URL prefixes, every address),
``THUMBNAILS_REMOTE_MAX_REDIRECTS`` at most. The whole fetch, redirects and
body included, has one deadline (``THUMBNAILS_REMOTE_TIMEOUT``), enforced by a
watchdog that shuts the socket down, so an origin that drips one byte a second
is cut off as surely as a silent one; connecting has its own shorter limit.
The body is counted while it streams and abandoned past
``THUMBNAILS_REMOTE_MAX_BYTES``. Its type is sniffed from its first bytes by
Pillow, among the formats restthumbs decodes; the ``Content-Type`` header is
never trusted. Nothing is stored here: :mod:`.storage` keeps what this returns.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from urllib.parse import urljoin

from PIL import Image

from .. import __version__
from ..conf import app_settings
from ..exceptions import (
    OriginTimeout,
    OriginUnavailable,
    RemoteNotAnImage,
    RemoteTooLarge,
    RemoteTooManyRedirects,
    SourceNotFound,
    ThumbnailError,
)
from .naming import RemoteURL, parse_url
from .net import connect, remaining, resolve
from .policy import Policy

USER_AGENT = f"restthumbs/{__version__} (remote images)"
ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8"
CHUNK_SIZE = 64 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Statuses that mean "no such image": a 404 (or a placeholder), not a 502.
MISSING = frozenset({404, 410})


@dataclass(frozen=True)
class Limits:
    """How long and how much one remote source may take."""

    connect_timeout: float
    timeout: float
    max_bytes: int
    max_redirects: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            connect_timeout=float(app_settings.REMOTE_CONNECT_TIMEOUT),
            timeout=float(app_settings.REMOTE_TIMEOUT),
            max_bytes=int(app_settings.REMOTE_MAX_BYTES),
            max_redirects=int(app_settings.REMOTE_MAX_REDIRECTS),
        )


@dataclass(frozen=True)
class Fetched:
    """An image as fetched: its bytes, the URL that gave them, and the sniffed format."""

    data: bytes
    url: RemoteURL
    format: str

    @property
    def content_type(self) -> str:
        return Image.MIME.get(self.format, "application/octet-stream")


def fetch_image(url: RemoteURL, policy: Policy, limits: Limits) -> Fetched:
    """GET ``url`` under ``policy`` and ``limits``; the image's bytes, or a domain error."""
    deadline = time.monotonic() + limits.timeout
    for _ in range(limits.max_redirects + 1):
        policy.check_url(url)
        location, data = _get(url, policy, limits, deadline)
        if location is None:
            return Fetched(data, url, sniff(data, url))
        try:
            url = parse_url(urljoin(str(url), location))
        except ThumbnailError as e:
            e.detail = f"redirect from {url} to {location!r}: {e.log_message}"
            raise
    raise RemoteTooManyRedirects(
        detail=f"{url}: more than THUMBNAILS_REMOTE_MAX_REDIRECTS={limits.max_redirects}"
    )


def sniff(data: bytes, url: RemoteURL | str = "") -> str:
    """The Pillow format of ``data``, among those restthumbs decodes, or :class:`RemoteNotAnImage`."""
    from ..engine.decoding import input_formats

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=input_formats()) as im:
                return str(im.format)
    except Image.DecompressionBombError:
        return "?"  # an image, too large: the engine refuses it with its own reason
    except Exception as e:  # Pillow raises many types for bytes that are no image
        head = data[:16]
        raise RemoteNotAnImage(
            detail=f"{url}: not an image restthumbs decodes ({head!r}...)"
        ) from e


def _get(
    url: RemoteURL, policy: Policy, limits: Limits, deadline: float
) -> tuple[str | None, bytes]:
    """One request: ``(Location, b"")`` for a redirect, ``(None, body)`` for a 200."""
    addresses = resolve(url, policy, deadline)
    sock = connect(url, addresses, policy, limits.connect_timeout, deadline)
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (sock,))
    watchdog.daemon = True
    watchdog.start()
    try:
        sock.settimeout(remaining(deadline, str(url)))
        answer = _exchange(sock, url, limits.max_bytes)
        remaining(deadline, str(url))  # a body ended by the watchdog is no body
        return answer
    except ThumbnailError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as e:
        detail = f"{url}: {type(e).__name__}: {e}"
        if isinstance(e, TimeoutError) or time.monotonic() >= deadline:
            raise OriginTimeout(detail=f"{detail} (THUMBNAILS_REMOTE_TIMEOUT)") from e
        raise OriginUnavailable(detail=detail) from e
    finally:
        watchdog.cancel()
        sock.close()


def _cut(sock: socket.socket) -> None:
    """At the deadline: shut the connection down under the reading thread's feet.

    ``socket.socket.shutdown`` on the descriptor, not ``SSLSocket.shutdown``,
    which would also drop the TLS object the reader is using.
    """
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _exchange(sock: socket.socket, url: RemoteURL, max_bytes: int) -> tuple[str | None, bytes]:
    conn = http.client.HTTPConnection(url.host, url.port)
    conn.sock = sock
    conn.putrequest("GET", url.target, skip_host=True, skip_accept_encoding=True)
    for name, value in (
        ("Host", url.netloc),
        ("User-Agent", USER_AGENT),
        ("Accept", ACCEPT),
        ("Accept-Encoding", "identity"),
        ("Connection", "close"),
    ):
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    status = response.status
    if status in REDIRECTS:
        location = response.getheader("Location")
        if not location:
            raise OriginUnavailable(detail=f"{url} answered {status} without a Location")
        return location, b""
    if status in MISSING:
        raise SourceNotFound(detail=f"{url} answered {status}")
    if status != 200:
        raise OriginUnavailable(detail=f"{url} answered {status} {response.reason}")
    length = response.getheader("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise RemoteTooLarge(detail=f"{url}: Content-Length {length} > {max_bytes} bytes")
    body = bytearray()
    while chunk := response.read(CHUNK_SIZE):
        body += chunk
        if len(body) > max_bytes:
            raise RemoteTooLarge(detail=f"{url}: more than {max_bytes} bytes")
    if length.isdigit() and len(body) < int(length):  # cut short (by the watchdog, say)
        raise http.client.IncompleteRead(bytes(body), int(length) - len(body))
    return None, bytes(body)
