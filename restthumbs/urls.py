"""Mount with ``path("", include("restthumbs.urls"))`` or under any prefix.

The pattern claims only paths shaped like thumbnails, as the contract says: a
size-like segment (it contains ``x``), a method-like segment (lower-case
letters) and a last segment of 64 hex digits, or none, with an extension.
Malformed thumbnails of that shape (``0x0``, ``fit``, ``.JPG``, an upper-case
or missing secret) still reach the view and get their ``no-store`` 4xx; every
other path falls through to the project's own routes (media files, dated
pages), whatever the order of the includes.
"""

from django.urls import re_path

from .views import serve

app_name = "restthumbs"

#: <source_path>/<size-like>/<method-like>/<64 hex digits, or none>.<ext>
THUMBNAIL_PATH = r"^(?P<path>.+/[^/]*x[^/]*/[a-z]+/(?:[0-9a-fA-F]{64})?\.[^/]+)$"

urlpatterns = [
    re_path(THUMBNAIL_PATH, serve, name="thumbnail"),
]
