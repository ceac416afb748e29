from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatementsConfig(AppConfig):
    name = "crisisflow.statements"
    label = "statements"
    verbose_name = _("Statements")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from crisisflow.incidents import golden_clock

        # The timeline describers of the fact sheet and statement events, the gate on
        # info_published, and the approval deadline.
        from crisisflow.statements import approvals, deadlines, facts, gates, publishing, versions  # noqa: F401
        from crisisflow.statements.lint.data import check_word_lists

        # Only a published, approved statement stops the golden clock from now on.
        golden_clock.define_first_statement(self.label)
        deadlines.register_source()
        # A broken word list (an organisation's own, CRISISFLOW["LINT_EXTRA_DIRS"]) is
        # reported by `manage.py check` and at start-up, with file and line.
        checks.register(check_word_lists)
