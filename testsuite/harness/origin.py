"""A scripted HTTP(S) origin in a thread: the remote images and pages of the tests.

Each path answers what its :class:`Route` says: a status, headers, a body,
after a delay, dripped byte by byte, or never (``hang``, until the origin
stops). Every request is recorded (path, ``Host`` header, and with TLS the
SNI name), so a test counts fetches and sees which name reached which address.
Binds any loopback address (``127.0.0.2`` is a different host from
``127.0.0.1`` to the address rules), on a port the kernel picks.
"""

from __future__ import annotations

import http.server
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Route:
    """What one path answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds between two bytes of the body
    hang: bool = False  # never answer
    length: int | None = None  # a Content-Length other than the body's; -1: none, then close


@dataclass(frozen=True)
class Seen:
    """One request as the origin received it."""

    method: str
    path: str
    host: str
    sni: str | None
    at: float


class Origin:
    """A threaded HTTP server answering :attr:`routes`; 404 for any other path."""

    def __init__(self, address: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route | Callable[[], Route]] = {}
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._sni = threading.local()
        self._lock = threading.Lock()
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                origin._answer(self)

            do_POST = do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.tls = tls is not None
        if tls is not None:
            names: list[str | None] = []
            tls.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment]
            self._names = names
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.host = address
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/", host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def count(self, path: str) -> int:
        """How many requests ``path`` has had."""
        with self._lock:
            return sum(1 for seen in self.seen if seen.path == path)

    def start(self) -> Origin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        sni = self._names[-1] if self.tls and self._names else None
        with self._lock:
            self.seen.append(
                Seen(
                    handler.command, handler.path, handler.headers.get("Host", ""), sni, time.time()
                )
            )
        found = self.routes.get(handler.path)
        route = found() if callable(found) else found
        if route is None:
            route = Route(status=404, body=b"not found\n")
        if route.hang:
            self.stopping.wait(120)
            handler.close_connection = True
            return
        time.sleep(route.delay)
        try:
            handler.send_response(route.status)
            if route.length == -1:
                headers = {"Connection": "close"}
                handler.close_connection = True
            else:
                length = len(route.body) if route.length is None else route.length
                headers = {"Content-Length": str(length)}
            headers.update(route.headers)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            if handler.command == "HEAD":
                return
            if route.drip:
                for i in range(len(route.body)):
                    if self.stopping.is_set():
                        break
                    handler.wfile.write(route.body[i : i + 1])
                    handler.wfile.flush()
                    time.sleep(route.drip)
            else:
                handler.wfile.write(route.body)
        except OSError:  # the client went away (it gave up, as it should)
            handler.close_connection = True


@contextmanager
def origin_server(
    address: str = "127.0.0.1", tls: ssl.SSLContext | None = None
) -> Iterator[Origin]:
    """An :class:`Origin`, started, and stopped at exit."""
    origin = Origin(address, tls).start()
    try:
        yield origin
    finally:
        origin.stop()
