from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """The timeline is append-only: corrections are new events."""


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("timeline events cannot be changed; add a correcting event")

    def delete(self):
        raise AppendOnlyError("timeline events cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AppendOnlyError("timeline events cannot be changed; add a correcting event")

    def update_or_create(self, *args: Any, **kwargs: Any):
        raise AppendOnlyError("timeline events cannot be changed; add a correcting event")


class Event(models.Model):
    """One change on an incident: who, when, what, before and after.

    Written in the same transaction as the change itself. The timeline, the audit trail
    and (for the deadline engine) the outbox at once. Each event carries the hash of
    the previous one on the same incident, so tampering in the database shows.
    """

    class Kind(models.TextChoices):
        REPORTED = "reported", _("Reported")
        TRANSITION = "transition", _("Stage change")
        SEVERITY = "severity", _("Severity change")
        FACTS = "facts", _("Scope or facts changed")
        COMMANDER = "commander", _("Commander change")
        TEAM = "team", _("Team change")
        ASSIGNMENT = "assignment", _("Task assignment")
        TASK = "task", _("Task status")
        CHECKLIST = "checklist", _("Checklist")
        NOTE = "note", _("Note")
        ALERT = "alert", _("Reminder or escalation")
        DELIVERY = "delivery", _("Delivery failure")
        COMMENT = "comment", _("Task comment")
        EVIDENCE = "evidence", _("Evidence")

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Long enough for the kinds other apps register (statement_approval_requested).
    kind = models.CharField(max_length=32, choices=Kind.choices)
    task = models.ForeignKey("incidents.Task", on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["incident", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "seq"], name="event_seq_once_per_incident"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("timeline events cannot be changed; add a correcting event")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise AppendOnlyError("timeline events cannot be deleted")

    def compute_hash(self) -> str:
        return event_hash(
            incident_id=self.incident_id,
            seq=self.seq,
            at=self.at,
            actor_id=self.actor_id,
            kind=self.kind,
            task_id=self.task_id,
            data=self.data,
            prev_hash=self.prev_hash,
        )


class TimelineHead(models.Model):
    """Where an incident's timeline ends: the last event's number and hash.

    Moved forward in the same transaction as each event (timeline.record). The chain
    of hashes shows a changed or missing event in the middle; only this row shows that
    events are missing at the end - or that all of them are. Database triggers let it
    move forward only and refuse deleting it.
    """

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.PROTECT, primary_key=True, related_name="timeline_head"
    )
    seq = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("timeline head")
        verbose_name_plural = _("timeline heads")

    def __str__(self) -> str:
        return f"#{self.seq}"

    def delete(self, *args: Any, **kwargs: Any):
        raise AppendOnlyError("a timeline head cannot be deleted")


GENESIS_HASH = "0" * 64


def event_hash(*, incident_id, seq, at, actor_id, kind, task_id, data, prev_hash) -> str:
    payload = json.dumps(
        {
            "incident": incident_id,
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor_id,
            "kind": kind,
            "task": task_id,
            "data": data,
            "prev": prev_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()
