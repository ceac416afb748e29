"""Keeping each deadline's next alert time right.

Every change that moves a deadline calls one of these in its own transaction: a new due
time, an anchor happening, a new assignee, severity moving the golden clock, a task or
an incident finishing. They only set fields on the instance; the caller saves.
"""

from __future__ import annotations

from datetime import datetime

from crisisflow.alerts.ladder import Rung, alert_time, clock_rungs, first_step, task_rungs, triage_rungs
from crisisflow.vocab import OPEN_STATES


def rungs_of_task(task, incident) -> list[Rung]:
    if task.due_at is None or task.alert_window_start is None:
        return []
    unassigned = task.assignee_id is None and incident.team_assembled_at is not None
    return task_rungs(task.due_at, task.alert_window_start, task.ladder, unassigned=unassigned)


def plan_task(task, incident, now: datetime) -> None:
    """Rebuild a task's ladder from now: its due time or its owner changed."""
    task.alert_generation += 1
    task.alert_window_start = now
    if task.is_finished or task.due_at is None or incident.state not in OPEN_STATES:
        task.alert_step = 0
        task.next_alert_at = None
        return
    rungs = rungs_of_task(task, incident)
    task.alert_step = first_step(rungs, now)
    task.next_alert_at = alert_time(rungs, task.alert_step)


def stop_task(task) -> None:
    task.next_alert_at = None


TASK_ALERT_FIELDS = ["alert_generation", "alert_window_start", "alert_step", "next_alert_at"]


def plan_clock(incident, now: datetime) -> None:
    """Rebuild the golden clock's ladder: it started, or its deadline moved."""
    incident.clock_generation += 1
    if (
        incident.statement_due_at is None
        or incident.first_statement_at is not None
        or incident.state not in OPEN_STATES
    ):
        incident.clock_step = 0
        incident.clock_next_alert_at = None
        return
    rungs = clock_rungs(incident.statement_due_at)
    incident.clock_step = first_step(rungs, now)
    incident.clock_next_alert_at = alert_time(rungs, incident.clock_step)


def stop_clock(incident) -> None:
    incident.clock_next_alert_at = None


def plan_triage(incident, now: datetime) -> None:
    """Rebuild the triage ladder: a report came in, or its deadline moved."""
    incident.triage_generation += 1
    if incident.triage_due_at is None or incident.confirmed_at is not None or incident.state not in OPEN_STATES:
        incident.triage_step = 0
        incident.triage_next_alert_at = None
        return
    rungs = triage_rungs(incident.triage_due_at)
    incident.triage_step = first_step(rungs, now)
    incident.triage_next_alert_at = alert_time(rungs, incident.triage_step)


def stop_triage(incident) -> None:
    incident.triage_next_alert_at = None
