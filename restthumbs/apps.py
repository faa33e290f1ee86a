"""The app configuration: system checks registered, the log shown in development."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RestThumbsConfig(AppConfig):
    name = "restthumbs"
    verbose_name = _("Thumbnails")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .log import show_in_development

        show_in_development()
