"""Small helpers for assertions in tests."""

from __future__ import annotations

import os
from pathlib import Path


def files_under(directory: Path) -> list[str]:
    """Every file below ``directory`` (relative paths), temporary files included."""
    if not directory.exists():
        return []
    return sorted(
        os.path.relpath(os.path.join(root, f), directory)
        for root, _, names in os.walk(directory)
        for f in names
    )


def body(response: object) -> bytes:
    """The whole body of a (possibly streaming) response."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content  # type: ignore[attr-defined,no-any-return]
