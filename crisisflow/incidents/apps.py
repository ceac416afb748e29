from django.apps import AppConfig
from django.core import checks
from django.db import connections
from django.db.models.signals import post_migrate
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


def _restore_append_only_triggers(using: str, **kwargs) -> None:
    # SQLite alters a table by rebuilding it, and a rebuilt table has no triggers: a
    # later migration of the events or incidents table would silently drop the guard.
    from crisisflow.incidents import append_only

    append_only.install_if_migrated(connections[using])


class IncidentsConfig(AppConfig):
    name = "crisisflow.incidents"
    label = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        # The engine's own gate conditions register themselves on import, the same way
        # later features (statements, post-mortems) register theirs from their apps.
        from crisisflow.incidents import core_gates  # noqa: F401

        post_migrate.connect(_restore_append_only_triggers, sender=self)
