"""The options of ``thumbnails_warm``, worded once, and the parsing of their values."""

from __future__ import annotations

import argparse
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

#: Sources per task with ``--enqueue``: a few seconds of work for 12 MP photos, so
#: the workers share a library evenly and a lost task costs little.
DEFAULT_BATCH_SIZE = 10


def positive_int(value: str) -> int:
    """argparse type for ``--workers`` and ``--batch-size``: an integer >= 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a whole number of at least 1.") % {"value": value}
        )
    return number


def parse_since(value: str) -> datetime:
    """``2024-05-01`` (midnight) or ``2024-05-01T12:00[:00][+02:00]``; naive in TIME_ZONE."""
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time()) if day is not None else None
    except ValueError:
        moment = None
    if moment is None:
        raise argparse.ArgumentTypeError(
            _("--since %(value)r is not a date (2024-05-01) or a date and time.") % {"value": value}
        )
    if timezone.is_naive(moment):
        zone = timezone.get_default_timezone() if settings.USE_TZ else None
        moment = moment.replace(tzinfo=zone) if zone is not None else moment.astimezone()
    return moment


def _since(value: str) -> str:
    parse_since(value)  # refused at the command line, kept as given for the resume file
    return value


def version_options(options: dict[str, Any], field: str | None) -> tuple[str | None, str | None]:
    """``--version`` and ``--version-field``, checked before any work.

    ``--version`` again (``call_command(version=...)`` skips argparse's check);
    ``--version-field`` must name a column of the model ``--field`` names.
    """
    from django.core.exceptions import FieldDoesNotExist
    from django.core.management.base import CommandError

    from ..exceptions import ThumbnailError
    from ..invalidation.fields import resolve_field
    from ..spec import validate_version

    version, version_field = options.get("version"), options.get("version_field")
    if version is not None:
        try:
            validate_version(version)
        except ThumbnailError as e:
            raise CommandError(e.message) from e
    if not version_field:
        return version, None
    if version is not None:
        raise CommandError(_("Give --version or --version-field, not both."))
    if not field:
        raise CommandError(_("--version-field reads the rows --field names; give --field too."))
    model, _field = resolve_field(field)
    try:
        column = model._meta.get_field(version_field)
    except FieldDoesNotExist as e:
        raise CommandError(
            _("--version-field: %(model)s has no field %(field)r.")
            % {"model": model._meta.label, "field": version_field}
        ) from e
    if not getattr(column, "concrete", False) or column.many_to_many or column.one_to_many:
        raise CommandError(
            _(
                "--version-field: %(model)s.%(field)s is not a column of its table (use a "
                "field such as updated_at, a revision number or a content hash)."
            )
            % {"model": model._meta.label, "field": version_field}
        )
    return None, version_field


def add_warm_options(parser: CommandParser) -> None:
    parser.add_argument(
        "--prefix",
        metavar="DIR",
        default="",
        help=_("Only warm images below this directory of the source storage."),
    )
    parser.add_argument(
        "--since",
        metavar="DATE",
        type=_since,
        default=None,
        help=_(
            "Only warm images modified at or after DATE (2024-05-01, or "
            "2024-05-01T12:00:00+00:00; without an offset, in TIME_ZONE)."
        ),
    )
    parser.add_argument(
        "--field",
        metavar="APP.MODEL.FIELD",
        help=_(
            "Warm the files a model's file field references now (e.g. gallery.Photo.image) "
            "instead of walking the source storage: a replaced file is not warmed again."
        ),
    )
    parser.add_argument(
        "--version-field",
        metavar="FIELD",
        default=None,
        help=_(
            "With --field: warm the URLs that carry each row's value of FIELD as their "
            "version (e.g. updated_at, for {%% thumbnail photo.image ... "
            "version=photo.updated_at %%})."
        ),
    )
    parser.add_argument(
        "--resume",
        metavar="FILE",
        default=None,
        help=_(
            "Record progress in FILE and, if it exists, carry on after the last source a "
            "previous run with the same arguments finished. Deleted when a run completes."
        ),
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        type=positive_int,
        default=1,
        help=_("Number of images rendered at once, in threads (default: 1)."),
    )
    parser.add_argument(
        "--fail-on-error",
        action="store_true",
        help=_("Exit with an error status, after the summary, if any image failed."),
    )
    parser.add_argument(
        "--enqueue",
        action="store_true",
        help=_(
            "Send the work to Django's Tasks framework (TASKS), in batches, instead of "
            "rendering here: task workers on any machine render it."
        ),
    )
    parser.add_argument(
        "--batch-size",
        metavar="N",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=_("With --enqueue: images per task (default: %(default)s)."),
    )
    parser.add_argument(
        "--queue",
        metavar="NAME",
        default="",
        help=_("With --enqueue: the task queue (default: the backend's default queue)."),
    )
    parser.add_argument(
        "--backend",
        metavar="ALIAS",
        default="",
        help=_("With --enqueue: the TASKS backend alias (default: 'default')."),
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help=_(
            "With --enqueue: wait for the tasks, show their progress and end with the "
            "summary (the backend must give results back)."
        ),
    )
