"""``thumbnails_warm SIZE METHOD EXT [SPEC ...]`` (or ``PRESET``): render every missing thumbnail.

There is no second copy of the pipeline here: each source goes through
:func:`restthumbs.warming.passes.warm_source`, which names, signs, locks and
stores each thumbnail as a request would (``thumbnail_rendered`` sent), and
decodes the source once for all the specs asked for. The sources are streamed
(:mod:`restthumbs.warming.sources`); ``--enqueue`` hands them to the task
backend in batches instead of rendering here (:mod:`restthumbs.warming.tasks`).
A bad image is a failure in the summary, never the end of the run.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from restthumbs.exceptions import ThumbnailError
from restthumbs.invalidation.fields import field_option, referenced_sources, referenced_versions
from restthumbs.spec import validate_source_path
from restthumbs.storage import source_storage
from restthumbs.warming.options import (
    add_warm_options,
    parse_since,
    positive_int,
    version_options,
)
from restthumbs.warming.passes import FAILED, RENDERED, SourceOutcome
from restthumbs.warming.progress import Counter, Progress
from restthumbs.warming.runner import MAX_LISTED_FAILURES, Batch, enqueue_all, run_here
from restthumbs.warming.sources import Source, stream_sources
from restthumbs.warming.specs import WarmSpec, parse_specs
from restthumbs.warming.state import ResumeState, StateMismatch

from ..arguments import VersionedCommand, add_spec, add_version

__all__ = ["Command", "positive_int"]


class Command(VersionedCommand):
    help_text = _lazy(
        "Render every missing thumbnail of SIZE, METHOD and EXT (or of a PRESET of "
        "THUMBNAILS_PRESETS), and of each further SPEC, for the images of the source storage "
        "(or of --prefix), decoding each image once. Stored thumbnails are skipped; a bad "
        "image is reported and skipped. Ends with a summary: rendered, skipped, failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_spec(parser, preset=True)
        parser.add_argument(
            "more",
            metavar="SPEC",
            nargs="*",
            help=_(
                "More thumbnails of each image: further SIZE METHOD EXT triples or preset "
                "names (e.g. 800x scale webp avatar); one decode serves them all."
            ),
        )
        add_warm_options(parser)
        add_version(
            parser,
            _("Warm the URLs that carry this version (the tag's version=...)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        words = [options["size"], options.get("method"), options.get("ext")]
        words = [w for w in words if w is not None] + list(options.get("more") or [])
        try:
            specs = parse_specs(words)
        except ThumbnailError as e:
            raise CommandError(e.message) from e
        workers = options["workers"]
        if not isinstance(workers, int) or workers < 1:  # call_command(workers=...) skips argparse
            raise CommandError(_("--workers must be a whole number of at least 1."))
        if options["enqueue"] and workers > 1:
            raise CommandError(
                _(
                    "--workers is for a run in this process; with --enqueue, "
                    "start more task workers instead."
                )
            )
        if options["wait"] and not options["enqueue"]:
            raise CommandError(_("--wait goes with --enqueue."))
        prefix = clean_prefix(options["prefix"])
        self.field = field_option(options.get("field"), options.get("since"))
        self.version, self.version_field = version_options(options, self.field)
        try:
            since = parse_since(options["since"]) if options["since"] else None
        except argparse.ArgumentTypeError as e:  # from call_command(since=...)
            raise CommandError(str(e)) from e
        state = self._state(options["resume"], specs, prefix, options["since"])
        verbosity = int(options["verbosity"])
        raw = getattr(self.stdout, "_out", self.stdout)  # the bar needs no newline added
        self.progress = Progress(raw, tty=self.stdout.isatty(), enabled=verbosity >= 1)
        self.failures: list[tuple[str, str]] = []
        self.failed_sources = 0
        after = ""
        if state is not None:
            try:
                after = state.load()
            except (StateMismatch, ValueError) as e:
                raise CommandError(str(e)) from e
        counter = Counter(
            self.progress,
            lambda: self._sources(prefix, since, after),
        )
        if verbosity >= 1:
            counter.start()
        paths = self._listed(prefix, since, after)
        completed = False
        try:
            if options["enqueue"]:
                self._enqueue(paths, specs, options, state)
            else:
                self._run_here(paths, specs, workers, verbosity, state)
            completed = True
        finally:
            counter.stop()
            self.progress.clear()
            if state is not None:
                state.finish() if completed else state.save()
        self._summarize(options, verbosity)

    # -- the two ways to run ------------------------------------------------------

    def _run_here(
        self,
        paths: Iterator[Source],
        specs: list[WarmSpec],
        workers: int,
        verbosity: int,
        state: ResumeState | None,
    ) -> None:
        for outcome in run_here(paths, specs, workers):
            self.progress.add(outcome.rendered, outcome.skipped, outcome.failed)
            if outcome.failed:
                self._failed(outcome.path, outcome.message)
            if verbosity >= 2:
                self.progress.note(
                    f"[{self.progress.sources}] {outcome.path}: {status_text(outcome, len(specs))}",
                    self.stdout,
                )
            if state is not None:
                state.advance(outcome.path)

    def _enqueue(
        self,
        paths: Iterator[Source],
        specs: list[WarmSpec],
        options: dict[str, Any],
        state: ResumeState | None,
    ) -> None:
        try:
            from restthumbs.warming import tasks
        except ImproperlyConfigured as e:  # no Tasks framework, or TASKS is wrong
            raise CommandError(str(e)) from e
        backend = options["backend"] or None
        self.enqueued = self.tasks = 0

        def enqueued(batch: list[Source]) -> None:
            self.enqueued += len(batch)
            self.tasks += 1
            if not options["wait"]:
                self.progress.add(0, 0, 0, sources=len(batch))
            if state is not None:
                state.advance(batch[-1].path, len(batch))

        batches = tasks.batches(paths, options["batch_size"])
        done: Batch
        try:
            for done in enqueue_all(
                batches,
                specs,
                queue=options["queue"] or None,
                backend=backend,
                wait=options["wait"],
                on_enqueued=enqueued,
            ):
                self.progress.add(done.rendered, done.skipped, done.failed, sources=done.sources)
                for path, message in done.failures:
                    self._failed(path, message)
        except (tasks.CannotWait, ImproperlyConfigured) as e:  # ... or an unknown --backend
            raise CommandError(str(e)) from e

    # -- the walk, the resume file, the report -------------------------------------

    def _sources(self, prefix: str, since: datetime | None, after: str) -> Iterator[Source]:
        if self.field and self.version_field:  # each row's version
            for name, version in referenced_versions(
                self.field, self.version_field, prefix, after=after
            ):
                yield Source(name, version)
            return
        if self.field:  # what the model's rows reference (restthumbs.invalidation.fields)
            names = referenced_sources(self.field, prefix, after=after)
        else:
            names = stream_sources(source_storage(), prefix, since=since, after=after)
        for name in names:
            yield Source(name, self.version)

    def _listed(self, prefix: str, since: datetime | None, after: str) -> Iterator[Source]:
        try:
            yield from self._sources(prefix, since, after)
        except (FileNotFoundError, NotADirectoryError) as e:
            if not prefix:
                return  # an empty (never written) source storage: nothing to warm
            raise CommandError(
                _("There is no directory %(prefix)s in the source storage.") % {"prefix": prefix}
            ) from e
        except ThumbnailError:
            raise
        except Exception as e:  # S3 unreachable, access denied...: say so, not a traceback
            raise CommandError(
                _("The source storage could not be listed: %(error)s") % {"error": e}
            ) from e

    def _state(
        self, path: str | None, specs: list[WarmSpec], prefix: str, since: str | None
    ) -> ResumeState | None:
        if not path:
            return None
        run = {"specs": [list(s) for s in specs], "prefix": prefix, "since": since or None}
        if self.field:  # another walk: a file of one is no position in the other
            run["field"] = str(self.field)
        if self.version is not None:
            run["version"] = self.version
        if self.version_field:
            run["version_field"] = self.version_field
        return ResumeState(path, run)

    def _failed(self, path: str, message: str) -> None:
        self.failed_sources += 1
        self.progress.note(f"{path}: {message}", self.stderr)
        if len(self.failures) < MAX_LISTED_FAILURES:
            self.failures.append((path, message))

    def _summarize(self, options: dict[str, Any], verbosity: int) -> None:
        p = self.progress
        if options["enqueue"] and not options["wait"]:
            self.stdout.write(
                _("Enqueued %(sources)d sources in %(tasks)d tasks; task workers render them.")
                % {"sources": self.enqueued, "tasks": self.tasks},
                self.style.SUCCESS,
            )
            return
        if self.failures and verbosity >= 1:
            self.stdout.write(_("Failed (%(count)d):") % {"count": self.failed_sources})
            for path, message in self.failures:
                self.stdout.write(f"  {path}: {message}")
            if self.failed_sources > len(self.failures):
                self.stdout.write(_("  ... and more, listed above on stderr."))
        summary = _("Rendered %(rendered)d, skipped %(skipped)d, failed %(failed)d.") % {
            "rendered": p.rendered,
            "skipped": p.skipped,
            "failed": p.failed,
        }
        self.stdout.write(summary, self.style.WARNING if p.failed else self.style.SUCCESS)
        if options["fail_on_error"] and p.failed:
            raise CommandError(
                _("%(failed)d image(s) could not be thumbnailed.") % {"failed": p.failed}
            )


def status_text(outcome: SourceOutcome, specs: int) -> str:
    """``rendered (12.3 ms)``, ``skipped (exists)``, ``failed: ...``; counts for several specs."""
    if outcome.status == FAILED:
        return _("failed: %(message)s") % {"message": outcome.message}
    if specs > 1:
        return _("rendered %(r)d, skipped %(s)d (%(ms).1f ms)") % {
            "r": outcome.rendered,
            "s": outcome.skipped,
            "ms": outcome.duration * 1000,
        }
    if outcome.status == RENDERED:
        return _("rendered (%(ms).1f ms)") % {"ms": outcome.duration * 1000}
    return _("skipped (exists)")


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
