"""System checks for restthumbs (``manage.py check``), registered when this package is imported.

Misconfiguration is reported here, with a stable id and a hint, rather than as a
crash at the first request: :mod:`.config` checks the settings (:mod:`.presets`
the presets), :mod:`.urls` how the view is mounted, :mod:`.deploy` whether the
response backend can work as configured (some only with ``check --deploy``),
:mod:`.remote` the remote sources.
The ids are listed in ``docs/settings.md``.
"""

from __future__ import annotations

from . import config, deploy, presets, remote, urls

__all__ = ["config", "deploy", "presets", "remote", "urls"]
