"""What a missing server means to the test suite: a skip here, a failure under ``CI=true``.

The harness (:mod:`testsuite.harness`) raises :class:`~testsuite.harness.Missing`
when a server binary or a Python package is not installed; ``conftest.py``
passes every test's setup and call, and every test module's import, through
:func:`missing_is_skip_or_fail`. CI installs the servers (``.ci/run``), so a
missing one there is a broken setup, not a reason to pass quietly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from .harness import Missing


@contextmanager
def missing_is_skip_or_fail() -> Iterator[None]:
    """Turn :class:`Missing` raised inside into ``pytest.skip``, or ``pytest.fail`` under CI."""
    try:
        yield
    except Missing as e:
        # "from None": the message alone, not the chain of exceptions that led to it.
        if os.environ.get("CI") == "true":
            raise pytest.fail.Exception(str(e), pytrace=False) from None
        raise pytest.skip.Exception(str(e), allow_module_level=True) from None
