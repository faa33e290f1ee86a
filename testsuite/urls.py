from django.urls import include, path

urlpatterns = [
    # Prefixed first: mounted at the root, restthumbs' pattern would take these paths too.
    path("thumbs/", include("restthumbs.urls", namespace="prefixed")),
    path("", include("restthumbs.urls")),
]
