"""The one HTTP client of the tests and the benchmark.

``http.client`` underneath, so what is sent is what the caller wrote: the path
goes out raw (no quoting, no normalisation: a fuzz test's ``/%2e%2e/`` stays as
it is), no proxy is read from the environment, no redirect is followed, and
every status comes back as a :class:`Reply` instead of an exception. Only
``http://host:port/...`` URLs: everything here is on loopback.
"""

from __future__ import annotations

import http.client
import io
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from PIL import Image

TIMEOUT = 30.0  # seconds for a connection or a read


class Reply(NamedTuple):
    """Status, headers and the whole body (empty for HEAD); unpacks as a 3-tuple."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def all(self, name: str) -> list[str]:
        """Every value of a header: a duplicated Cache-Control must show up."""
        return self.headers.get_all(name) or []

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def image(self) -> Image.Image:
        """The body decoded by Pillow (loaded, so a truncated image fails here)."""
        from PIL import Image

        im = Image.open(io.BytesIO(self.body))
        im.load()
        return im


def split(url: str) -> tuple[str, int, str]:
    """``http://host:port/target`` -> host, port and the request target, untouched."""
    if not url.startswith("http://"):
        raise ValueError(f"not an http:// URL: {url!r}")
    netloc, _, target = url.removeprefix("http://").partition("/")
    host, _, port = netloc.partition(":")
    return host, int(port or 80), "/" + target


class Connection:
    """One connection kept open: requests in turn, or one sent now and read later.

    ``send`` then ``receive`` lets a test act between the two (kill the worker
    that holds the connection, say); ``request`` does both.
    """

    def __init__(self, host: str, port: int, timeout: float = TIMEOUT) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def send(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> None:
        self.conn.request(method, path, body=body, headers=headers or {})

    def receive(self) -> Reply:
        response = self.conn.getresponse()
        return Reply(response.status, response.headers, response.read())

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        self.send(method, path, headers, body)
        return self.receive()

    @property
    def local_port(self) -> int:
        """This end's port: how a server tells which of its sockets is ours."""
        assert self.conn.sock is not None, "nothing sent yet"
        return int(self.conn.sock.getsockname()[1])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def request(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = TIMEOUT,
) -> Reply:
    """One request on its own connection (nothing shared between threads)."""
    host, port, target = split(url)
    with Connection(host, port, timeout) as conn:
        return conn.request(method, target, headers, body)


def answers(url: str, timeout: float = 5.0) -> bool:
    """Whether anything answers HTTP at ``url`` (any status counts)."""
    try:
        request(url, timeout=timeout)
    except (OSError, http.client.HTTPException):
        return False
    return True
