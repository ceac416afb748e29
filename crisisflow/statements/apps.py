from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatementsConfig(AppConfig):
    name = "crisisflow.statements"
    label = "statements"
    verbose_name = _("Statements")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The timeline describers of the fact sheet and statement events.
        from crisisflow.statements import facts, versions  # noqa: F401
