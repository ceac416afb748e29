"""Celery tasks of the deadline engine. Short and idempotent: a message delivered twice
(Redis redelivers unacknowledged ones) does no harm, because every row is claimed with a
compare-and-set update before anything is sent."""

from __future__ import annotations

from celery import shared_task

from crisisflow.alerts import delivery
from crisisflow.alerts.sweep import sweep as run_sweep

# Notification ids per delivery message: fewer broker round trips under a burst.
DELIVERY_BATCH = 25


def enqueue(ids: list[int]) -> None:
    for start in range(0, len(ids), DELIVERY_BATCH):
        deliver.delay(ids[start : start + DELIVERY_BATCH])


@shared_task(name="crisisflow.alerts.tasks.sweep", ignore_result=True)
def sweep() -> str:
    report = run_sweep()
    enqueue(report.notifications + report.redriven)
    return str(report)


@shared_task(name="crisisflow.alerts.tasks.deliver", ignore_result=True, acks_late=True)
def deliver(ids: list[int]) -> None:
    for pk in ids:
        delivery.deliver_one(pk)
