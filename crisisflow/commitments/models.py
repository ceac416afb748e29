from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CommitmentStatus(models.TextChoices):
    OPEN = "open", _("Open")
    KEPT = "kept", _("Kept")
    LATE = "late", pgettext_lazy("commitment", "Late")
    BROKEN = "broken", _("Broken")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Commitment(models.Model):
    """One public promise, held until it is kept (DOMAIN.md: a vague promise that is not
    kept becomes the next crisis).

    It names the statement version and sentence it came from, an owner, whom it is for,
    measurable terms, a due date, and the evidence that it was kept with who verified it.
    `next_alert_at` is a deadline column of the sweep (reminders to the owner before due,
    escalation to the commander and the executive once late), tracked also after the
    incident closes when the commitment was carried over."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="commitments")
    text = models.TextField(_("what we promise"))
    statement = models.ForeignKey(
        "statements.Statement", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    statement_version = models.ForeignKey(
        "statements.StatementVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The sentence of that version it came from, as written.
    sentence = models.TextField(_("sentence it came from"), blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commitments")
    scope = models.CharField(_("who it is for"), max_length=500, blank=True)
    amount = models.CharField(_("amount"), max_length=200, blank=True)
    coverage = models.CharField(_("coverage"), max_length=200, blank=True)
    period = models.CharField(_("period"), max_length=200, blank=True)
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=16, choices=CommitmentStatus.choices, default="open")
    # Why it was withdrawn or broken.
    reason = models.TextField(_("reason"), blank=True)
    # Evidence of keeping: {"summary": str, "links": [url], "figures": [{"label", "value"}],
    # "files": [evidence attachment ids]}.
    evidence = models.JSONField(default=dict, blank=True)
    kept_at = models.DateTimeField(_("kept at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    # Carried over past the incident's close to a named owner (still tracked).
    carried_over = models.BooleanField(_("carried over"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))
    version = models.PositiveIntegerField(default=0)

    # The deadline ladder (crisisflow.commitments.deadlines).
    next_alert_at = models.DateTimeField(null=True, blank=True)
    alert_step = models.PositiveSmallIntegerField(default=0)
    alert_generation = models.PositiveIntegerField(default=0)
    alert_failures = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["next_alert_at"],
                name="commitment_next_alert",
                condition=models.Q(next_alert_at__isnull=False),
            ),
            models.Index(fields=["status", "due_at"], name="commitment_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.text[:40]}"

    @property
    def settled(self) -> bool:
        """Nothing left to do before the incident may close."""
        return (
            self.status == CommitmentStatus.KEPT
            or (self.status == CommitmentStatus.WITHDRAWN and bool(self.reason))
            or (self.carried_over and self.owner_id is not None)
        )
