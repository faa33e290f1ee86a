"""``thumbnails_warm --resume FILE``: where an interrupted run stopped, kept in a small file.

Sources are walked in the order of their names (:mod:`.sources`) and finished
in that order (results come back in walk order whatever the number of
threads), so one name says everything that is done: every source up to and
including it. A resumed run starts the walk right after it (on S3,
``ListObjectsV2``'s ``StartAfter``: what is done is not even listed again).

The file is JSON, rewritten atomically (a temporary file, then a rename) at
most every :data:`SAVE_EVERY` seconds and when the run stops, even on Ctrl-C;
a finished run deletes it, so running the same command again starts over (and
skips what is stored). It records what the run warms (specs, prefix, since):
a file written by another run is refused rather than silently skipping
sources that run never looked at. With ``--enqueue``, "done" means handed to
the task backend.

A failed source counts as finished: it is in the summary's list of failures,
and a resumed run does not try it again (a run without ``--resume`` does).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

#: Seconds between two writes of the state file while a run goes on.
SAVE_EVERY = 2.0
VERSION = 1


class StateMismatch(ValueError):
    """The state file belongs to another run (other specs, prefix or date)."""


class ResumeState:
    """The position of one run, read from and written to ``path``."""

    def __init__(self, path: str | os.PathLike[str], run: dict[str, Any]) -> None:
        self.path = Path(path)
        self.run = run
        self.after = ""
        self.done = 0
        self._saved_at = 0.0
        self._dirty = False

    def load(self) -> str:
        """The last finished name of a previous run of the same work ("" if none).

        Raises :class:`StateMismatch` if the file records other work, and
        ``ValueError`` if it is not a state file at all.
        """
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ""
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(
                _("%(path)s is not a thumbnails_warm state file.") % {"path": self.path}
            )
        if data.get("run") != self.run:
            raise StateMismatch(
                _(
                    "%(path)s records another run (%(run)s); delete it, or give another "
                    "file, to warm %(this)s."
                )
                % {
                    "path": self.path,
                    "run": _describe(data.get("run")),
                    "this": _describe(self.run),
                }
            )
        self.after = str(data.get("after", ""))
        self.done = int(data.get("done", 0))
        return self.after

    def advance(self, name: str, count: int = 1) -> None:
        """Every source up to ``name`` is finished (``count`` more); written out now and then."""
        self.after = name
        self.done += count
        self._dirty = True
        if time.monotonic() - self._saved_at >= SAVE_EVERY:
            self.save()

    def save(self) -> None:
        """Write the position now (atomically), if it moved since the last write."""
        if not self._dirty:
            return
        data = {"version": VERSION, "run": self.run, "after": self.after, "done": self.done}
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        self._saved_at = time.monotonic()
        self._dirty = False

    def finish(self) -> None:
        """The run went through to the end: nothing to resume."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        self._dirty = False


def _describe(run: Any) -> str:
    if not isinstance(run, dict):
        return repr(run)
    specs = ", ".join(" ".join(map(str, spec)) for spec in run.get("specs", []))
    parts = [specs or "?"]
    if run.get("prefix"):
        parts.append(f"--prefix {run['prefix']}")
    if run.get("since"):
        parts.append(f"--since {run['since']}")
    return " ".join(parts)
