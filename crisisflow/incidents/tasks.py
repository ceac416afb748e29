"""Celery tasks of the incident engine.

Deadlines are database columns swept by a periodic job, not Celery ETA messages; the
tasks here are short and idempotent so a redelivered message does no harm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.db.models import BooleanField, ExpressionWrapper, Subquery

from crisisflow import clock
from crisisflow.conf import setting
from crisisflow.incidents.models import Heartbeat
from crisisflow.incidents.permissions import commanders
from crisisflow.people.models import User

WORKER_HEARTBEAT = "worker"
# Heartbeats missed before the worker counts as down, and the shortest silence that
# does: a loaded machine may run one late, and a worker restarting takes a few seconds.
MISSED_HEARTBEATS = 3
LEAST_SILENCE = timedelta(seconds=30)


@shared_task(name="crisisflow.incidents.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Beat sends this every few seconds; a worker running it proves both are alive."""
    now = clock.now()
    Heartbeat.objects.update_or_create(name=WORKER_HEARTBEAT, defaults={"last_seen": now})
    return now.isoformat()


def last_heartbeat():
    row = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
    return row.last_seen if row else None


def worker_silence() -> timedelta:
    """How long without a heartbeat before the background worker counts as down."""
    return max(timedelta(seconds=MISSED_HEARTBEATS * setting("HEARTBEAT_SECONDS")), LEAST_SILENCE)


@dataclass(frozen=True)
class WorkerDown:
    """The worker is down: deadlines are not swept and alerts are not sent."""

    last_seen: datetime | None  # its last heartbeat; None if it never sent one


def worker_down(now: datetime | None = None) -> WorkerDown | None:
    """Whether the background worker is down (None when it is running)."""
    now = clock.now() if now is None else now
    seen = last_heartbeat()
    if seen is not None and now - seen <= worker_silence():
        return None
    return WorkerDown(last_seen=seen)


def worker_down_for(user, now: datetime | None = None) -> WorkerDown | None:
    """worker_down(), but only for someone who must be told (permissions.commanders());
    None for everyone else. One query, whoever asks: every page shows it."""
    now = clock.now() if now is None else now
    last_seen = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).values("last_seen")[:1]
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(last_seen=Subquery(last_seen), told=ExpressionWrapper(commanders(), output_field=BooleanField()))
        .values("last_seen", "told")
        .first()
    )
    if row is None or not row["told"]:
        return None
    seen = row["last_seen"]
    if seen is not None and now - seen <= worker_silence():
        return None
    return WorkerDown(last_seen=seen)
