from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommitmentsConfig(AppConfig):
    name = "crisisflow.commitments"
    label = "commitments"
    verbose_name = _("Commitments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Timeline wording, the close gate, the approval check, the deadline source and
        # the figures on the review (registered with crisisflow.reviews.metrics).
        from crisisflow.commitments import actions, deadlines, gates, review_figures  # noqa: F401

        deadlines.register_source()
        gates.register_approval_check()
