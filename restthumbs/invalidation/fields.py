"""Model file fields named ``app_label.Model.field``, and the sources they reference.

A label names a ``FileField`` (an ``ImageField`` is one) the way
``THUMBNAILS_PURGE_FIELDS`` and ``thumbnails_warm --field`` write it:
``"gallery.Photo.image"``. :func:`referenced_sources` lists the file names the
rows reference now: a replaced file's old name is in no row, so it is not warmed
again. The names stream from the database, sorted and distinct, a chunk at a time.
:func:`referenced_versions` lists them with the version another field of the same
row gives their URLs (``thumbnails_warm --field ... --version-field updated_at``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import FileField, Model

#: Rows fetched per query while streaming the referenced names.
CHUNK_SIZE = 2000


class FieldLabelError(ValueError):
    """A label that does not name a file field of an installed model."""


def resolve_field(label: str) -> tuple[type[Model], FileField]:
    """The model and the ``FileField`` that ``"app_label.Model.field"`` names."""
    model_label, dot, field_name = str(label).rpartition(".")
    if not dot or "." not in model_label:
        raise FieldLabelError(
            f"{label!r} is not a field label: expected app_label.Model.field "
            "(for example gallery.Photo.image)."
        )
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError) as e:
        raise FieldLabelError(f"{label!r}: no installed model {model_label!r}.") from e
    return model, file_field(model, field_name)


def file_field(model: type[Model], field_name: str) -> FileField:
    """``model``'s field ``field_name``, which must be a ``FileField`` (or ``ImageField``)."""
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist as e:
        raise FieldLabelError(f"{model._meta.label} has no field {field_name!r}.") from e
    if not isinstance(field, FileField):
        raise FieldLabelError(
            f"{model._meta.label}.{field_name} is a {type(field).__name__}, not a FileField "
            "or ImageField."
        )
    return field


def referenced_sources(label: str, prefix: str = "", *, after: str = "") -> Iterator[str]:
    """The file names the rows of ``label``'s model reference now (not empty), sorted and
    distinct (in the database's order); with ``prefix``, only those below that directory;
    with ``after``, only those sorting after it (a resumed run)."""
    _model, column, rows = _referencing_rows(label, prefix, after)
    names = rows.order_by(column).values_list(column, flat=True).distinct()
    yield from names.iterator(chunk_size=CHUNK_SIZE)


def referenced_versions(
    label: str, version_field: str, prefix: str = "", *, after: str = ""
) -> Iterator[tuple[str, str | None]]:
    """:func:`referenced_sources` with each name's version: the ``version_field`` of the
    rows that reference it, spelled as the tag spells ``version=row.<version_field>``
    (:func:`restthumbs.versions.format_version`; ``None`` for an empty value).

    Distinct ``(name, version)`` pairs sorted by name: two rows referencing one file with
    two versions give both. A value that is no version (a float, a string with a dot)
    is given as its ``str()``, so that warming that source fails and says why.
    """
    # From ``after`` itself on: a resumed run's state names the last file finished, and
    # another version of that file may not have been; its finished ones are skipped
    # as stored.
    model, column, rows = _referencing_rows(label, prefix, after, inclusive=True)
    version_column = getattr(model._meta.get_field(version_field), "attname", version_field)
    pairs = rows.order_by(column, version_column).values_list(column, version_column).distinct()
    for name, value in pairs.iterator(chunk_size=CHUNK_SIZE):
        yield name, _version_text(value)


def _referencing_rows(
    label: str, prefix: str, after: str, *, inclusive: bool = False
) -> tuple[type[Model], str, Any]:
    """The model, the file column and the rows whose file is set (below ``prefix``, after
    ``after``, or from it on if ``inclusive``)."""
    model, field = resolve_field(label)
    column = field.attname
    rows = model._default_manager.exclude(**{f"{column}__isnull": True}).exclude(**{column: ""})
    if prefix:
        rows = rows.filter(**{f"{column}__startswith": f"{prefix}/"})
    if after:
        rows = rows.filter(**{f"{column}__gte" if inclusive else f"{column}__gt": after})
    return model, column, rows


def _version_text(value: Any) -> str | None:
    from ..exceptions import InvalidSpec
    from ..versions import format_version

    try:
        return format_version(value)
    except InvalidSpec:
        return str(value)


def field_option(label: str | None, since: str | None) -> str | None:
    """``thumbnails_warm --field``, checked before any work: ``None``, or a label naming a
    file field. ``--since`` (a time of the storage's files) does not go with it."""
    from django.core.management.base import CommandError

    if not label:
        return None
    if since:
        raise CommandError("--since walks the source storage; it does not go with --field.")
    try:
        resolve_field(label)
    except FieldLabelError as e:
        raise CommandError(f"--field: {e}") from e
    return label
