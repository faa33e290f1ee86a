"""Signed thumbnail URLs, made in this process with the servers' key.

The cold scenarios need URLs nobody has requested yet: :class:`Pool` hands
out every source in one size, then every source in the next size, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .stack import SECRET_KEY

#: Distinct thumbnail sizes of the cold pools: widths 120-359, then the next height.
POOL_WIDTHS = 240


def configure_django() -> None:
    """Just enough Django in this process to sign URLs with the servers' key."""
    import django
    from django.conf import settings

    settings.configure(SECRET_KEY=SECRET_KEY, INSTALLED_APPS=["restthumbs"], USE_TZ=True)
    django.setup()


def thumbnail_url(source: str, size: str) -> str:
    from restthumbs.api import thumbnail_url as signed

    return signed(source, size, "crop", ".jpg")


class Pool:
    """Distinct never-requested thumbnail URLs: every source in one size, then the next size."""

    def __init__(self, sources: Sequence[str]) -> None:
        self.sources = list(sources)
        self.next = 0

    def take(self, count: int) -> list[str]:
        urls = []
        for k in range(self.next, self.next + count):
            step, source = divmod(k, len(self.sources))
            size = f"{120 + step % POOL_WIDTHS}x{90 + step // POOL_WIDTHS}"
            urls.append(thumbnail_url(self.sources[source], size))
        self.next += count
        return urls


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path
