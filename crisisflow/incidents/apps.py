from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "crisisflow.incidents"
    label = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        # The engine's own gate conditions register themselves on import, the same way
        # later features (statements, post-mortems) register theirs from their apps.
        from crisisflow.incidents import core_gates  # noqa: F401
