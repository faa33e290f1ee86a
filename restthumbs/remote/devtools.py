"""One headless Chromium process, driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read commands on its fd 3 and write
answers and events on its fd 4, as JSON messages ended by a NUL byte: no port
is opened, no WebSocket library is needed, and nothing but this process can
drive the browser. The process is spawned with ``os.posix_spawn`` (safe in a
threaded server, where ``preexec_fn`` is not) as the leader of a new session,
with ``HOME`` and a profile in a fresh temporary directory, so
:meth:`Chromium.close` kills it and every process it started (renderers, GPU,
network service) with one ``killpg`` and removes everything it wrote.

Every wait has an absolute deadline (``time.monotonic()``); past it,
:class:`PageTimeout` is raised and the caller kills the browser.
"""

from __future__ import annotations

import collections
import json
import os
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]
#: Environment variables passed on; everything else (proxies, display) is left out.
KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "TZ", "FONTCONFIG_PATH", "FONTCONFIG_FILE")
#: The longest $TMPDIR given to Chromium: it puts a Unix socket in it, and such a path
#: holds at most 107 bytes ("<TMPDIR>/org.chromium.Chromium.XXXXXX/SingletonSocket").
MAX_TMPDIR = 60


class PageTimeout(Exception):
    """The deadline passed while waiting for the browser."""


class BrowserGone(Exception):
    """The browser closed its pipe: it exited, crashed or could not start."""


class DevToolsError(Exception):
    """The browser answered a command with an error."""


class Chromium:
    """A browser process and its DevTools pipe; use as a context manager."""

    def __init__(self, executable: str, flags: list[str]) -> None:
        self.profile = tempfile.mkdtemp(prefix="restthumbs-page-")
        self.handlers: dict[str, Callable[[Message], None]] = {}
        self._events: collections.deque[Message] = collections.deque(maxlen=10_000)
        self._buffer = b""
        self._next_id = 0
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()
        log = os.open(os.path.join(self.profile, "chromium.log"), os.O_WRONLY | os.O_CREAT, 0o600)
        devnull = os.open(os.devnull, os.O_RDONLY)
        home = self.profile
        env = {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}
        env.update(HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
        if len(home) <= MAX_TMPDIR:  # Chromium's singleton socket lives in $TMPDIR
            env["TMPDIR"] = home
        argv = [
            executable,
            *flags,
            f"--user-data-dir={os.path.join(self.profile, 'profile')}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        try:
            self.pid = os.posix_spawn(
                executable,
                argv,
                env,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, devnull, 0),
                    (os.POSIX_SPAWN_DUP2, log, 1),
                    (os.POSIX_SPAWN_DUP2, log, 2),
                    (os.POSIX_SPAWN_DUP2, commands_read, 3),
                    (os.POSIX_SPAWN_DUP2, answers_write, 4),
                ],
                setsid=True,
            )
        except OSError:
            os.close(self._commands)
            os.close(self._answers)
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        finally:
            for fd in (commands_read, answers_write, log, devnull):
                os.close(fd)
        self.closed = False

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, size: int = 2000) -> str:
        """The end of what the browser wrote on stdout and stderr."""
        try:
            with open(os.path.join(self.profile, "chromium.log"), "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - size))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def send(self, method: str, params: Message | None = None, session: str | None = None) -> int:
        """Send a command without waiting for its answer; its id."""
        self._next_id += 1
        message: Message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        try:
            while data:
                data = data[os.write(self._commands, data) :]
        except OSError as e:  # BrokenPipeError: the browser is gone
            raise BrowserGone(str(e)) from e
        return self._next_id

    def call(
        self, method: str, params: Message | None, session: str | None, deadline: float
    ) -> Message:
        """Send a command and wait for its result (events meanwhile go to handlers or a queue)."""
        wanted = self.send(method, params, session)
        while True:
            message = self._receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error'].get('message')}")
                result: Message = message.get("result", {})
                return result
            self._dispatch(message)

    def wait_event(self, method: str, session: str | None, deadline: float) -> Message:
        """The first event ``method`` of ``session``, queued or to come."""
        for event in list(self._events):
            if event.get("method") == method and event.get("sessionId") == session:
                self._events.remove(event)
                return event
        while True:
            message = self._receive(deadline)
            if message.get("method") == method and message.get("sessionId") == session:
                return message
            self._dispatch(message)

    def _dispatch(self, message: Message) -> None:
        handler = self.handlers.get(message.get("method", ""))
        if handler is not None:
            handler(message)
        elif "method" in message:
            self._events.append(message)

    def _receive(self, deadline: float) -> Message:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PageTimeout()
            poller = select.poll()  # not select(): a server's descriptors may be past 1024
            poller.register(self._answers, select.POLLIN)
            if not poller.poll(max(1, int(left * 1000))):
                raise PageTimeout()
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                raise BrowserGone(self.log_tail())
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: Message = json.loads(raw)
        return message

    def close(self) -> None:
        """Kill the browser and everything it started; remove its files. Idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        for fd in (self._commands, self._answers):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
