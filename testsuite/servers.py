"""Moved to :mod:`testsuite.harness`; only ``require_module`` is left here.

test_s3.py and test_locks.py still call ``servers.require_module``; their owners
switch them to ``testsuite.harness`` and this file goes. A
:class:`~testsuite.harness.Missing` it raises skips, or fails under ``CI=true``
(conftest.py).
"""

from __future__ import annotations

from .harness import require_module

__all__ = ["require_module"]
