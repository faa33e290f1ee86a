"""Redirect (302) to the thumbnail storage's ``url(name)``: S3, a CDN, a media server.

A permanent URL (a public bucket, a CDN domain) leaves ``Cache-Control`` to the
view: ``public``, for ``THUMBNAILS_CACHE_MAX_AGE``. A URL that expires (S3
presigned, ``querystring_auth=True``, valid ``querystring_expire`` seconds) must
not be cached longer than it is valid, nor by a shared cache: see
:func:`restthumbs.caching.redirect_cache_control`.
"""

from __future__ import annotations

from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from ..caching import redirect_cache_control
from ..storage import url_expiry
from .base import ResponseBackend


class RedirectBackend(ResponseBackend):
    def respond(
        self, request: HttpRequest, storage: Storage, name: str, content_type: str
    ) -> HttpResponse:
        response = HttpResponseRedirect(storage.url(name))
        cache_control = redirect_cache_control(url_expiry(storage))
        if cache_control is not None:
            response["Cache-Control"] = cache_control
        return response


sendfile = RedirectBackend()
