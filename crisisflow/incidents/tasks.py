"""Celery tasks of the incident engine.

Deadlines are database columns swept by a periodic job, not Celery ETA messages; the
tasks here are short and idempotent so a redelivered message does no harm.
"""

from __future__ import annotations

from celery import shared_task

from crisisflow import clock
from crisisflow.incidents.models import Heartbeat

WORKER_HEARTBEAT = "worker"


@shared_task(name="crisisflow.incidents.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Beat sends this every few seconds; a worker running it proves both are alive."""
    now = clock.now()
    Heartbeat.objects.update_or_create(name=WORKER_HEARTBEAT, defaults={"last_seen": now})
    return now.isoformat()


def last_heartbeat():
    row = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
    return row.last_seen if row else None
