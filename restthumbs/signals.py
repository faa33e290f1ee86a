"""Signals sent by restthumbs."""

from django.dispatch import Signal

#: Sent once for every render actually performed (never for a stored thumbnail),
#: with ``sender=ThumbnailSpec`` and the keyword arguments ``spec``,
#: ``source_path``, ``thumbnail_path`` (the storage name) and ``duration`` (seconds).
thumbnail_rendered = Signal()
