from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


@checks.register(checks.Tags.compatibility)
def known_crisisflow_settings(app_configs, **kwargs):
    """Every key of settings.CRISISFLOW must be one crisisflow/conf.py knows."""
    from crisisflow.conf import DEFAULTS, unknown_keys

    return [
        checks.Error(
            f"settings.CRISISFLOW has an unknown key {key!r}",
            hint="Known keys: " + ", ".join(sorted(DEFAULTS)),
            id="crisisflow.E001",
        )
        for key in unknown_keys()
    ]


class IncidentsConfig(AppConfig):
    name = "crisisflow.incidents"
    label = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        # The engine's own gate conditions register themselves on import, the same way
        # later features (statements, post-mortems) register theirs from their apps.
        from crisisflow.incidents import core_gates  # noqa: F401
