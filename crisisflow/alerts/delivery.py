"""Delivering the outbox: each row sent once per idempotency key, on its channel.

A worker handles a batch of rows (the ids in one broker message) the same way it would
handle one:

1. Claim: one compare-and-set UPDATE … RETURNING moves the batch's due rows from pending
   to sending, counts an attempt on each and sets a lease; it says which rows we got
   (another worker may hold some) and at which attempt. It commits on its own (call
   this in autocommit, outside any transaction), so a worker that dies mid-send leaves
   leases behind, and the sweep's redrive() turns the rows back into pending once they
   have lapsed. The claimed rows are then read in one query.
2. Send, outside any transaction: a slow SMTP server or webhook holds no lock. The
   batch shares one SMTP connection, the pooled HTTP connections, and each distinct
   message is rendered once per language (channels.Batch). A channel may read what its
   rows need once for the batch first (channels.register_preparer).
3. Finish with compare-and-sets on (id, state=sending, attempts=this attempt), so only
   the worker holding the current claim writes the outcome: delivered (written in
   bulk, at least every FLUSH_SECONDS, so a worker killed mid-batch sends again only
   what went out in its last moments); pending again after a wait (a transient
   failure; the sweep re-queues it when due, the broker holds no countdowns); or
   failed, which also writes a timeline event and, for anything more than a plain
   reminder, tells the incident commander in the app.

A batch that runs long (slow endpoints) hands back the rows it has not reached before
half their lease is gone, for another worker to take, rather than send them after the
lease has lapsed and someone else may already have.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection, transaction
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

# Delivered rows are marked in one UPDATE per this many seconds of sending (and at the
# end of the batch): quick sends share a write, a slow one gets its own at once. Kept
# shorter than a slow send, so a worker killed mid-batch sends at most one message again
# (tests/test_alerts__worker.py).
FLUSH_SECONDS = 0.02


def max_attempts() -> int:
    """One attempt more than there are waits between attempts."""
    return len(setting("DELIVERY_RETRY_SECONDS")) + 1


def update_returning_supported() -> bool:
    # SQLite learnt UPDATE … RETURNING in 3.35; PostgreSQL has always had it.
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 35, 0)


def _among(column: str, ids: list[int]) -> tuple[str, list]:
    """`column` is one of `ids`: one array parameter on PostgreSQL (the statement's text
    stays the same whatever the number, so the driver parses it once), a list elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def claim_many(ids: list[int], now: datetime) -> dict[int, int]:
    """Take the due, pending rows among `ids` for one attempt each; {id: attempt} of
    those we got (not due, not pending, or claimed by another worker: left out)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    lease_until = now + timedelta(seconds=setting("DELIVERY_LEASE_SECONDS"))
    if not update_returning_supported():
        claimed = [pk for pk in ids if claim(pk, now, lease_until)]
        return dict(Notification.objects.filter(pk__in=claimed).values_list("pk", "attempts"))
    quote = connection.ops.quote_name
    table = quote(Notification._meta.db_table)
    at = connection.ops.adapt_datetimefield_value
    among, listed = _among(quote("id"), ids)
    sql = (
        f"UPDATE {table} SET {quote('state')} = %s, {quote('attempts')} = {quote('attempts')} + 1, "
        f"{quote('lease_until')} = %s "
        f"WHERE {among} AND {quote('state')} = %s AND {quote('next_attempt_at')} <= %s "
        f"RETURNING {quote('id')}, {quote('attempts')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [State.SENDING, at(lease_until), *listed, State.PENDING, at(now)])
        return {pk: attempts for pk, attempts in cursor.fetchall()}


def claim(pk: int, now: datetime, lease_until: datetime | None = None) -> bool:
    """Take one row for one attempt; False if it is not due, or someone else has it."""
    if lease_until is None:
        lease_until = now + timedelta(seconds=setting("DELIVERY_LEASE_SECONDS"))
    claimed = Notification.objects.filter(pk=pk, state=State.PENDING, next_attempt_at__lte=now).update(
        state=State.SENDING, attempts=F("attempts") + 1, lease_until=lease_until
    )
    return claimed == 1


def deliver_one(pk: int, now: datetime | None = None) -> str:
    """Send notification `pk` if it is due and nobody else is sending it.

    Returns "delivered", "retry" (a transient failure; tried again later), "failed"
    (given up; the commander is told) or "skipped" (not due, not pending, or claimed by
    another worker; also every in-app row, which is delivered when written).
    """
    return deliver_many([pk], now)[pk]


def deliver_many(ids: list[int], now: datetime | None = None) -> dict[int, str]:
    """Send the due ones among notifications `ids`; the outcome of each, as deliver_one."""
    fixed_now = now
    now = now or clock.now()
    outcomes = dict.fromkeys(ids, SKIPPED)
    claimed = claim_many(ids, now)
    if not claimed:
        return outcomes
    # The message is rendered from the payload: the incident and task rows (wide ones)
    # are read only if a delivery fails and the commander must be told.
    rows = Notification.objects.select_related("recipient", "endpoint").in_bulk(list(claimed))
    started = time.monotonic()
    budget = setting("DELIVERY_LEASE_SECONDS") / 2
    sent = _Delivered(fixed_now)
    order = [pk for pk in dict.fromkeys(ids) if pk in claimed]
    # Whatever happens below (a lost database connection), what went out is marked.
    with channels.Batch() as batch, sent:
        # What the rows' channels read once for the whole batch (the subscribers of a
        # fan-out's rows, in one query).
        channels.prepare([rows[pk] for pk in order if pk in rows], batch)
        for position, pk in enumerate(order):
            notification = rows.get(pk)
            if notification is None:  # deleted with its incident meanwhile
                continue
            if time.monotonic() - started > budget:
                sent.flush()
                _hand_back({p: claimed[p] for p in order[position:]})
                log.warning("delivery batch: handed back %d rows not reached in %.0f s", len(order) - position, budget)
                break
            # Clocks move during a long batch; a test's fixed time does not.
            at = fixed_now or clock.now()
            # The attempt number is this claim's token: a later claim (after our lease
            # lapsed) has a higher one, and our outcome must not overwrite its.
            outcome = _attempt(notification, claimed[pk], at, batch)
            if outcome == DELIVERED:
                sent.add(notification.pk, claimed[pk])
            outcomes[pk] = outcome
    return outcomes


def _attempt(notification: Notification, attempt: int, now: datetime, batch: channels.Batch) -> str:
    if attempt > max_attempts():
        # Earlier claims died mid-send every time (the lease lapsed each time): stop.
        reason = f"gave up after {attempt - 1} attempts that never finished"
        if notification.last_error:
            reason += f"; last error: {notification.last_error}"
        return _fail(notification, attempt, reason, now)
    try:
        channels.send(notification, now, batch)
    except channels.SendError as err:
        error: channels.SendError = err
    except Exception as err:  # a bug must not leave the row claimed until the lease lapses
        log.exception("notification %s: unexpected error while sending", notification.pk)
        error = channels.Transient(f"unexpected error: {type(err).__name__}: {err}")
    else:
        return DELIVERED

    if error.transient and attempt < max_attempts():
        return _retry(notification, attempt, error.reason, now)
    if error.transient:
        reason = f"{error.reason} (gave up after {attempt} attempts)"
    else:
        reason = error.reason
    return _fail(notification, attempt, reason, now)


class _Delivered:
    """Rows sent but not yet marked delivered: marked in bulk by one compare-and-set
    UPDATE per attempt number, as soon as FLUSH_SECONDS of sending have gone by since
    the last write (at once after a slow send). `now`: a fixed delivery time (tests),
    else the time of the write."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now
        self.waiting: dict[int, list[int]] = defaultdict(list)
        self.since = time.monotonic()

    def __enter__(self) -> _Delivered:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def add(self, pk: int, attempt: int) -> None:
        self.waiting[attempt].append(pk)
        if time.monotonic() - self.since >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.since = time.monotonic()
        waiting, self.waiting = self.waiting, defaultdict(list)
        at = self.now or clock.now()
        for attempt, pks in waiting.items():
            done = mark_delivered(pks, attempt, at)
            if done != len(pks):
                # Our lease lapsed while sending and another worker holds the row now:
                # it may send again, which is what the idempotency key is for.
                log.warning("%d delivered notifications had passed to another worker", len(pks) - done)


