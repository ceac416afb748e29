"""Moments tasks count from: when one happens, the tasks waiting for it get due times."""

from __future__ import annotations

from datetime import datetime

from crisisflow import clock
from crisisflow.alerts import schedule
from crisisflow.incidents.models import Incident, Task
from crisisflow.incidents.models.task import UNFINISHED


def anchor_happened(incident: Incident, anchor: str, at: datetime) -> int:
    """Give a due time to the tasks that were waiting for `anchor`, and start their
    escalation ladders."""
    waiting = list(incident.tasks.filter(anchor=anchor, due_at__isnull=True, status__in=UNFINISHED))
    for task in waiting:
        task.due_at = at + task.offset
        schedule.plan_task(task, incident, clock.now())
    Task.objects.bulk_update(waiting, ["due_at", *schedule.TASK_ALERT_FIELDS])
    return len(waiting)
