"""The thumbnail view: verify, parse, ensure, respond.

This is the one place where domain errors become HTTP statuses. Every error
response carries ``Cache-Control: no-store`` so no CDN or proxy keeps a
transient failure; every success carries ``public, max-age=...``.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from . import exceptions as exc
from .conf import app_settings
from .policy import enforce
from .render import ensure_thumbnail
from .responses import get_backend
from .signing import verify
from .spec import parse_name

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
}


def status_for(error: exc.ThumbnailError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]  # type: ignore[index]
    return 500


def error_response(status: int, message: str) -> HttpResponse:
    response = HttpResponse(
        message + "\n", status=status, content_type="text/plain; charset=utf-8"
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def serve(request: HttpRequest, path: str) -> HttpResponse:
    """Serve ``<source_path>/<size>/<method>/<secret>.<ext>`` (``path`` is URL-decoded)."""
    if request.method not in ("GET", "HEAD"):
        response = error_response(405, _("Method not allowed."))
        response["Allow"] = "GET, HEAD"
        return response
    start = time.perf_counter()
    try:
        spec, secret = parse_name(path)
        verify(spec, secret)
        enforce(spec)
        result = ensure_thumbnail(spec, secret)
        response = get_backend()(request, result.storage, result.name, spec.content_type)
    except exc.ThumbnailError as error:
        status = status_for(error)
        logger.log(
            logging.WARNING if status >= 500 else logging.INFO,
            "Refused %s: %s (%s)",
            path,
            error.reason,
            error.message,
            extra={"thumbnail": path, "reason": error.reason, "status": status},
        )
        response = error_response(status, error.message)
        if isinstance(error, exc.ThumbnailBusy):
            response["Retry-After"] = str(error.retry_after)
        return response
    except Exception:
        if settings.DEBUG:
            raise  # let Django's debug page show the traceback
        logger.exception("Failed to serve %s", path, extra={"thumbnail": path, "reason": "bug"})
        return error_response(500, _("Internal error while serving the thumbnail."))
    if response.status_code < 400:
        patch_cache_control(response, public=True, max_age=app_settings.CACHE_MAX_AGE)
    if result.rendered:
        total = (time.perf_counter() - start) * 1000
        response["Server-Timing"] = (
            f"render;dur={result.duration * 1000:.1f}, total;dur={total:.1f}"
        )
    return response
