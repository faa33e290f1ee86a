"""The thumbnail view: verify, parse, ensure, respond.

This is the one place where domain errors become HTTP statuses. Every error
response carries ``Cache-Control: no-store`` so no CDN or proxy keeps a
transient failure; every success carries ``public, max-age=...``, unless the
response backend set its own ``Cache-Control`` (a redirect to an expiring URL).
"""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from . import caching, log, metrics
from . import exceptions as exc
from .conf import app_settings
from .ensure import Result, render_missing
from .placeholder import placeholder_response
from .policy import enforce
from .responses import get_backend
from .signing import verify
from .spec import ThumbnailSpec, parse_name
from .storage import thumbnail_storage

logger = logging.getLogger("restthumbs")

#: Domain error -> status. Subclasses are looked up through their MRO.
STATUS_BY_ERROR: dict[type[exc.ThumbnailError], int] = {
    exc.NotAThumbnailURL: 404,
    exc.InvalidSourcePath: 404,
    exc.SourceNotFound: 404,
    exc.InvalidSpec: 400,
    exc.BadSignature: 401,
    exc.BadSourceImage: 422,
    exc.ThumbnailBusy: 503,
    exc.StorageWriteError: 503,
    exc.StorageUnavailable: 503,
    # Remote sources (docs/remote.md): refused by policy 4xx, a failing origin 502/504.
    exc.RemoteRefused: 403,
    exc.RemoteAddressRefused: 403,
    exc.RemoteTooManyRedirects: 403,
    exc.RemoteTooLarge: 422,
    exc.RemoteNotAnImage: 422,
    exc.OriginUnavailable: 502,
    exc.OriginTimeout: 504,
    exc.BrowserUnavailable: 503,
}


def status_for(error: exc.ThumbnailError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_response(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = caching.NO_STORE
    response["X-Content-Type-Options"] = "nosniff"
    return response


def serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """Serve ``<source_path>/<size>/<method>/<secret>.<ext>`` (``path`` is URL-decoded)."""
    start = time.perf_counter()
    if request.method not in ("GET", "HEAD"):
        _refused(path, None, "method_not_allowed", 405, request.method or "", start)
        not_allowed = error_response(405, _("Method not allowed."))
        not_allowed["Allow"] = "GET, HEAD"
        return not_allowed
    spec: ThumbnailSpec | None = None
    try:
        spec, secret = parse_name(path)
        verify(spec, secret)
        enforce(spec)
        response, result = _respond(request, spec, secret)
    except exc.ThumbnailError as error:
        if isinstance(error, exc.SourceNotFound) and spec is not None and app_settings.PLACEHOLDER:
            logger.info("Placeholder for %s: its source is missing", path)
            return placeholder_response(spec, app_settings.quality_for(spec.format))
        status = status_for(error)
        _refused(path, spec, error.reason, status, error.log_message, start)
        response = error_response(status, error.message)
        if error.retry_after is not None:
            response["Retry-After"] = str(error.retry_after)
        return response
    except Exception:
        if app_settings.PROJECT_DEBUG:
            raise  # let Django's debug page show the traceback
        metrics.record_reject("internal_error")
        logger.exception(
            "Failed to serve %s",
            path,
            extra=log.fields(
                log.REFUSE,
                spec,
                thumbnail=path,
                reason="internal_error",
                status=500,
                seconds=time.perf_counter() - start,
            ),
        )
        return error_response(500, _("Internal error while serving the thumbnail."))
    if response.status_code < 400 and not response.has_header("Cache-Control"):
        # A backend that set its own (a redirect to an expiring URL: private) keeps it.
        response["Cache-Control"] = caching.public()
    timing = server_timing(result, start)
    if timing:
        response["Server-Timing"] = timing
    return response


def _respond(
    request: HttpRequest, spec: ThumbnailSpec, secret: str
) -> tuple[HttpResponseBase, Result]:
    """A hit as the backend answers it (one read where it can), else render, then respond."""
    backend = get_backend()
    storage = thumbnail_storage()
    name = spec.name(secret)
    response = backend.serve_stored(request, storage, name, spec.content_type)
    if response is not None:
        return response, Result(name, storage, rendered=False)
    result = render_missing(spec, secret)  # the backend has just looked: no second look
    return backend.respond(request, result.storage, result.name, spec.content_type), result


def server_timing(result: Result, start: float) -> str | None:
    """``lock;dur=``, ``render;dur=``, ``total;dur=`` in ms; ``None`` for a plain hit.

    A hit says nothing (and costs nothing): only work done for this request is reported.
    """
    if not (result.rendered or result.waited):
        return None
    parts = []
    if result.waited:
        parts.append(f"lock;dur={result.waited * 1000:.1f}")
    if result.rendered:
        parts.append(f"render;dur={result.duration * 1000:.1f}")
    parts.append(f"total;dur={(time.perf_counter() - start) * 1000:.1f}")
    return ", ".join(parts)


def _refused(
    path: str, spec: ThumbnailSpec | None, reason: str, status: int, message: str, start: float
) -> None:
    """Log and count a refusal; ``WARNING`` for the 5xx an operator must look at."""
    metrics.record_reject(reason)
    logger.log(
        logging.WARNING if status >= 500 else logging.INFO,
        "Refused %s: %s (%s)",
        path,
        reason,
        message,
        extra=log.fields(
            log.REFUSE,
            spec,
            thumbnail=path,
            reason=reason,
            status=status,
            seconds=time.perf_counter() - start,
        ),
    )
