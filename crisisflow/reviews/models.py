"""The review of one incident: versioned content, sign-offs bound to a version's hash,
action items on the deadline engine, and share links for executives."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crisisflow.vocab import Role

# Who signs a review off, in this order.
SIGNING_ROLES = (Role.COMMANDER, Role.PR, Role.LEGAL, Role.EXECUTIVE)


def content_hash(content: dict) -> str:
    """SHA-256 of the content as canonical JSON: what a sign-off is bound to."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Review(models.Model):
    """One per incident, opened when the incident enters review."""

    incident = models.OneToOneField("incidents.Incident", on_delete=models.PROTECT, related_name="review")
    opened_at = models.DateTimeField(_("opened at"))
    # The current content (a copy of the latest ReviewVersion's) and its hash.
    content = models.JSONField(_("content"), default=dict)
    content_hash = models.CharField(_("content hash"), max_length=64)
    version = models.PositiveIntegerField(_("version"), default=0)
    updated_at = models.DateTimeField(_("updated at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self) -> str:
        return f"review of incident {self.incident_id} v{self.version}"


class ReviewVersion(models.Model):
    """Every saved version of a review's content, never changed."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("content"))
    content_hash = models.CharField(_("content hash"), max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    saved_at = models.DateTimeField(_("saved at"))

    class Meta:
        verbose_name = _("review version")
        verbose_name_plural = _("review versions")
        ordering = ["review", "-number"]
        constraints = [models.UniqueConstraint(fields=["review", "number"], name="review_version_number")]

    def __str__(self) -> str:
        return f"v{self.number}"


class SignOff(models.Model):
    """A person signing a review version off in one role. Void once the review changes."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="sign_offs")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(_("review version"))
    content_hash = models.CharField(_("content hash"), max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-off")
        verbose_name_plural = _("sign-offs")
        ordering = ["review", "signed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "role"], condition=models.Q(voided_at__isnull=True), name="one_live_sign_off_per_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} v{self.version}"


class ActionItemKind(models.TextChoices):
    PLAYBOOK = "playbook", _("Playbook change")
    TRAINING = "training", _("Training")
    PRODUCT = "product", _("Product fix")
    SUPPLIER = "supplier", _("Supplier")
    POLICY = "policy", _("Policy")


class ActionItemStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


class ActionItem(models.Model):
    """Something to change after the crisis, with an owner and a due date; reminded and
    escalated by the deadline engine, also after the incident has closed."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="action_items")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=ActionItemKind.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items")
    due_at = models.DateTimeField(_("due at"))
    # A playbook change names the playbook (and the task, if any) and the version it was
    # written against: a newer version loaded since shows on the item.
    playbook_key = models.CharField(_("playbook"), max_length=80, blank=True)
    task_key = models.CharField(_("playbook task"), max_length=80, blank=True)
    playbook_version = models.PositiveIntegerField(_("playbook version at the time"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ActionItemStatus.choices, default="open")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The deadline engine: reminder before, due, escalation after (deadlines.py).
    next_alert_at = models.DateTimeField(null=True, blank=True)
    alert_step = models.PositiveSmallIntegerField(default=0)
    alert_failures = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["next_alert_at"],
                name="action_item_next_alert",
                condition=models.Q(next_alert_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.title


class ShareLink(models.Model):
    """A read-only link to a review for executives; only the token's digest is kept."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="share_links")
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("share link")
        verbose_name_plural = _("share links")

    def __str__(self) -> str:
        return f"share link until {self.expires_at:%Y-%m-%d %H:%M}"
