"""The app configuration: system checks registered, the log shown in development, the
fields of ``THUMBNAILS_PURGE_FIELDS`` watched."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RestThumbsConfig(AppConfig):
    name = "restthumbs"
    verbose_name = _("Thumbnails")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .invalidation.receivers import watch_configured
        from .log import show_in_development

        show_in_development()
        watch_configured()
