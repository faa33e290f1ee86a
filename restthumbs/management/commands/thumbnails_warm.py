"""``thumbnails_warm SIZE METHOD EXT`` (or ``PRESET``): render every missing thumbnail.

There is no second copy of the pipeline here: each image goes through the
same steps as a request (``build_spec``, ``sign``, ``ensure_thumbnail``), so a
warmed thumbnail is byte for byte the one the view would have rendered, under
the same lock, written atomically, with ``thumbnail_rendered`` sent.

The sources are those :func:`restthumbs.walk.walk_images` finds (on S3 as on
disk). A bad image is a failure in the summary, never the end of the run.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from restthumbs.ensure import ensure_thumbnail
from restthumbs.exceptions import ThumbnailError
from restthumbs.policy import enforce
from restthumbs.presets import get_preset, is_preset_name
from restthumbs.signing import sign
from restthumbs.spec import (
    ThumbnailSpec,
    build_spec,
    normalize_ext,
    parse_size,
    validate_method,
    validate_source_path,
)
from restthumbs.storage import source_storage
from restthumbs.walk import walk_images

from ..arguments import TranslatedCommand, add_spec

logger = logging.getLogger("restthumbs")

RENDERED, SKIPPED, FAILED = "rendered", "skipped", "failed"


@dataclass(frozen=True)
class Outcome:
    """What happened to one source file."""

    path: str
    status: str
    duration: float = 0.0
    message: str = ""


def positive_int(value: str) -> int:
    """argparse type for ``--workers``: an integer >= 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a whole number of at least 1.") % {"value": value}
        )
    return number


# -- rendering ---------------------------------------------------------------


def warm_one(path: str, size: str, method: str, ext: str) -> Outcome:
    """Ensure the thumbnail of ``path`` exists; never raises for a bad file.

    ``ImproperlyConfigured`` is re-raised: it would fail every file the same way.
    """
    try:
        spec = build_spec(path, size, method, ext)
        result = ensure_thumbnail(spec, sign(spec))
    except ThumbnailError as e:
        return Outcome(path, FAILED, message=f"{e.log_message} ({e.reason})")
    except ImproperlyConfigured:
        raise
    except Exception as e:
        logger.exception("Unexpected error while warming %s", path, extra={"source": path})
        message = _("unexpected error: %(error)s") % {"error": f"{type(e).__name__}: {e}"}
        return Outcome(path, FAILED, message=message)
    if result.rendered:
        return Outcome(path, RENDERED, duration=result.duration)
    return Outcome(path, SKIPPED)


