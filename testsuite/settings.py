"""Settings for restthumbs' test suite. Directories are replaced per test by fixtures."""

import os
import tempfile

BASE = tempfile.mkdtemp(prefix="restthumbs-tests-")
SECRET_KEY = "restthumbs-test-secret-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "restthumbs",
]
ROOT_URLCONF = "testsuite.urls"
MEDIA_ROOT = os.path.join(BASE, "media")
MEDIA_URL = "/media/"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {},
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
