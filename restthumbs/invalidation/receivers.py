"""Purge the thumbnails of a model's file when it is replaced or deleted.

:func:`watch` (``restthumbs.invalidation.purge_on_change(Photo, "image")``, or
``THUMBNAILS_PURGE_FIELDS = ["gallery.Photo.image"]``) connects three receivers:

- ``pre_save`` remembers the name the database holds for the row (one query by
  primary key, skipped for a new row or an ``update_fields`` without the field)
  and whether a new file is being uploaded;
- ``post_save`` purges, once the transaction commits, the thumbnails of the old
  name if the name changed, or if a new file was written (a storage that
  overwrites, as S3 does by default, keeps the name), and those of the new name
  when a file was uploaded (thumbnails left by an earlier file of that name);
- ``post_delete`` purges the thumbnails of the deleted row's file once the
  transaction commits.

A rolled-back transaction purges nothing. A purge that fails (the storage
unreachable) never fails the request that saved the row: it is logged, with the
command that finishes it. Subclasses and proxies of the model are watched too.
Django itself never deletes the source file; that stays the project's choice.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.db import transaction
from django.db.models import FileField, Model
from django.db.models.signals import post_delete, post_save, pre_save

from ..conf import app_settings
from .fields import FieldLabelError, file_field, resolve_field
from .purge import purge_source

logger = logging.getLogger("restthumbs")

#: Where ``pre_save`` leaves the previous name for ``post_save``, on the instance.
PREVIOUS = "_restthumbs_previous"

_watched: dict[tuple[str, str], FieldWatcher] = {}


class FieldWatcher:
    """The receivers of one model's file field."""

    def __init__(self, model: type[Model], field: FileField) -> None:
        self.model = model
        self.field = field

    def pre_save(
        self, sender: Any, instance: Model, using: str, update_fields: Any = None, **kwargs: Any
    ) -> None:
        if not isinstance(instance, self.model):
            return
        if update_fields is not None and self.field.name not in update_fields:
            return
        attname = self.field.attname
        current = getattr(instance, attname)
        uploading = bool(current) and not getattr(current, "_committed", True)
        old = None
        if instance.pk is not None:
            rows = self.model._base_manager.using(using).filter(pk=instance.pk)
            old = rows.values_list(attname, flat=True).first()
        instance.__dict__.setdefault(PREVIOUS, {})[attname] = (old or "", uploading)

    def post_save(self, sender: Any, instance: Model, using: str, **kwargs: Any) -> None:
        if not isinstance(instance, self.model):
            return
        previous = instance.__dict__.get(PREVIOUS, {}).pop(self.field.attname, None)
        if previous is None:
            return
        old, uploading = previous
        new = getattr(instance, self.field.attname).name or ""
        stale = []
        if old and (old != new or uploading):
            stale.append(old)
        if uploading and new and new != old:
            stale.append(new)
        for path in stale:
            self._purge_on_commit(path, using)

    def post_delete(self, sender: Any, instance: Model, using: str, **kwargs: Any) -> None:
        if not isinstance(instance, self.model):
            return
        name = getattr(instance, self.field.attname).name
        if name:
            self._purge_on_commit(name, using)

    def _purge_on_commit(self, path: str, using: str) -> None:
        label = f"{self.model._meta.label}.{self.field.name}"
        transaction.on_commit(functools.partial(purge_quietly, path, label), using=using)


def purge_quietly(path: str, label: str) -> None:
    """Purge ``path``'s thumbnails after a commit; a failure is logged, never raised."""
    try:
        count = purge_source(path)
    except Exception as e:
        logger.warning(
            "The thumbnails of %s (changed in %s) could not be purged: %s: %s. "
            "Run: manage.py thumbnails_purge %s",
            path,
            label,
            type(e).__name__,
            e,
            path,
            extra={"source": path, "reason": "purge_failed"},
        )
        return
    logger.info(
        "Purged %d thumbnail(s) of %s (changed in %s)",
        count,
        path,
        label,
        extra={"source": path, "reason": "source_changed"},
    )


def watch(model: type[Model], field_name: str) -> FieldWatcher:
    """Connect the receivers of ``model.<field_name>`` (once: a second call is a no-op)."""
    field = file_field(model, field_name)
    key = (model._meta.label_lower, field.name)
    if key in _watched:
        return _watched[key]
    watcher = _watched[key] = FieldWatcher(model, field)
    uid = f"restthumbs:{key[0]}.{key[1]}"
    pre_save.connect(watcher.pre_save, weak=False, dispatch_uid=f"{uid}:pre_save")
    post_save.connect(watcher.post_save, weak=False, dispatch_uid=f"{uid}:post_save")
    post_delete.connect(watcher.post_delete, weak=False, dispatch_uid=f"{uid}:post_delete")
    return watcher


def unwatch(model: type[Model], field_name: str) -> None:
    """Disconnect what :func:`watch` connected (tests, or a project that changes its mind)."""
    key = (model._meta.label_lower, field_name)
    if _watched.pop(key, None) is None:
        return
    uid = f"restthumbs:{key[0]}.{key[1]}"
    pre_save.disconnect(dispatch_uid=f"{uid}:pre_save")
    post_save.disconnect(dispatch_uid=f"{uid}:post_save")
    post_delete.disconnect(dispatch_uid=f"{uid}:post_delete")


def watch_configured() -> None:
    """Watch every field ``THUMBNAILS_PURGE_FIELDS`` names (from ``AppConfig.ready``).

    A label that names no file field is skipped here and reported by the system
    check ``restthumbs.E030``.
    """
    for label in app_settings.PURGE_FIELDS:
        try:
            model, field = resolve_field(label)
        except FieldLabelError:
            continue
        watch(model, field.name)
