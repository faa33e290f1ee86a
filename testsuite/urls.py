from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("thumbs/", include("restthumbs.urls", namespace="prefixed")),
    path("", include("restthumbs.urls")),
]
