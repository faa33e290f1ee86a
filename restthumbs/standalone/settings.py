"""The settings of the standalone server, as a dictionary for ``settings.configure()``.

Everything is local and in-process: filesystem storages, a ``LocMemCache`` for
the render locks (one process, so a local lock is enough), the streaming
response backend and no database. ``ALLOWED_HOSTS = ["*"]`` because this is a
tool for one machine, not a deployment (production runs restthumbs inside a
Django project behind nginx).
"""

from __future__ import annotations

import os
from typing import Any

#: The root URLconfs: thumbnails only, or thumbnails plus the demo page at ``/``.
URLCONF = "restthumbs.standalone.urls"
DEMO_URLCONF = "restthumbs.standalone.demo_urls"


def build(
    *,
    secret_key: str,
    source_dir: str,
    thumbnail_dir: str,
    base_url: str = "/",
    demo_samples: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return the settings of a standalone server (or of ``restthumbs url``).

    ``demo_samples`` (the samples drawn by :mod:`.samples`) turns the demo page on.
    """
    demo = demo_samples is not None
    return {
        "DEBUG": False,
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": ["*"],
        "INSTALLED_APPS": ["restthumbs"],
        "ROOT_URLCONF": DEMO_URLCONF if demo else URLCONF,
        "MIDDLEWARE": [],
        "DATABASES": {},
        "USE_TZ": True,
        "MEDIA_ROOT": source_dir,
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "restthumbs-standalone",
            }
        },
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {},
            }
        ],
        "LOGGING": _logging(),
        "THUMBNAILS_SOURCE_STORAGE_BACKEND": "django.core.files.storage.FileSystemStorage",
        "THUMBNAILS_SOURCE_ROOT": source_dir,
        "THUMBNAILS_STORAGE_BACKEND": "django.core.files.storage.FileSystemStorage",
        "THUMBNAILS_STORAGE_ROOT": thumbnail_dir,
        "THUMBNAILS_PROXY_BASE_URL": base_url,
        "THUMBNAILS_RESPONSE_BACKEND": "restthumbs.responses.dummy.sendfile",
        "THUMBNAILS_CACHE": "default",
        "RESTTHUMBS_DEMO_SAMPLES": demo_samples or [],
        **(_website_thumbnails(thumbnail_dir) if demo else {}),
    }


def _website_thumbnails(thumbnail_dir: str) -> dict[str, Any]:
    """The demo's website form (``site/...`` sources), where a Chromium is installed.

    Any public http(s) page; the screenshots are kept beside the thumbnail directory.
    """
    from ..exceptions import BrowserUnavailable
    from ..remote.browser import find_browser

    try:
        find_browser(None)
    except BrowserUnavailable:
        return {}
    return {
        "THUMBNAILS_SOURCES": {"site": "restthumbs.remote.storage.WebsiteStorage"},
        "THUMBNAILS_SITE_ALLOWED_URLS": ["http://", "https://"],
        "THUMBNAILS_REMOTE_ROOT": os.path.join(os.path.dirname(thumbnail_dir), "remote-sources"),
        "THUMBNAILS_LOCK_TIMEOUT": 30,
    }


def _logging() -> dict[str, Any]:
    """Show renders and refusals (restthumbs' INFO log) on stderr, next to the request log."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "restthumbs: {message}", "style": "{"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
        "loggers": {"restthumbs": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
    }
