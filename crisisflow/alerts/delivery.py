"""Delivering the outbox: each row sent once per idempotency key, on its channel.

One call handles one row, the way a worker sees it:

1. Claim: one compare-and-set UPDATE moves the row from pending to sending, counts the
   attempt and sets a lease. It commits on its own (call this in autocommit, outside any
   transaction), so a worker that dies mid-send leaves a lease behind, and the sweep's
   redrive() turns the row back into pending once the lease has lapsed.
2. Send, outside any transaction: a slow SMTP server or webhook holds no lock.
3. Finish with another compare-and-set on (id, state=sending, attempts=this attempt), so
   only the worker holding the current claim writes the outcome: delivered; pending
   again after a wait (a transient failure; the sweep re-queues it when due, the broker
   holds no countdowns); or failed, which also writes a timeline event and, for anything
   more than a plain reminder, tells the incident commander in the app.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from crisisflow import clock
from crisisflow.alerts import channels, outbox
from crisisflow.alerts.ladder import Kind
from crisisflow.alerts.models import Channel, Notification
from crisisflow.conf import setting
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import record

log = logging.getLogger(__name__)

DELIVERED = "delivered"
RETRY = "retry"
FAILED = "failed"
SKIPPED = "skipped"

State = Notification.State


def max_attempts() -> int:
    """One attempt more than there are waits between attempts."""
    return len(setting("DELIVERY_RETRY_SECONDS")) + 1


def claim(pk: int, now: datetime) -> bool:
    """Take the row for one attempt; False if it is not due, or someone else has it."""
    lease = timedelta(seconds=setting("DELIVERY_LEASE_SECONDS"))
    claimed = Notification.objects.filter(pk=pk, state=State.PENDING, next_attempt_at__lte=now).update(
        state=State.SENDING, attempts=F("attempts") + 1, lease_until=now + lease
    )
    return claimed == 1


def deliver_one(pk: int, now: datetime | None = None) -> str:
    """Send notification `pk` if it is due and nobody else is sending it.

    Returns "delivered", "retry" (a transient failure; tried again later), "failed"
    (given up; the commander is told) or "skipped" (not due, not pending, or claimed by
    another worker; also every in-app row, which is delivered when written).
    """
    now = now or clock.now()
    if not claim(pk, now):
        return SKIPPED
    # The message is rendered from the payload: the incident and task rows (wide ones)
    # are read only if the delivery fails and the commander must be told.
    notification = Notification.objects.select_related("recipient", "endpoint").filter(pk=pk).first()
    if notification is None:  # deleted with its incident meanwhile
        return SKIPPED
    # The attempt number is this claim's token: a later claim (after our lease lapsed)
    # has a higher one, and our outcome must not overwrite its.
    attempt = notification.attempts

    if attempt > max_attempts():
        # Earlier claims died mid-send every time (the lease lapsed each time): stop.
        reason = f"gave up after {attempt - 1} attempts that never finished"
        if notification.last_error:
            reason += f"; last error: {notification.last_error}"
        return _fail(notification, attempt, reason, now)

    try:
        channels.send(notification, now)
    except channels.SendError as err:
        error: channels.SendError = err
    except Exception as err:  # a bug must not leave the row claimed until the lease lapses
        log.exception("notification %s: unexpected error while sending", pk)
        error = channels.Transient(f"unexpected error: {type(err).__name__}: {err}")
    else:
        return _delivered(notification, attempt, now)

    if error.transient and attempt < max_attempts():
        return _retry(notification, attempt, error.reason, now)
    if error.transient:
        reason = f"{error.reason} (gave up after {attempt} attempts)"
    else:
        reason = error.reason
    return _fail(notification, attempt, reason, now)


def _ours(notification: Notification, attempt: int):
    return Notification.objects.filter(pk=notification.pk, state=State.SENDING, attempts=attempt)


def _delivered(notification: Notification, attempt: int, now: datetime) -> str:
    done = _ours(notification, attempt).update(state=State.DELIVERED, delivered_at=now, last_error="", lease_until=None)
    if not done:
        # Our lease lapsed while sending and another worker holds the row now: it may
        # send again, which is what the idempotency key is for.
        log.warning("notification %s: delivered, but the claim had passed to another worker", notification.pk)
    return DELIVERED


def _retry(notification: Notification, attempt: int, reason: str, now: datetime) -> str:
    wait = setting("DELIVERY_RETRY_SECONDS")[attempt - 1]
    # enqueued_at empty: no broker message is waiting for it; the sweep's redrive()
    # queues it again once next_attempt_at has come.
    _ours(notification, attempt).update(
        state=State.PENDING,
        next_attempt_at=now + timedelta(seconds=wait),
        enqueued_at=None,
        lease_until=None,
        last_error=reason,
    )
    log.warning("notification %s: attempt %s failed, next in %s s: %s", notification.pk, attempt, wait, reason)
    return RETRY


def target_name(notification: Notification) -> str:
    """Who it was for, in words (the timeline shows it)."""
    if notification.recipient_id and notification.recipient is not None:
        return str(notification.recipient)
    if notification.endpoint_id and notification.endpoint is not None:
        return str(notification.endpoint.name)
    return notification.target


def _fail(notification: Notification, attempt: int, reason: str, now: datetime) -> str:
    log.error("notification %s failed after %s attempts: %s", notification.pk, attempt, reason)
    with transaction.atomic():
        # Lock order as in the sweep (incident, then its rows): record() numbers the
        # timeline events under this lock.
        incident = Incident.objects.select_for_update(of=("self",)).get(pk=notification.incident_id)
        done = _ours(notification, attempt).update(state=State.FAILED, lease_until=None, last_error=reason)
        if not done:
            return SKIPPED  # a newer claim owns the row and will write its own outcome
        record(
            incident,
            None,
            Event.Kind.DELIVERY,
            {
                "channel": notification.channel,
                "target": target_name(notification),
                "attempts": attempt,
                "error": reason,
            },
            task=notification.task,
            at=now,
        )
        if notification.kind not in (Kind.REMINDER, Kind.DELIVERY_FAILED) and incident.commander_id:
            _tell_commander(incident, notification, attempt, reason, now)
    return FAILED


def _tell_commander(incident: Incident, failed: Notification, attempt: int, reason: str, now: datetime) -> None:
    """A failed escalation is never silent: its commander sees it in the app at once."""
    due_at = failed.payload.get("due_at")
    payload = outbox.payload_for(
        Kind.DELIVERY_FAILED,
        failed.rung,
        incident,
        failed.task,
        due_at=datetime.fromisoformat(due_at) if due_at else None,
        failed={
            "notification": failed.pk,
            "kind": failed.kind,
            "rung": failed.rung,
            "channel": failed.channel,
            "target": target_name(failed),
            "attempts": attempt,
            "error": reason,
        },
    )
    Notification.objects.create(
        incident=incident,
        task=failed.task,
        source=f"failed:{failed.pk}",
        kind=Kind.DELIVERY_FAILED,
        rung=failed.rung,
        channel=Channel.IN_APP,
        recipient_id=incident.commander_id,
        target=f"user:{incident.commander_id}",
        payload=payload,
        state=State.DELIVERED,
        due_at=now,
        created_at=now,
        delivered_at=now,
    )