def mark_delivered(pks: list[int], attempt: int, at: datetime) -> int:
    """Compare-and-set: rows `pks` still sending at `attempt` become delivered. One SQL
    statement built by hand (this runs for nearly every message sent, and the ORM would
    cost more than the write); how many rows it changed."""
    quote = connection.ops.quote_name
    among, listed = _among(quote("id"), pks)
    sql = (
        f"UPDATE {quote(Notification._meta.db_table)} SET {quote('state')} = %s, {quote('delivered_at')} = %s, "
        f"{quote('last_error')} = '', {quote('lease_until')} = NULL "
        f"WHERE {among} AND {quote('state')} = %s AND {quote('attempts')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [State.DELIVERED, connection.ops.adapt_datetimefield_value(at), *listed, State.SENDING, attempt]
        )
        return cursor.rowcount


def _hand_back(claimed: dict[int, int]) -> None:
    """Give back claimed rows that were never tried: the attempt is not counted, and
    the sweep's redrive() queues them again at once (enqueued_at empty)."""
    by_attempt: dict[int, list[int]] = defaultdict(list)
    for pk, attempt in claimed.items():
        by_attempt[attempt].append(pk)
    for attempt, pks in by_attempt.items():
        Notification.objects.filter(pk__in=pks, state=State.SENDING, attempts=attempt).update(
            state=State.PENDING, attempts=F("attempts") - 1, lease_until=None, enqueued_at=None
        )


def _ours(notification: Notification, attempt: int):
    return Notification.objects.filter(pk=notification.pk, state=State.SENDING, attempts=attempt)


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
