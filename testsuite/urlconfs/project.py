"""A fresh project's URLconf with restthumbs mounted at the root, *first*:
media files, a page with a dated path and the admin's static files must still reach
their own views (issue 14: restthumbs' old pattern answered them 400)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views.static import serve


def blog(request: HttpRequest, year: str, month: str, slug: str) -> HttpResponse:
    return HttpResponse(f"blog {year}/{month}/{slug}")


def media(request: HttpRequest, path: str) -> HttpResponse:
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    path("", include("restthumbs.urls")),
    re_path(r"^media/(?P<path>.*)$", media),
    re_path(r"^static/(?P<path>.*)$", lambda request, path: HttpResponse(f"static {path}")),
    path("blog/<str:year>/<str:month>/<str:slug>", blog),
]
