"""Answer with ``X-Sendfile: <absolute path>`` for Apache's mod_xsendfile (or lighttpd).

The path is percent-encoded; mod_xsendfile decodes it (``XSendFileUnescape``, on by default).
Needs a thumbnail storage with local paths.
"""

from __future__ import annotations

from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse

from ..storage import local_path
from .base import ResponseBackend


class ApacheBackend(ResponseBackend):
    def respond(
        self, request: HttpRequest, storage: Storage, name: str, content_type: str
    ) -> HttpResponse:
        path = local_path(storage, name)
        if path is None:
            raise ImproperlyConfigured(
                "restthumbs.responses.apache.sendfile needs a thumbnail storage with local paths."
            )
        response = HttpResponse(content_type=content_type)
        response["X-Sendfile"] = quote(path, safe="/")
        return response


sendfile = ApacheBackend()
