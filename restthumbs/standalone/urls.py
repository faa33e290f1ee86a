"""The standalone server's root URLconf: restthumbs mounted at the root, nothing else."""

from django.urls import include, path

urlpatterns = [
    path("", include("restthumbs.urls")),
]
