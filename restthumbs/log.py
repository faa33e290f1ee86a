"""Structured logging: one vocabulary of fields for every event, and a JSON formatter.

Everything restthumbs logs goes to the ``restthumbs`` logger. The records of the
events an operator counts carry these attributes (set through ``extra=``), so a
log pipeline can filter and aggregate without parsing messages:

=============== ==============================================================
``event``       ``"render"``, ``"refuse"``, ``"lock_wait"`` or ``"lock_unavailable"``
``source``      the source path (when known)
``size``        ``"100x100"``, ``"100x"``, ``"x100"`` (when the URL parsed)
``method``      ``"crop"``, ``"scale"``, ``"smart"`` (when the URL parsed)
``ext``         the output extension (when the URL parsed)
``thumbnail``   the thumbnail name (the URL path below the prefix)
``reason``      a refusal's stable slug (``ThumbnailError.reason``)
``status``      a refusal's HTTP status
``duration_ms`` render time, lock wait, or time until the refusal
=============== ==============================================================

A field that does not apply is absent, not ``None``. :class:`JSONFormatter`
prints a record as one JSON object per line; plug it into ``LOGGING``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spec import ThumbnailSpec

logger = logging.getLogger("restthumbs")

#: The structured fields, in the order :class:`JSONFormatter` prints them.
FIELDS: tuple[str, ...] = (
    "event",
    "source",
    "size",
    "method",
    "ext",
    "thumbnail",
    "reason",
    "status",
    "duration_ms",
)

RENDER = "render"
REFUSE = "refuse"
LOCK_WAIT = "lock_wait"
LOCK_UNAVAILABLE = "lock_unavailable"


def fields(
    event: str,
    spec: ThumbnailSpec | None = None,
    *,
    thumbnail: str | None = None,
    reason: str | None = None,
    status: int | None = None,
    seconds: float | None = None,
) -> dict[str, Any]:
    """The ``extra=`` of an event: only the fields that apply, durations in milliseconds."""
    extra: dict[str, Any] = {"event": event}
    if spec is not None:
        extra.update(source=spec.source_path, size=spec.size, method=spec.method, ext=spec.ext)
    if thumbnail is not None:
        extra["thumbnail"] = thumbnail
    if reason is not None:
        extra["reason"] = reason
    if status is not None:
        extra["status"] = status
    if seconds is not None:
        extra["duration_ms"] = round(seconds * 1000, 3)
    return extra


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ``timestamp``, ``level``, ``logger``, ``message``, the fields.

    For ``LOGGING``'s ``formatters``: ``{"json": {"()": "restthumbs.log.JSONFormatter"}}``.
    It formats any logger's records; restthumbs' fields (:data:`FIELDS`) appear
    when the record has them, so the output of other loggers stays valid JSON too.
    Non-ASCII text is escaped, so a line is valid whatever the stream's encoding.
    """

    fields: tuple[str, ...] = FIELDS

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "timestamp": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.fields:
            if name in record.__dict__:
                data[name] = record.__dict__[name]
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """ISO 8601 in UTC with milliseconds (``datefmt``, if given, wins)."""
        if datefmt or self.datefmt:
            return super().formatTime(record, datefmt or self.datefmt)
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def show_in_development() -> None:
    """Under ``DEBUG``, with nothing configured for it, print restthumbs' log on stderr.

    Django's default logging shows its own ``django`` logger under ``DEBUG``
    (runserver's request lines) but nothing of other apps below ``WARNING``, so a
    new project would never see why restthumbs refused a URL. This adds what
    Django adds for itself: a console handler that only speaks under ``DEBUG``.
    It does nothing when the project configures logging for restthumbs or for
    the root logger: then the project decides.
    """
    from django.utils.log import RequireDebugTrue

    from .conf import app_settings

    configured = (app_settings.raw("LOGGING") or {}).get("loggers", {})
    if not app_settings.PROJECT_DEBUG or "restthumbs" in configured or logger.handlers:
        return
    if logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequireDebugTrue())
    handler.setFormatter(logging.Formatter("restthumbs: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
