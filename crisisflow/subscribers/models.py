"""People outside the company who asked to be told when a public notice changes.

A subscriber is one address (an e-mail address, a webhook URL or a mobile number) on
one scope: one incident's public notice, or all of them. Nothing is sent to it until it
has confirmed (a signed link by e-mail, a code by SMS, an echoed challenge for a
webhook). Every consent given, confirmed or withdrawn is a Consent row saying when,
to what, from which network address and in which wording (and its version), as China's
PIPL expects; erasing a subscriber deletes it with all of that (crisisflow.subscribers.privacy).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

ALL = "all"


class Subscriber(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Webhook")
        SMS = "sms", _("SMS")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    # An e-mail address (lower-cased), a webhook URL, or a mobile number in E.164.
    address = models.CharField(_("address"), max_length=500)
    # "all", or "incident:<id>" for one incident's notice: with kind and address, unique.
    scope = models.CharField(_("scope"), max_length=40, default=ALL)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, null=True, blank=True, related_name="subscribers"
    )
    language = models.CharField(_("language"), max_length=16)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    # Webhooks: the signing secret (Standard Webhooks); SMS: the hash of the code sent.
    secret = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("subscribed at"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    # Bumped by each state change: a confirmation link of an earlier round no longer works.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "address", "scope"], name="subscriber_once_per_scope"),
        ]
        indexes = [
            # The fan-out walks the confirmed subscribers of a scope in id order.
            models.Index(fields=["scope", "id"], name="subscriber_fanout", condition=models.Q(state="confirmed")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_state_display()})"

    @property
    def target(self) -> str:
        """The outbox target of its notifications."""
        return f"subscriber:{self.pk}"


class Consent(models.Model):
    class Action(models.TextChoices):
        GIVEN = "given", _("Asked to subscribe")
        CONFIRMED = "confirmed", _("Confirmed")
        WITHDRAWN = "withdrawn", _("Unsubscribed")

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="consents")
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    at = models.DateTimeField(_("when"))
    # What it was consent to, in words ("updates on CF-2026-0001 by e-mail").
    scope = models.CharField(_("to what"), max_length=200)
    network_address = models.GenericIPAddressField(_("from network address"), null=True, blank=True)
    wording = models.TextField(_("wording shown"))
    wording_version = models.CharField(_("wording version"), max_length=20)
    language = models.CharField(_("language"), max_length=16)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M} ({self.wording_version})"


class FanOut(models.Model):
    """Telling the confirmed subscribers of a publication, chunk by chunk.

    Written in the publication's transaction; the worker then writes the outbox rows in
    chunks of subscribers in id order, each chunk in one transaction with `after` (the
    last subscriber id done), so a killed worker's successor resumes where the last
    committed chunk ended. The outbox's unique key (source, channel, target) refuses a
    second row for the same publication and subscriber whatever happens.

    A publication has one fan-out for every reader, or two when its other language is
    on the way (crisisflow.subscribers.pairing): one for the readers of its language, at
    once, and one for the others' that waits (`hold_until`) for their version."""

    class Readers(models.TextChoices):
        ALL = "", _("Everyone")
        CHINESE = "zh-hans", _("Readers of Chinese")
        ENGLISH = "en", _("Readers of English")

    publication = models.ForeignKey("statements.Publication", on_delete=models.CASCADE, related_name="fanouts")
    # Whose subscribers it tells, by the language they read (every language but Chinese
    # reads English, as messages do: pairing.chosen).
    readers = models.CharField(max_length=8, choices=Readers.choices, blank=True, default=Readers.ALL)
    # The same statement published in the other language (zh-Hans / English) within the
    # pairing window: its readers get it, in their language (crisisflow.subscribers.pairing).
    paired = models.OneToOneField(
        "statements.Publication", on_delete=models.CASCADE, null=True, blank=True, related_name="paired_fanout"
    )
    # Waiting until then for the other language's version to be published.
    hold_until = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    after = models.BigIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    # Taken by a worker until then; a lapsed lease (the worker died) is taken over by
    # the sweep's fan-out source.
    lease_until = models.DateTimeField(null=True, blank=True)
    # When a worker task was last queued for it: one not taken within a while (the
    # broker lost it, the worker died) is queued again by the sweep.
    queued_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["publication", "readers"], name="fanout_once_per_readers"),
        ]
        indexes = [
            models.Index(fields=["queued_at"], name="fanout_unfinished", condition=models.Q(finished_at=None)),
        ]

    def __str__(self) -> str:
        return f"fan-out of publication {self.publication_id}: {self.written}"
