"""Processes on loopback: free ports, a launch with the output in a file, a bounded stop.

A server is started in the foreground on a port the kernel picked (a socket
bound to port 0 tells a free one), with stdout and stderr in a file of a
directory the caller owns. :func:`running` waits until the port answers
(bounded) and stops the process by its PID whatever happens: ``SIGTERM``, a
bounded wait, then ``SIGKILL``. Nothing is started as a daemon, nothing touches
the system's own services or their ports.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[2]

START_TIMEOUT = 30.0  # seconds until a server's port answers
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
POLL = 0.05


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} is not readable)"
    return "\n".join(text.splitlines()[-lines:])


def lines_of(path: Path) -> list[str]:
    """The lines of a log file, none if it is not written yet."""
    return path.read_text().splitlines() if path.exists() else []


def children(pid: int) -> list[int]:
    """The PIDs a master process forked (its workers), from /proc."""
    return sorted(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())


@dataclass
class Server:
    """One started process, its port, and where its own output goes."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    directory: Path
    output: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def describe(self) -> str:
        """The server's last lines of output, for assertion messages."""
        return f"--- {self.name} (pid {self.pid}) {self.output}:\n{tail(self.output)}"

    def wait_port(self, port: int, timeout: float = START_TIMEOUT) -> None:
        """Poll ``port`` until it accepts connections; fail early if the process died."""
        deadline = time.monotonic() + timeout
        while not port_open(port):
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}\n{self.describe()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not listen on {port} within {timeout} s\n{self.describe()}"
                )
            time.sleep(POLL)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until the server's port answers; subclasses wait for more."""
        self.wait_port(self.port, timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would, and reap the process."""
        if self.alive():
            self.process.kill()
        self.process.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL: never leave a server behind."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait(STOP_TIMEOUT)


def launch(
    name: str,
    argv: Sequence[str],
    directory: Path,
    port: int,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Server:
    """Start ``argv`` with stdout and stderr in ``directory/<name>.out``."""
    output = directory / f"{name}.out"
    with open(output, "wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
        )
    return Server(name, process, port, directory, output)


S = TypeVar("S", bound=Server)


@contextmanager
def running(server: S) -> Iterator[S]:
    """Wait for ``server`` to be ready, yield it, and stop it whatever happens."""
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@contextmanager
def workspace(prefix: str = "restthumbs-e2e-") -> Iterator[Path]:
    """A fresh directory that other users can traverse (mode 0755).

    pytest's ``tmp_path`` lives under a 0700 directory, but nginx's workers run
    as an unprivileged user when nginx is started by root and must reach the
    thumbnails, as in production.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for root, dirs, _ in os.walk(path):  # a test may have left a read-only dir
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(path, ignore_errors=True)


def make_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    return path
