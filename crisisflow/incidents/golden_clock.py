"""The golden clock: the first public statement is due within hours of the outbreak.

This module owns it — when it is due, when it starts and moves, its ladder, whether it
was met and by how much, and what counts as "the first public statement":

- It runs from the report on. An incident reported (or raised) to a severity that has
  a clock — `CRISISFLOW["GOLDEN_CLOCK_SECONDS"]` before a plan is chosen, the pinned
  playbook's `first_statement_within` (and `…_critical`) after — is due at outbreak +
  clock, whatever stage it is in. A corrected outbreak time moves it.
- A task that delivers the first statement (deliverable `holding_statement`) is due when
  the clock runs out, not at its own offset: the plan cannot promise later than the clock.
- By default publishing information (the publish step) is the first statement. An app
  that publishes statements itself calls `define_first_statement()` in its `ready()`;
  from then on only its call to `statement_made()` — an approved statement going out —
  stops the clock.

Every function here only sets fields; the use case that calls it locks, saves and
writes the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crisisflow.alerts import schedule
from crisisflow.conf import setting
from crisisflow.incidents.anchors import anchor_happened
from crisisflow.incidents.models import Incident, Task
from crisisflow.incidents.models.task import UNFINISHED
from crisisflow.vocab import Anchor, Deliverable

FIRST_STATEMENT_DELIVERABLE = Deliverable.HOLDING_STATEMENT

_definers: list[str] = []


def define_first_statement(app_label: str) -> None:
    """From now on `app_label` says when the first statement went out (through
    statement_made), and the publish step alone no longer counts as it."""
    if app_label not in _definers:
        _definers.append(app_label)


def forget_first_statement_definer(app_label: str) -> None:
    """Undo define_first_statement (for tests and for an app being switched off)."""
    if app_label in _definers:
        _definers.remove(app_label)


def publish_step_is_first_statement() -> bool:
    return not _definers


def clock_seconds(incident: Incident) -> int | None:
    """How long the first statement may take from the outbreak; None: no clock."""
    if incident.playbook_version_id:
        return incident.playbook_version.statement_clock_seconds(incident.severity or "")
    seconds = setting("GOLDEN_CLOCK_SECONDS").get(incident.severity or "")
    return int(seconds) if seconds else None


def restart(incident: Incident, now: datetime) -> None:
    """(Re)compute the due time from the outbreak and the clock, rebuild the ladder, and
    bring the tasks that deliver the first statement in line. Once the statement is out
    the clock is decided and nothing moves it."""
    if incident.first_statement_at is not None:
        return
    seconds = clock_seconds(incident)
    incident.statement_due_at = incident.detected_at + timedelta(seconds=seconds) if seconds is not None else None
    schedule.plan_clock(incident, now)
    if incident.pk is not None:
        align_statement_tasks(incident, now)


def statement_task_due(incident: Incident, task_due_at: datetime | None) -> datetime | None:
    """The due time of a task that delivers the first statement: the clock's, if it runs."""
    return incident.statement_due_at if incident.statement_due_at is not None else task_due_at


def align_statement_tasks(incident: Incident, now: datetime) -> int:
    if incident.statement_due_at is None:
        return 0
    tasks = list(
        incident.tasks.filter(deliverable=FIRST_STATEMENT_DELIVERABLE, status__in=UNFINISHED).exclude(
            due_at=incident.statement_due_at
        )
    )
    for task in tasks:
        task.due_at = incident.statement_due_at
        schedule.plan_task(task, incident, now)
        task.version += 1
    Task.objects.bulk_update(tasks, ["due_at", "version", *schedule.TASK_ALERT_FIELDS])
    return len(tasks)


def stop(incident: Incident) -> None:
    schedule.stop_clock(incident)


def statement_made(incident: Incident, at: datetime) -> bool:
    """The first public statement went out at `at`: stop the clock and start what counts
    from it. False if it had already gone out (only the first one counts)."""
    if incident.first_statement_at is not None:
        return False
    incident.first_statement_at = at
    schedule.stop_clock(incident)
    anchor_happened(incident, Anchor.FIRST_STATEMENT, at)
    return True


@dataclass(frozen=True)
class Outcome:
    """Where the clock stands: "none" (no clock), "running", "met" or "missed"; `margin`
    is the time left (running), to spare (met) or past the deadline (missed)."""

    state: str
    due_at: datetime | None
    margin: timedelta | None

    @property
    def decided(self) -> bool:
        return self.state in ("met", "missed")


def outcome(incident: Incident, now: datetime) -> Outcome:
    due = incident.statement_due_at
    if due is None:
        return Outcome("none", None, None)
    if incident.first_statement_at is not None:
        margin = due - incident.first_statement_at
        return Outcome("met" if margin >= timedelta(0) else "missed", due, abs(margin))
    if now > due:
        return Outcome("missed", due, now - due)
    return Outcome("running", due, due - now)
