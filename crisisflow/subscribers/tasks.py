"""The fan-out's worker task: short to queue, safe to run twice (the lease and the
outbox's unique key see to that)."""

from __future__ import annotations

from celery import shared_task

from crisisflow.subscribers import fanout


@shared_task(name="crisisflow.subscribers.tasks.fan_out", ignore_result=True, acks_late=True)
def fan_out(fanout_id: int) -> str:
    written = fanout.run(fanout_id)
    return f"fan-out {fanout_id}: {written} rows written"
