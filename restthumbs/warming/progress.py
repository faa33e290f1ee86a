"""Progress of a warm run: a bar on a terminal, a plain line now and then in a log.

On a terminal, :class:`Progress` redraws one line in place (at most
:data:`REDRAW_EVERY` seconds apart): a bar, sources done of the total, the rate
and the time left. Anywhere else (a pipe, a log file, cron's mail) it prints a
plain line every :data:`PLAIN_EVERY` seconds, which reads well in a log and
does not fill it. The rate is the run's average, in sources a second.

The total is not known when the walk starts (it streams): :class:`Counter`
counts the sources in a background thread with a second walk (listing is cheap
beside rendering: 1,000 S3 keys a request) and the total, the percentage and
the time left appear once it is done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from django.utils.translation import gettext as _


class Stream(Protocol):
    """A text stream, or Django's ``OutputWrapper`` around one."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


REDRAW_EVERY = 0.2
PLAIN_EVERY = 10.0
BAR_WIDTH = 24


def duration(seconds: float) -> str:
    """``1:02:03``, ``2:03``: hours only when there are some."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts by thumbnail status, sources done, and their display on ``out``."""

    def __init__(
        self,
        out: Stream,
        *,
        tty: bool,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.tty = tty
        self.enabled = enabled
        self.clock = clock
        self.total: int | None = None
        self.sources = 0
        self.rendered = self.skipped = self.failed = 0
        self.started = clock()
        self._shown_at = self.started
        self._bar_shown = False

    # -- counting ----------------------------------------------------------------

    def add(self, rendered: int, skipped: int, failed: int, *, sources: int = 1) -> None:
        """Count ``sources`` more sources done, and their thumbnails by status."""
        self.sources += sources
        self.rendered += rendered
        self.skipped += skipped
        self.failed += failed
        self.tick()

    def rate(self) -> float:
        elapsed = self.clock() - self.started
        return self.sources / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        rate = self.rate()
        if self.total is None or rate <= 0:
            return None
        return max(0, self.total - self.sources) / rate

    # -- display -----------------------------------------------------------------

    def tick(self) -> None:
        """Show the progress if it is time to."""
        if not self.enabled:
            return
        now = self.clock()
        if now - self._shown_at < (REDRAW_EVERY if self.tty else PLAIN_EVERY):
            return
        self._shown_at = now
        if self.tty:
            self.out.write("\r\x1b[K" + self.bar())
            self._bar_shown = True
        else:
            self.out.write(self.line() + "\n")
        self.out.flush()

    def note(self, text: str, stream: Stream) -> None:
        """Write a line (a failure, a file's status) without tearing the bar."""
        self.clear()
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()

    def clear(self) -> None:
        """Take the bar off the terminal line (before other output, and at the end)."""
        if self._bar_shown:
            self.out.write("\r\x1b[K")
            self.out.flush()
            self._bar_shown = False

    def bar(self) -> str:
        rate = f"{self.rate():.1f}/s"
        if self.total is None:
            return _("%(done)d sources (counting...) %(rate)s") % {
                "done": self.sources,
                "rate": rate,
            }
        fraction = min(1.0, self.sources / self.total) if self.total else 1.0
        filled = round(fraction * BAR_WIDTH)
        eta = self.eta()
        return "[{}{}] {:3.0f}% {}/{} {} {}".format(
            "#" * filled,
            "." * (BAR_WIDTH - filled),
            fraction * 100,
            self.sources,
            self.total,
            rate,
            _("ETA %(eta)s") % {"eta": duration(eta)} if eta is not None else "",
        ).rstrip()

    def line(self) -> str:
        counts = _("rendered %(r)d, skipped %(s)d, failed %(f)d") % {
            "r": self.rendered,
            "s": self.skipped,
            "f": self.failed,
        }
        rate = _("%(rate).1f sources/s") % {"rate": self.rate()}
        if self.total is None:
            return _("Warmed %(done)d sources: %(counts)s; %(rate)s.") % {
                "done": self.sources,
                "counts": counts,
                "rate": rate,
            }
        eta = self.eta()
        return _(
            "Warmed %(done)d of %(total)d sources (%(percent).0f%%): %(counts)s; %(rate)s, "
            "%(eta)s left."
        ) % {
            "done": self.sources,
            "total": self.total,
            "percent": 100 * self.sources / self.total if self.total else 100,
            "counts": counts,
            "rate": rate,
            "eta": duration(eta) if eta is not None else "?",
        }


class Counter(threading.Thread):
    """Counts ``sources()`` in the background and sets ``progress.total`` when done.

    A daemon: a run that ends first does not wait for it. A failure to list
    leaves the total unknown; the run itself reports listing errors.
    """

    def __init__(self, progress: Progress, sources: Callable[[], Iterable[object]]) -> None:
        super().__init__(name="thumbnails_warm-count", daemon=True)
        self.progress = progress
        self.sources = sources
        self._stop_event = threading.Event()

    def run(self) -> None:
        from django.db import connections

        count = 0
        try:
            for _name in self.sources():
                if self._stop_event.is_set():
                    return
                count += 1
        except Exception:
            return
        finally:
            # This thread's own connections (a walk of model rows opens one). An
            # in-memory SQLite database (tests) ignores close(): its connection
            # is shared-cache, closing this thread's handle keeps the database.
            for connection in connections.all(initialized_only=True):
                connection.close()
                if connection.connection is not None:
                    connection.connection.close()
                    connection.connection = None
        self.progress.total = count

    def stop(self) -> None:
        self._stop_event.set()
