"""Answer with ``X-Accel-Redirect`` so nginx sends the file from an ``internal`` location.

The header is ``THUMBNAILS_STORAGE_BASE_PATH`` + the thumbnail name,
percent-encoded (nginx decodes it), so Unicode and reserved characters survive.
"""

from __future__ import annotations

from urllib.parse import quote

from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse

from ..conf import app_settings
from .base import ResponseBackend


class NginxBackend(ResponseBackend):
    def respond(
        self, request: HttpRequest, storage: Storage, name: str, content_type: str
    ) -> HttpResponse:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = app_settings.STORAGE_BASE_PATH + quote(name, safe="/")
        return response


sendfile = NginxBackend()
