from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crisisflow.vocab import Severity


class Rule(models.Model):
    """When a brand's signals say a crisis may be starting, and what to open then.

    `params` by kind (see watch.rules, which checks them):
    - threshold: {"op": "above"|"below", "value": x}
    - rate: {"percent": p, "window_minutes": m}  (p < 0: a fall)
    - spike: {"z": 3.0, "min_samples": 4}  (against the hour-of-week baseline)
    - composite: {"all": [rule ids]} or {"any": [rule ids]}
    - flag: {"official_media": true, "min_reach": n, "negative_only": true, "window_minutes": m}
    """

    class Kind(models.TextChoices):
        THRESHOLD = "threshold", _("Threshold")
        RATE = "rate", _("Rate of change")
        SPIKE = "spike", _("Spike against the usual level")
        COMPOSITE = "composite", _("Composite")
        FLAG = "flag", _("Account flag in posts")

    name = models.CharField(_("name"), max_length=160)
    brand = models.ForeignKey("watch.Brand", on_delete=models.PROTECT, related_name="rules", verbose_name=_("brand"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    series = models.ForeignKey(
        "watch.Series", on_delete=models.PROTECT, null=True, blank=True, related_name="rules", verbose_name=_("series")
    )
    params = models.JSONField(_("parameters"), default=dict)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    crisis_type = models.CharField(_("suggested crisis type"), max_length=64)
    # A firing within this window of an open incident of the same brand and type adds
    # its evidence to that incident instead of opening another.
    dedup_minutes = models.PositiveIntegerField(_("dedup window (minutes)"), default=24 * 60)
    # After firing, the rule stays quiet this long even if the condition still holds.
    cooldown_minutes = models.PositiveIntegerField(_("quiet after firing (minutes)"), default=60)
    active = models.BooleanField(_("active"), default=True)

    muted = models.BooleanField(_("muted"), default=False)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    quiet_reason = models.CharField(_("reason"), max_length=500, blank=True)
    quieted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_fired_at = models.DateTimeField(null=True, blank=True)
    # When the rule job last looked at it (it looks again when its data changes).
    checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["brand__name", "name"]
        constraints = [
            models.CheckConstraint(
                name="rule_series_when_needed",
                condition=Q(kind__in=["composite", "flag"]) | Q(series__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Firing(models.Model):
    """A rule that fired: the incident it opened or added to, and the evidence as it
    was at that moment (the series window and the top posts by reach), frozen."""

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="firings")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    opened = models.BooleanField(help_text="True if this firing opened the incident")
    # What the rule saw, as data (watch.rules.explain puts it into the reader's words).
    verdict = models.JSONField(default=dict)
    evidence = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("firing")
        verbose_name_plural = _("firings")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["rule", "-at"], name="firing_rule_newest"),
            models.Index(fields=["incident", "at"], name="firing_incident"),
        ]
        constraints = [
            # One opening per incident: the race test's last line of defence.
            models.UniqueConstraint(fields=["incident"], condition=Q(opened=True), name="firing_opens_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} → {self.incident_id} at {self.at.isoformat()}"
