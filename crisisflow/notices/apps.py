from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "crisisflow.notices"
    label = "notices"
    verbose_name = _("Public notices")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Timeline wording of the notice's events; regenerating the static files after
        # each publication of a statement.
        from crisisflow.notices import actions, publications  # noqa: F401

        publications.connect()
