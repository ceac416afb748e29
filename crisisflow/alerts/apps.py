from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "crisisflow.alerts"
    label = "alerts"
    verbose_name = _("Deadlines and notifications")

    def ready(self) -> None:
        from crisisflow.alerts.sweep import register_builtin_sources

        register_builtin_sources()