def ordered_results(
    executor: ThreadPoolExecutor, fn: Callable[[str], Outcome], items: Iterable[str], window: int
) -> Iterator[Outcome]:
    """Like ``executor.map`` (results in input order) with at most ``window`` tasks
    queued, so warming a million files does not hold a million futures."""
    pending: deque[Future[Outcome]] = deque()
    for item in items:
        pending.append(executor.submit(fn, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class Command(TranslatedCommand):
    help_text = _lazy(
        "Render every missing thumbnail of SIZE, METHOD and EXT (or of a PRESET of "
        "THUMBNAILS_PRESETS) for the images of the source storage (or of --prefix). Stored "
        "thumbnails are skipped; a bad image is reported and skipped. Ends with a summary: "
        "rendered, skipped, failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_spec(parser, preset=True)
        parser.add_argument(
            "--prefix",
            metavar="DIR",
            default="",
            help=_("Only warm images below this directory of the source storage."),
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

    def handle(self, *args: Any, **options: Any) -> None:
        size, method, ext = resolve_spec(options["size"], options.get("method"), options.get("ext"))
        workers = options["workers"]
        if not isinstance(workers, int) or workers < 1:  # call_command(workers=...) skips argparse
            raise CommandError(_("--workers must be a whole number of at least 1."))
        check_spec(size, method, ext)
        paths = self._collect(clean_prefix(options["prefix"]))
        counts = self._run(paths, size, method, ext, workers, int(options["verbosity"]))
        self._summarize(counts, options["fail_on_error"])

    def _collect(self, prefix: str) -> list[str]:
        try:
            return list(walk_images(source_storage(), prefix))
        except (FileNotFoundError, NotADirectoryError) as e:
            if not prefix:
                return []  # an empty (never written) source storage: nothing to warm
            raise CommandError(
                _("There is no directory %(prefix)s in the source storage.") % {"prefix": prefix}
            ) from e
        except Exception as e:  # S3 unreachable, access denied...: say so, not a traceback
            raise CommandError(
                _("The source storage could not be listed: %(error)s") % {"error": e}
            ) from e

    def _run(
        self, paths: list[str], size: str, method: str, ext: str, workers: int, verbosity: int
    ) -> Counter[str]:
        counts: Counter[str] = Counter({RENDERED: 0, SKIPPED: 0, FAILED: 0})
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbnails_warm")
        try:
            results = ordered_results(
                executor, lambda p: warm_one(p, size, method, ext), paths, workers * 4
            )
            for index, outcome in enumerate(results, 1):
                counts[outcome.status] += 1
                self._report(index, len(paths), outcome, verbosity)
        finally:
            # On Ctrl-C or a configuration error, drop the queue but let the
            # renders in progress finish (their writes are atomic anyway).
            executor.shutdown(wait=True, cancel_futures=True)
        return counts

    def _report(self, index: int, total: int, outcome: Outcome, verbosity: int) -> None:
        if outcome.status == RENDERED:
            status = _("rendered (%(ms).1f ms)") % {"ms": outcome.duration * 1000}
        elif outcome.status == SKIPPED:
            status = _("skipped (exists)")
        else:
            status = _("failed: %(message)s") % {"message": outcome.message}
            self.stderr.write(f"{outcome.path}: {outcome.message}")
        if verbosity >= 1:
            style = self.style.ERROR if outcome.status == FAILED else None
            self.stdout.write(f"[{index}/{total}] {outcome.path}: {status}", style)
            self.stdout.flush()  # progress must show when piped to a log, not at the end

    def _summarize(self, counts: Counter[str], fail_on_error: bool) -> None:
        summary = _("Rendered %(rendered)d, skipped %(skipped)d, failed %(failed)d.") % {
            "rendered": counts[RENDERED],
            "skipped": counts[SKIPPED],
            "failed": counts[FAILED],
        }
        self.stdout.write(summary, self.style.WARNING if counts[FAILED] else self.style.SUCCESS)
        if fail_on_error and counts[FAILED]:
            raise CommandError(
                _("%(failed)d image(s) could not be thumbnailed.") % {"failed": counts[FAILED]}
            )


def resolve_spec(size: str, method: str | None, ext: str | None) -> tuple[str, str, str]:
    """``SIZE METHOD EXT`` as given, or a preset's: a preset name stands alone."""
    try:
        preset = get_preset(size)
    except ThumbnailError as e:
        raise CommandError(e.message) from e
    if preset is not None and method is None and ext is None:
        return preset.size, preset.method, preset.ext
    if preset is None and method is not None and ext is not None:
        return size, method, ext
    if preset is not None:
        raise CommandError(_("A preset stands alone: give PRESET, or SIZE METHOD EXT."))
    if method is None and is_preset_name(size):
        raise CommandError(_("There is no preset %(name)r in THUMBNAILS_PRESETS.") % {"name": size})
    raise CommandError(_("Give SIZE METHOD EXT (e.g. 200x200 crop .jpg), or the name of a preset."))


def check_spec(size: str, method: str, ext: str) -> None:
    """Refuse a bad SIZE/METHOD/EXT, or a size the policy refuses, before any work."""
    try:
        width, height = parse_size(size)
        spec = ThumbnailSpec("", width, height, validate_method(method), normalize_ext(ext))
        enforce(spec)
    except ThumbnailError as e:
        raise CommandError(e.message) from e


def clean_prefix(prefix: str) -> str:
    """``""`` for the whole storage; else a validated relative directory (``a/`` -> ``a``)."""
    if not prefix:
        return ""
    if len(prefix) > 1:
        prefix = prefix.removesuffix("/")
    try:
        return validate_source_path(prefix)
    except ThumbnailError as e:
        raise CommandError(_("Invalid --prefix: %(error)s") % {"error": e.message}) from e
