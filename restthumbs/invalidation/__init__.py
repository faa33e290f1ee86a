"""Invalidation: thumbnails purged when their source changes, and purges on demand.

- :func:`purge_on_change` ties a model's ``FileField``/``ImageField`` to restthumbs
  in one line (or name it in ``THUMBNAILS_PURGE_FIELDS``): replacing or deleting the
  file purges its thumbnails once the transaction commits (:mod:`.receivers`).
- :func:`purge_source` deletes every stored thumbnail of one source now.
- :mod:`.purge` selects and deletes thumbnails by source, prefix, version and
  orphans, in batches (``thumbnails_purge``); :mod:`.fields` names model fields
  (``app_label.Model.field``) and lists the sources they reference
  (``thumbnails_warm --field``).

Every purge also makes the shared cache forget those thumbnails
(:mod:`restthumbs.stored`), so no hit is answered from a stale memory. This module
imports nothing at import time: :mod:`restthumbs.conf` imports its settings.
"""

from __future__ import annotations

from typing import Any


def purge_on_change(model: Any, field_name: str) -> None:
    """Purge the thumbnails of ``model.<field_name>``'s file when it is replaced or
    deleted, after the transaction commits. Connecting the same field twice is harmless."""
    from .receivers import watch

    watch(model, field_name)


def purge_source(source_path: str) -> int:
    """Delete every stored thumbnail of ``source_path`` (all sizes, formats and versions)
    and forget them in the shared cache; returns how many were deleted."""
    from .purge import purge_source as purge

    return purge(source_path)


__all__ = ["purge_on_change", "purge_source"]
