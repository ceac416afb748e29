from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "crisisflow.reviews"
    label = "reviews"
    verbose_name = _("Reviews")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The timeline describers, the closing gate, the review opened on entering
        # review, and the action items' deadlines.
        from crisisflow.alerts.sources import register
        from crisisflow.reviews import deadlines, gates, opening, use_cases  # noqa: F401

        opening.connect()
        register(deadlines.ACTION_ITEMS)
