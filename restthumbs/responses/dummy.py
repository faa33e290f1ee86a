"""Stream the file from the thumbnail storage (the default; works everywhere).

Adds ``ETag`` and ``Last-Modified`` from the file's size and modification time
and answers conditional GETs with 304. On a local filesystem this costs one
``stat``; elsewhere one ``size()`` and one ``get_modified_time()`` call.
"""

from __future__ import annotations

import os
from datetime import timezone

from django.core.files.storage import Storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from ..storage import local_path


def _stat(storage: Storage, name: str) -> tuple[int, float]:
    path = local_path(storage, name)
    if path is not None:
        st = os.stat(path)
        return st.st_size, st.st_mtime
    modified = storage.get_modified_time(name)
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=timezone.utc)
    return storage.size(name), modified.timestamp()


def sendfile(request: HttpRequest, storage: Storage, name: str, content_type: str) -> HttpResponse:
    size, mtime = _stat(storage, name)
    etag = f'"{int(mtime * 1_000_000):x}-{size:x}"'
    last_modified = http_date(int(mtime))
    not_modified = get_conditional_response(
        request, etag=etag, last_modified=int(mtime), response=None
    )
    if not_modified is not None and not_modified.status_code == 304:
        not_modified["ETag"] = etag
        not_modified["Last-Modified"] = last_modified
        return not_modified
    response: HttpResponse
    if request.method == "HEAD":
        response = HttpResponse(content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        response = FileResponse(storage.open(name, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
        del response["Content-Disposition"]  # a thumbnail is shown inline, under its URL's name
    response["ETag"] = etag
    response["Last-Modified"] = last_modified
    return response
