from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from crisisflow import clock
from crisisflow.incidents.gates import gate_condition
from crisisflow.vocab import FACTS, OPEN_STATES, Severity, State


class Incident(ConcurrentTransitionMixin, models.Model):
    """A crisis moving through the six stages.

    The transitions only change this row's fields; the use cases in
    crisisflow.incidents.actions lock the row, check people and gates, call the
    transition, save, and write the timeline event, all in one transaction.
    """

    reference = models.CharField(_("reference"), max_length=32, unique=True)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)
    crisis_type = models.CharField(_("crisis type"), max_length=64, blank=True)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, blank=True)
    state = FSMField(_("state"), default=State.REPORTED, choices=State.choices, protected=True)
    restricted = models.BooleanField(
        _("restricted"), default=False, help_text=_("Only the team can see a restricted incident.")
    )

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_incidents")
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="commanded_incidents",
    )
    playbook_version = models.ForeignKey(
        "playbooks.PlaybookVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # Clock. detected_at is the outbreak: the golden clock counts from it.
    detected_at = models.DateTimeField(_("detected at (outbreak)"))
    reported_at = models.DateTimeField(_("reported at"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    plan_activated_at = models.DateTimeField(_("plan activated at"), null=True, blank=True)
    team_assembled_at = models.DateTimeField(_("team assembled at"), null=True, blank=True)
    first_statement_at = models.DateTimeField(_("first public statement at"), null=True, blank=True)
    statement_due_at = models.DateTimeField(_("first statement due at"), null=True, blank=True, db_index=True)
    # The golden clock's next warning (crisisflow.alerts), as for tasks.
    clock_next_alert_at = models.DateTimeField(null=True, blank=True)
    clock_step = models.PositiveSmallIntegerField(default=0)
    clock_generation = models.PositiveIntegerField(default=0)
    clock_failures = models.PositiveSmallIntegerField(default=0)
    # Triage: a reported incident must be confirmed or dismissed by triage_due_at; its
    # reminders to the duty commanders are a ladder like the clock's.
    triage_due_at = models.DateTimeField(_("triage due at"), null=True, blank=True)
    triage_next_alert_at = models.DateTimeField(null=True, blank=True)
    triage_step = models.PositiveSmallIntegerField(default=0)
    triage_generation = models.PositiveIntegerField(default=0)
    triage_failures = models.PositiveSmallIntegerField(default=0)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    dismissed_at = models.DateTimeField(_("dismissed at"), null=True, blank=True)
    dismiss_reason = models.TextField(_("reason for dismissal"), blank=True)

    # Affected scope and facts that playbook conditions test (crisisflow.vocab.FACTS).
    affected_users = models.PositiveBigIntegerField(_("estimated affected users"), null=True, blank=True)
    regions = models.JSONField(_("regions"), default=list, blank=True)
    platforms = models.JSONField(_("platforms where it spreads"), default=list, blank=True)
    personal_data = models.BooleanField(_("personal data involved"), default=False)
    injuries = models.BooleanField(_("people injured"), default=False)
    financial_loss = models.BooleanField(_("users lost money"), default=False)
    regulator_involved = models.BooleanField(_("regulator involved"), default=False)
    media_coverage = models.BooleanField(_("mainstream media coverage"), default=False)

    # Bumped by every change so a form loaded before someone else's edit is refused.
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-detected_at"]
        indexes = [
            models.Index(fields=["state", "-detected_at"], name="incident_state_detected"),
            models.Index(
                fields=["clock_next_alert_at"],
                name="incident_clock_next_alert",
                condition=models.Q(clock_next_alert_at__isnull=False),
            ),
            models.Index(
                fields=["triage_next_alert_at"],
                name="incident_triage_next_alert",
                condition=models.Q(triage_next_alert_at__isnull=False),
            ),
        ]
        constraints = [
            # A year-1 outbreak time was once stored as a date BC that the database driver
            # cannot read back, taking every list page down; the use cases refuse it, and
            # this refuses it from any other path too.
            models.CheckConstraint(
                condition=models.Q(detected_at__gte=clock.EARLIEST, detected_at__lt=clock.LATEST),
                name="incident_detected_at_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def facts(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in FACTS}

    def statement_met_clock(self) -> bool | None:
        """Did the first public statement beat the golden clock? None while undecided."""
        if self.statement_due_at is None:
            return None
        if self.first_statement_at is not None:
            return self.first_statement_at <= self.statement_due_at
        return None

    def statement_margin(self):
        """How far the first statement beat the clock (positive) or missed it (negative);
        None while undecided."""
        if self.statement_due_at is None or self.first_statement_at is None:
            return None
        return self.statement_due_at - self.first_statement_at

    # --- transitions: declared once; no side effects beyond this row ---------------------
    @transition(
        field=state, source=State.REPORTED, target=State.CONFIRMED, conditions=[gate_condition(State.CONFIRMED)]
    )
    def confirm(self, at):
        self.confirmed_at = at

    @transition(field=state, source=State.REPORTED, target=State.DISMISSED)
    def dismiss(self, at, reason: str):
        self.dismissed_at = at
        self.dismiss_reason = reason

    @transition(
        field=state,
        source=State.CONFIRMED,
        target=State.PLAN_ACTIVATED,
        conditions=[gate_condition(State.PLAN_ACTIVATED)],
    )
    def activate_plan(self, at):
        self.plan_activated_at = at

    @transition(
        field=state,
        source=State.PLAN_ACTIVATED,
        target=State.TEAM_ASSEMBLED,
        conditions=[gate_condition(State.TEAM_ASSEMBLED)],
    )
    def assemble_team(self, at):
        self.team_assembled_at = at

    @transition(
        field=state,
        source=State.TEAM_ASSEMBLED,
        target=State.INFO_PUBLISHED,
        conditions=[gate_condition(State.INFO_PUBLISHED)],
    )
    def publish_information(self, at):
        # Unless another app defines the first statement (crisisflow.incidents.golden_clock),
        # publishing is it.
        from crisisflow.incidents import golden_clock

        if self.first_statement_at is None and golden_clock.publish_step_is_first_statement():
            self.first_statement_at = at

    @transition(
        field=state,
        source=State.INFO_PUBLISHED,
        target=State.REMEDIATING,
        conditions=[gate_condition(State.REMEDIATING)],
    )
    def start_remediation(self, at):
        pass

    @transition(
        field=state, source=State.REMEDIATING, target=State.IN_REVIEW, conditions=[gate_condition(State.IN_REVIEW)]
    )
    def begin_review(self, at):
        pass

    @transition(field=state, source=State.IN_REVIEW, target=State.REMEDIATING)
    def reopen(self, at, reason: str):
        self.closed_at = None

    @transition(field=state, source=State.IN_REVIEW, target=State.CLOSED, conditions=[gate_condition(State.CLOSED)])
    def close(self, at):
        self.closed_at = at


class ReferenceCounter(models.Model):
    """The last incident number handed out in a year (CF-2026-0042)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"
