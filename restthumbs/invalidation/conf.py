"""The settings of invalidation and of the stored memory, mixed into ``AppSettings``.

Read like every other setting (at call time, remembered until ``setting_changed``);
kept here so that ``conf.py`` stays one screenful per concern. Documented in
docs/settings.md and docs/operations.md. Nothing here imports Django's settings:
:meth:`_get` is ``AppSettings``' own.
"""

from __future__ import annotations

from typing import TypeVar

_T = TypeVar("_T")

#: How long the shared cache remembers that a thumbnail is stored: an hour. A
#: thumbnail deleted behind restthumbs' back (not by a purge) is answered as stored
#: for at most this long; a hot thumbnail costs one storage look per hour.
DEFAULT_STORED_CACHE_TIMEOUT = 3600


class InvalidationSettings:
    """``THUMBNAILS_STORED_CACHE_TIMEOUT`` and ``THUMBNAILS_PURGE_FIELDS``."""

    def _get(self, name: str, default: _T) -> _T:  # pragma: no cover - AppSettings' own
        raise NotImplementedError

    @property
    def STORED_CACHE_TIMEOUT(self) -> int:
        """Seconds the shared cache remembers a stored thumbnail; ``0``: never."""
        return int(self._get("THUMBNAILS_STORED_CACHE_TIMEOUT", DEFAULT_STORED_CACHE_TIMEOUT))

    @property
    def PURGE_FIELDS(self) -> list[str]:
        """``"app_label.Model.field"`` labels of file fields whose changes purge thumbnails."""
        return list(self._get("THUMBNAILS_PURGE_FIELDS", []))
