"""Configure Django for the ``restthumbs`` command, and the command's error type.

Django is configured here, when a command runs, never at import: importing
restthumbs' command line is harmless in a process that has its own settings.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

#: Where ``--secret-key`` comes from when the flag is not given.
SECRET_KEY_ENV = "RESTTHUMBS_SECRET_KEY"


class CommandError(Exception):
    """A failure reported as one line on stderr; ``status`` 2 for usage, 1 otherwise."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def secret_key_from(args: argparse.Namespace) -> str:
    """The flag, else the environment; empty when neither is set."""
    if args.secret_key is not None:
        return str(args.secret_key)
    return os.environ.get(SECRET_KEY_ENV, "")


def configure(**options: Any) -> None:
    """Configure Django with the embedded settings and set it up.

    Done here, not at import: ``settings.configure()`` works once per process.
    """
    import django
    from django.conf import settings

    from .settings import build

    if settings.configured:
        raise CommandError(
            "Django settings are already configured in this process; inside a Django "
            "project use manage.py thumbnails_url and restthumbs.urls instead.",
            status=1,
        )
    settings.configure(**build(**options))
    django.setup()
