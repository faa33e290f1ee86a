"""Redirect (302) to the thumbnail storage's ``url(name)``: S3, a CDN, a media server.

A permanent URL (a public bucket, a CDN domain) leaves ``Cache-Control`` to the
view: ``public``, for ``THUMBNAILS_CACHE_MAX_AGE``. A URL that expires (S3
presigned, ``querystring_auth=True``, valid ``querystring_expire`` seconds) must
not be cached longer than it is valid, nor by a shared cache: the redirect is
``private, max-age=`` half its validity, so a browser that follows a cached
redirect still gets there with half the time to spare (clock skew, slow links).
"""

from __future__ import annotations

from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from ..conf import app_settings
from ..storage import url_expiry


def sendfile(request: HttpRequest, storage: Storage, name: str, content_type: str) -> HttpResponse:
    response = HttpResponseRedirect(storage.url(name))
    expiry = url_expiry(storage)
    if expiry is not None:
        max_age = max(0, min(expiry // 2, app_settings.CACHE_MAX_AGE))
        response["Cache-Control"] = f"private, max-age={max_age}"
    return response
