"""System checks for restthumbs (``manage.py check``), registered when this package is imported.

Misconfiguration is reported here, with a stable id and a hint, rather than as a
crash at the first request: :mod:`.config` checks the settings (:mod:`.presets`
the presets), :mod:`.urls` how the view is mounted, :mod:`.deploy` whether the
response backend can work as configured (some only with ``check --deploy``),
:mod:`.remote` the remote sources, :mod:`.invalidation` the watched fields and the
memory of stored thumbnails.
The ids are listed in ``docs/settings.md``.
"""

from __future__ import annotations

from . import config, deploy, invalidation, presets, remote, urls

__all__ = ["config", "deploy", "invalidation", "presets", "remote", "urls"]
