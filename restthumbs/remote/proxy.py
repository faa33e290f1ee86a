"""The filtering proxy every request of a page's browser goes through.

Started for one page on a free loopback port and stopped with it, it is the
browser's only way out: Chromium is given ``--proxy-server`` (loopback
included: ``--proxy-bypass-list=<-loopback>``) and a resolver that resolves
nothing (``--host-resolver-rules=MAP * ~NOTFOUND``), so the page, its
subresources, its redirects, its scripts' requests and its WebSockets are all
requests this proxy sees, and the browser never learns an address itself.

- ``CONNECT host:port`` (HTTPS and WebSockets): the host is resolved and every
  address checked by :mod:`.net` exactly as for a fetch, and the tunnel is
  connected to one of those addresses; the TLS inside is the browser's own.
- ``GET http://host/...`` (and the other methods): the same checks; the request
  goes to the checked address with its own ``Host`` header and ``Connection: close``.
- Anything else (another scheme, an origin-form target) is refused.

Requests made before the page is asked for (:attr:`FilteringProxy.armed`) are
refused unsent: the browser's own calls home at start-up (component and
extension updates) never leave the machine, nor are their names resolved.
Refusals answer ``403`` to the browser and are logged and recorded (the page's
own refusal becomes the thumbnail's 4xx). All bytes received from origins
count against one budget (``THUMBNAILS_REMOTE_MAX_BYTES``) and every
connection is closed at the page's deadline or when the proxy stops.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
import time
from urllib.parse import urlsplit

from ..exceptions import RemoteAddressRefused, RemoteRefused, ThumbnailError
from .naming import RemoteURL, parse_url
from .net import connect, resolve
from .policy import Policy

logger = logging.getLogger("restthumbs")

MAX_HEAD = 64 * 1024
CHUNK_SIZE = 64 * 1024
#: Hop-by-hop headers, never forwarded (RFC 9110 7.6.1), and the proxy's own.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
    }
)


class FilteringProxy:
    """An HTTP proxy on ``127.0.0.1:<port>`` that applies ``policy`` to every request."""

    def __init__(
        self, policy: Policy, *, connect_timeout: float, deadline: float, max_bytes: int
    ) -> None:
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.refusals: list[ThumbnailError] = []
        self.requests = 0
        self.received = 0
        self.over_budget = False
        self.armed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="restthumbs-proxy", daemon=True)

    def __enter__(self) -> FilteringProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting and close every connection still open."""
        self._stopped.set()
        self._thread.join(1)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
        if self._stopped.is_set():
            _close(sock)

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        upstream: socket.socket | None = None
        try:
            head, rest = _read_head(client, self.deadline)
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _version = request_line.split(" ", 2)
            if not self.armed.is_set():
                # Chromium's own calls home at start-up, before the page: never sent.
                logger.debug("Browser request before the page refused: %s", request_line[:200])
                _answer(client, 403, "Forbidden")
                return
            with self._lock:
                self.requests += 1
            if method == "CONNECT":
                upstream = self._open(parse_url(f"https://{target}/"), tls=False)
                client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                self._relay(client, upstream, both_ways=True, pending=rest)
            else:
                self._forward(client, method, target, header_lines, rest)
        except RemoteRefused as e:
            self._refused(client, e)
        except ThumbnailError as e:  # the origin failed: a 502 for the browser, as a proxy does
            logger.info("Browser request failed: %s", e.log_message)
            _answer(client, 502, "Bad Gateway")
        except (OSError, ValueError):
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with self._lock:
                        self._sockets.discard(sock)
                    _close(sock)

    def _open(self, url: RemoteURL, tls: bool) -> socket.socket:
        """A connection to ``url``'s host: resolved, every address checked, pinned."""
        addresses = resolve(url, self.policy, self.deadline)
        if self.port == url.port and any(a.is_loopback for a in addresses):
            raise RemoteAddressRefused(detail=f"{url.netloc} is this proxy")
        sock = connect(url, addresses, self.policy, self.connect_timeout, self.deadline, tls=tls)
        self._track(sock)
        return sock

    def _forward(
        self, client: socket.socket, method: str, target: str, header_lines: list[str], rest: bytes
    ) -> None:
        if not target.lower().startswith("http://"):
            raise RemoteRefused(detail=f"{method} {target[:200]!r}: only http:// through the proxy")
        url = parse_url(target)
        raw = urlsplit(target)
        path = (raw.path or "/") + (f"?{raw.query}" if raw.query else "")
        headers = [line for line in header_lines if line and _name(line) not in HOP_BY_HOP]
        if any(_name(line) == "transfer-encoding" for line in headers):
            _answer(client, 411, "Length Required")
            return
        lengths = [
            line.split(":", 1)[1].strip() for line in headers if _name(line) == "content-length"
        ]
        length = int(lengths[0]) if lengths and lengths[0].isdigit() else 0
        upstream = self._open(url, tls=False)
        out = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{h}\r\n" for h in headers)
        upstream.sendall(out.encode("latin-1") + b"Connection: close\r\n\r\n")
        body = rest[:length]
        while len(body) < length:
            chunk = client.recv(min(CHUNK_SIZE, length - len(body)))
            if not chunk:
                return
            body += chunk
        upstream.sendall(body)
        self._relay(client, upstream, both_ways=False, pending=b"")

    def _relay(
        self, client: socket.socket, upstream: socket.socket, both_ways: bool, pending: bytes
    ) -> None:
        """Copy bytes until a side closes, the deadline passes or the budget is spent."""
        if pending:
            upstream.sendall(pending)
        with selectors.DefaultSelector() as selector:  # epoll: no FD_SETSIZE limit
            selector.register(upstream, selectors.EVENT_READ)
            if both_ways:
                selector.register(client, selectors.EVENT_READ)
            while not self._stopped.is_set():
                left = self.deadline - time.monotonic()
                if left <= 0:
                    return
                for key, _ in selector.select(min(left, 0.5)):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    data = sock.recv(CHUNK_SIZE)
                    if not data:
                        return
                    if sock is upstream:
                        if self._count(len(data)):
                            return
                        client.sendall(data)
                    else:
                        upstream.sendall(data)

    def _count(self, size: int) -> bool:
        """Add ``size`` received bytes; ``True`` once the page is over its budget."""
        with self._lock:
            self.received += size
            if self.received > self.max_bytes and not self.over_budget:
                self.over_budget = True
                logger.info("The page is over %d bytes: closing its connections", self.max_bytes)
            return self.over_budget

    def _refused(self, client: socket.socket, error: RemoteRefused) -> None:
        with self._lock:
            self.refusals.append(error)
        logger.info("Browser request refused (%s): %s", error.reason, error.log_message)
        _answer(client, 403, "Forbidden")


def _read_head(sock: socket.socket, deadline: float) -> tuple[bytes, bytes]:
    """The request head (without its blank line) and whatever followed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or len(data) > MAX_HEAD:
            raise ValueError("no request head in time")
        sock.settimeout(left)
        chunk = sock.recv(CHUNK_SIZE)
        if not chunk:
            raise ValueError("closed before a request")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _name(header_line: str) -> str:
    return header_line.split(":", 1)[0].strip().lower()


def _answer(sock: socket.socket, status: int, reason: str) -> None:
    body = f"{status} {reason} (restthumbs)\n".encode()
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    try:
        sock.sendall(head.encode("latin-1") + body)
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
