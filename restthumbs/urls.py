"""Mount with ``path("", include("restthumbs.urls"))`` or under any prefix.

The pattern takes every path of four or more segments whose last segment has an
extension, so malformed thumbnail URLs still reach the view (and get
``Cache-Control: no-store``). Mounted at the root, put it after your other patterns.
"""

from django.urls import re_path

from .views import serve

app_name = "restthumbs"

urlpatterns = [
    # Empty size or method segments (``a.jpg/100x100//s.jpg``) reach the view too: no-store.
    re_path(r"^(?P<path>.+/[^/]*/[^/]*/[^/]*\.[^/.]+)$", serve, name="thumbnail"),
]
