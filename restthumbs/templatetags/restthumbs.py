"""``{% load restthumbs %}``: the same tags as ``{% load thumbnail %}``, under a name of its own.

sorl-thumbnail and easy-thumbnails call their libraries ``thumbnail`` too; with
one of them installed, Django warns (``templates.W003``) and one library wins.
``{% load restthumbs %}`` lets both run side by side during a migration.
"""

from __future__ import annotations

from .thumbnail import register

__all__ = ["register"]
