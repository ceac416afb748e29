from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class VersionIsImmutable(Exception):
    """A saved statement version is never changed: an edit is a new version."""


class StatementState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")


class Statement(models.Model):
    """One message of the set (a holding statement, an SMS to customers, the internal
    notice…) in one language, with every version it went through.

    `kind` is a key of crisisflow.statements.kinds.KINDS. `state` is kept here so lists
    need no per-row work; the use cases in this app are the only writers."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="statements")
    kind = models.CharField(_("kind"), max_length=32)
    language = models.CharField(_("language"), max_length=8)  # "zh-hans" or "en"
    state = models.CharField(_("state"), max_length=16, choices=StatementState.choices, default=StatementState.DRAFT)
    current = models.ForeignKey(
        "statements.StatementVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))
    # A statement replaced by another of the same kind and language (not by its own
    # correction, which is a new version of this one).
    superseded_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    # Approval requested: when and by whom, and the approval deadline (a deadline
    # source of the sweep: the same column/ladder/generation pattern as the golden clock).
    review_requested_at = models.DateTimeField(null=True, blank=True)
    review_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approval_due_at = models.DateTimeField(_("approval due at"), null=True, blank=True)
    approval_next_alert_at = models.DateTimeField(null=True, blank=True)
    approval_step = models.PositiveSmallIntegerField(default=0)
    approval_generation = models.PositiveIntegerField(default=0)
    approval_failures = models.PositiveSmallIntegerField(default=0)

    first_published_at = models.DateTimeField(_("first published at"), null=True, blank=True)
    # Optimistic lock: bumped by every change a person makes (save, request, approve…).
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["incident", "created_at", "id"]
        indexes = [
            models.Index(fields=["incident", "kind"], name="statement_incident_kind"),
            models.Index(
                fields=["approval_next_alert_at"],
                name="statement_approval_due",
                condition=models.Q(approval_next_alert_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind} ({self.language})"


class StatementVersionQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise VersionIsImmutable("a statement version cannot be changed; save a new version")


class StatementVersion(models.Model):
    """One saved text of a statement. Immutable: approvals and publications point at
    it by id and by `content_hash`."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(_("title or subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    content_hash = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("saved at"))
    # The fact sheet version it was written and linted against (None: no sheet yet).
    fact_sheet_version = models.ForeignKey(
        "statements.FactSheetVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The linter's findings when it was saved: a list of dicts (code, level, start, end,
    # message) and counts per level, so lists and approvals never re-lint.
    findings = models.JSONField(default=list, blank=True)
    errors = models.PositiveSmallIntegerField(default=0)
    warnings = models.PositiveSmallIntegerField(default=0)
    # Set when this version is a correction of a published one: what changed, in words.
    correction_note = models.TextField(_("what changed"), blank=True)
    # The message set's first draft, filled in from a statement template: nobody has
    # written this text yet (an edit saves a new version, written by a person).
    from_template = models.BooleanField(_("drafted from the template"), default=False)

    objects = StatementVersionQuerySet.as_manager()

    class Meta:
        ordering = ["statement", "number"]
        constraints = [models.UniqueConstraint(fields=["statement", "number"], name="statement_version_once")]

    def __str__(self) -> str:
        return f"statement {self.statement_id} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise VersionIsImmutable("a statement version cannot be changed; save a new version")
        super().save(*args, **kwargs)


class Approval(models.Model):
    """One role's decision on one exact version (bound by id and content hash).

    An edit (a new version) voids the approvals of the old one: `voided_at` and who made
    the edit are set, the row stays as history."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="approvals")
    statement_version = models.ForeignKey(StatementVersion, on_delete=models.PROTECT, related_name="approvals")
    content_hash = models.CharField(max_length=64)
    role = models.CharField(_("role"), max_length=32)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("decided at"))
    # Why it was rejected, or why error-level lint findings were overridden.
    reason = models.TextField(_("reason"), blank=True)
    overrode_lint = models.BooleanField(_("overrode lint errors"), default=False)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["statement", "at", "id"]
        indexes = [models.Index(fields=["role", "voided_at"], name="approval_role_live")]

    def __str__(self) -> str:
        return f"{self.role} {self.decision} v{self.statement_version_id}"


class Publication(models.Model):
    """Where and when one approved version went out on one channel."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="publications")
    statement_version = models.ForeignKey(StatementVersion, on_delete=models.PROTECT, related_name="publications")
    content_hash = models.CharField(max_length=64)
    channel = models.CharField(_("channel"), max_length=32)
    # A URL or the channel's message id.
    location = models.CharField(_("URL or message id"), max_length=500, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("published at"))
    is_correction = models.BooleanField(_("correction"), default=False)

    class Meta:
        ordering = ["statement", "published_at", "id"]
        indexes = [models.Index(fields=["statement", "published_at"], name="publication_statement_time")]

    def __str__(self) -> str:
        return f"{self.channel} v{self.statement_version_id}"
