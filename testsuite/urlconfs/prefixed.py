"""restthumbs mounted under ``thumbs/``."""

from django.urls import include, path

urlpatterns = [path("thumbs/", include("restthumbs.urls"))]
