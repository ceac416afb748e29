from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WatchConfig(AppConfig):
    """Early warning: metric series and posts in, rules that open incidents."""

    name = "crisisflow.watch"
    label = "watch"
    verbose_name = _("Early warning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The wording of the timeline events this app writes.
        from crisisflow.watch import firing  # noqa: F401
