"""What the harness needs from the machine, and the one error when it is not there.

A server binary or a Python package that cannot be found raises :class:`Missing`.
The harness does not decide what that means: the test suite turns it into a
skip, or a failure under ``CI=true`` (``testsuite/outcomes.py``); the benchmark
prints it and exits.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

#: Where distributions put nginx when /usr/sbin is not on a user's PATH.
EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/local/nginx/sbin")


class Missing(Exception):
    """A server binary or a Python package the harness needs is not installed.

    Not an ``ImportError`` on purpose: pytest turns an ImportError raised while
    importing a test module into a collection error before anyone can decide.
    """


def missing_message(what: str) -> str:
    return (
        f"{what} is needed by the integration tests and was not found. Install it "
        "(Debian: apt-get install nginx-light redis-server memcached chromium "
        "chromium-driver; .ci/run does) or deselect "
        "them with -m 'not integration'."
    )


def find_binary(name: str) -> str:
    """The path of ``name`` on PATH or in the usual sbin directories, or :class:`Missing`."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(EXTRA_BIN_DIRS))
    if found is None:
        raise Missing(missing_message(f"`{name}`"))
    return found


def require_module(name: str) -> ModuleType:
    """Import a package the harness needs (the ``test`` extra installs them), or :class:`Missing`."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise Missing(
            missing_message(f"the Python package `{name}` (pip install -e '.[test]')")
        ) from e
