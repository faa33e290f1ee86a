"""Redirect (302) to the thumbnail storage's ``url(name)``: S3, a CDN, a media server."""

from __future__ import annotations

from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect


def sendfile(request: HttpRequest, storage: Storage, name: str, content_type: str) -> HttpResponse:
    return HttpResponseRedirect(storage.url(name))
