"""The outbox: one row per message to one target on one channel.

Rows are written in the same transaction as the rung that caused them (the sweep) and
delivered by Celery tasks that claim each row with a compare-and-set update. The row's
id is the idempotency key sent with the message, so a receiver can drop a repeat.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crisisflow.vocab import Severity


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Chat / webhook")
    # Someone outside the company subscribed to a public notice (crisisflow.subscribers
    # sends it: e-mail, webhook or SMS, as the subscriber chose).
    SUBSCRIBER = "subscriber", _("Public subscriber")


class WebhookEndpoint(models.Model):
    """A team channel: a chat group bot or any service taking signed JSON."""

    class Format(models.TextChoices):
        GENERIC = "generic", _("Generic JSON (HMAC-signed)")
        SLACK = "slack", "Slack"
        DINGTALK = "dingtalk", _("DingTalk group bot")
        FEISHU = "feishu", _("Feishu / Lark group bot")
        WECOM = "wecom", _("WeCom group bot")

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    format = models.CharField(_("format"), max_length=16, choices=Format.choices, default=Format.GENERIC)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("HMAC key for generic webhooks; the bot's signing secret for DingTalk and Feishu."),
    )
    active = models.BooleanField(_("active"), default=True)
    escalations_only = models.BooleanField(
        _("escalations only"),
        default=False,
        help_text=_("Only deadlines that passed, golden-clock alerts and failures; no early reminders."),
    )
    min_severity = models.CharField(_("from severity"), max_length=16, choices=Severity.choices, default=Severity.LOW)
    # A chat group is seen by whoever is in it, not only by a restricted incident's team.
    restricted_incidents = models.BooleanField(
        _("restricted incidents too"),
        default=False,
        help_text=_("Also post alerts about restricted incidents. Only for a channel whose members may all see them."),
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_format_display()})"


class Notification(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        # Not sent on its own: a digest row (`digest`) carried it with the target's other
        # alerts from the same sweep.
        BUNDLED = "bundled", _("Sent in a digest")

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="notifications")
    task = models.ForeignKey(
        "incidents.Task", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    # What caused it, e.g. "task:42:7:3" (task 42, schedule 7, ladder step 3); with the
    # channel and target it is unique, so a rung can never write the same message twice.
    source = models.CharField(max_length=160)
    kind = models.CharField(max_length=24)
    rung = models.CharField(max_length=64)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    # "user:<id>", "endpoint:<id>" or "subscriber:<id>": with source and channel, unique.
    target = models.CharField(max_length=40)
    # The message as data (rendered in the recipient's language when delivered).
    payload = models.JSONField(default=dict)
    # The digest that carried this alert (state "bundled").
    digest = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="parts")

    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    due_at = models.DateTimeField(help_text="when the rung was meant to fire")
    created_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    # Earliest time of the next attempt (backoff after a failure).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a delivery message was last put on the broker for it; if no worker claims it
    # within DELIVERY_REDRIVE_AFTER_SECONDS the sweep queues it again.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # A claimed row not finished by then (a worker killed mid-send) is tried again.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "channel", "target"], name="notification_once_per_target"),
        ]
        indexes = [
            # The delivery sweep looks only at rows still to be sent.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_to_send",
                condition=models.Q(state__in=["pending", "sending"]),
            ),
            models.Index(
                fields=["recipient", "channel", "read_at"],
                name="notification_inbox",
                condition=models.Q(channel="in_app"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.rung} → {self.recipient or self.endpoint} via {self.channel} ({self.state})"

    @property
    def idempotency_key(self) -> str:
        return f"crisisflow-notification-{self.pk}"
