"""The root URLconf of ``restthumbs serve --demo``: the demo page at ``/``, thumbnails below.

``/`` never matches restthumbs' pattern (it needs four segments), so the order
only matters for readability.
"""

from django.urls import include, path

from .demo import demo_page

urlpatterns = [
    path("", demo_page, name="restthumbs-demo"),
    path("", include("restthumbs.urls")),
]
