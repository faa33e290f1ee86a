"""A project that forgot ``include("restthumbs.urls")``."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("", lambda request: HttpResponse("home"))]
