"""Stream the file from the thumbnail storage (the default; works everywhere).

Adds ``ETag`` and ``Last-Modified`` from the file's size and modification time
and answers conditional GETs with 304. Size and time come with the file itself
(:func:`~restthumbs.storage.open_stored`): on a local filesystem one ``open``
and ``fstat``; on S3 one ``GetObject`` (``HeadObject`` for a HEAD request),
whose response carries both; elsewhere ``size()``, ``get_modified_time()`` and
``open()``.
"""

from __future__ import annotations

from django.core.files.storage import Storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from ..storage import StoredFile, names_nothing, open_stored
from .base import ResponseBackend


class StreamingBackend(ResponseBackend):
    def respond(
        self, request: HttpRequest, storage: Storage, name: str, content_type: str
    ) -> HttpResponseBase:
        stored = open_stored(storage, name, content=request.method != "HEAD")
        return _respond(request, stored, content_type)

    def serve_stored(
        self, request: HttpRequest, storage: Storage, name: str, content_type: str
    ) -> HttpResponseBase | None:
        """A hit in one storage read: the read that streams it (one ``GetObject`` on S3).

        "Not stored" comes from the read itself, instead of an existence check
        followed by that read.
        """
        try:
            stored = open_stored(storage, name, content=request.method != "HEAD")
        except OSError as e:
            if names_nothing(e):  # missing, a file where a directory should be, a name too long
                return None
            raise
        return _respond(request, stored, content_type)


sendfile = StreamingBackend()


def _respond(request: HttpRequest, stored: StoredFile, content_type: str) -> HttpResponseBase:
    try:
        return _response(request, stored, content_type)
    except BaseException:
        stored.close()
        raise


def _response(request: HttpRequest, stored: StoredFile, content_type: str) -> HttpResponseBase:
    etag = f'"{int(stored.modified * 1_000_000):x}-{stored.size:x}"'
    last_modified = http_date(int(stored.modified))
    not_modified = get_conditional_response(
        request, etag=etag, last_modified=int(stored.modified), response=None
    )
    response: HttpResponseBase
    if not_modified is not None and not_modified.status_code == 304:
        stored.close()
        response = not_modified
    elif stored.file is None:  # HEAD
        response = HttpResponse(content_type=content_type)
        response["Content-Length"] = str(stored.size)
    else:
        response = FileResponse(stored.file, content_type=content_type)
        response["Content-Length"] = str(stored.size)
        if response.has_header("Content-Disposition"):
            del response["Content-Disposition"]  # a thumbnail is shown inline, under its URL's name
    response["ETag"] = etag
    response["Last-Modified"] = last_modified
    return response
