"""An S3 endpoint on loopback: moto's server mode (``moto[server]``), in a thread of this process.

moto keeps its buckets in the process, so a server stopped and started again
on the same port finds them as it left them, as S3 would after a network blip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import http
from .missing import require_module


class MotoServer:
    """moto's ``ThreadedMotoServer`` on 127.0.0.1; ``port`` 0 lets the kernel pick one."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (again) on ``port``; a first start on port 0 sets it."""
        module = require_module("moto.server")
        require_module("flask")  # what moto[server] adds to moto
        server = module.ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self.port = int(server.get_host_and_port()[1])
        self.server = server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def reset(self) -> None:
        """Forget every bucket and object (moto's own API)."""
        reply = http.request(f"{self.endpoint}/moto-api/reset", method="POST")
        if reply.status != 200:
            raise RuntimeError(f"moto reset answered {reply.status}: {reply.body[:200]!r}")


@contextmanager
def moto_server(port: int = 0) -> Iterator[MotoServer]:
    """A started :class:`MotoServer`, stopped on exit."""
    server = MotoServer(port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
