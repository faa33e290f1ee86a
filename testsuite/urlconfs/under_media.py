"""restthumbs mounted at MEDIA_URL's prefix."""

from django.urls import include, path

urlpatterns = [path("media/", include("restthumbs.urls"))]
