"""A single-page app's catch-all route before restthumbs' include."""

from django.http import HttpResponse
from django.urls import include, path, re_path


def spa(request: object) -> HttpResponse:
    return HttpResponse("<!doctype html><div id=app></div>")


urlpatterns = [
    re_path(r"^.*$", spa, name="spa"),
    path("", include("restthumbs.urls")),
]
