"""The escalation ladders: when a deadline speaks, and to whom.

Pure functions of a deadline, no database, so every rung can be tested on its own. A
ladder is a list of rungs; a rung is a moment relative to the deadline and an audience.

Task ladder (defaults in settings CRISISFLOW["TASK_LADDER"], overridable per playbook
task): reminders to the assignee at half the window and 15 minutes before due; at due
to the assignee and the role lead; 30 minutes after to the commander; 2 hours after to
the executive sponsor. An unassigned task alerts the role lead at once.

Golden clock (CRISISFLOW["CLOCK_LADDER"]): warnings 2 h, 1 h and 30 min before the first
public statement is due to the PR lead, the legal lead and the commander (the duty
commanders while the incident has none); at expiry to the executive sponsor and the
commander.

Triage (CRISISFLOW["TRIAGE_LADDER"]): a report neither confirmed nor dismissed warns the
duty commanders 10 minutes before its triage deadline (30 minutes after the report),
then at it and 30 and 60 minutes after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crisisflow.conf import setting

# Who a rung speaks to; resolved to people when it fires (recipients.py).
AUDIENCES = ("assignee", "role_lead", "commander", "executive", "pr_lead", "legal_lead", "duty_commanders")


class Kind:
    REMINDER = "reminder"  # before the deadline
    DUE = "due"  # at the deadline
    ESCALATION = "escalation"  # after the deadline
    UNASSIGNED = "unassigned"  # nobody owns the task
    CLOCK_WARNING = "clock_warning"  # golden clock running out
    CLOCK_EXPIRED = "clock_expired"  # golden clock ran out
    DELIVERY_FAILED = "delivery_failed"  # a notification could not be delivered
    TRIAGE_WARNING = "triage_warning"  # a report still waits to be confirmed or dismissed
    TRIAGE_OVERDUE = "triage_overdue"  # and its triage deadline has passed
    APPROVAL_REQUESTED = "approval_requested"  # a statement waits for someone's approval
    APPROVAL_DUE = "approval_due"  # and its approval deadline has come
    APPROVAL_OVERDUE = "approval_overdue"  # and passed: the role lead, then the commander
    DIGEST = "digest"  # several of the above to one target from one sweep, in one message
    EARLY_WARNING = "early_warning"  # an early-warning rule opened an incident (crisisflow.watch)

    # Rungs that only make sense before the moment they warn about: when one is already
    # past as the ladder is (re)built, it is skipped rather than fired late.
    WARNINGS = (REMINDER, CLOCK_WARNING, TRIAGE_WARNING)
    # What must always reach someone, whatever their channel preferences.
    CRITICAL = (
        DUE,
        ESCALATION,
        CLOCK_EXPIRED,
        DELIVERY_FAILED,
        UNASSIGNED,
        TRIAGE_OVERDUE,
        APPROVAL_OVERDUE,
        EARLY_WARNING,
    )


@dataclass(frozen=True)
class Rung:
    name: str
    at: datetime
    kind: str
    audience: tuple[str, ...]


def default_task_ladder() -> dict[str, Any]:
    return setting("TASK_LADDER")


def task_rungs(
    due_at: datetime, window_start: datetime, ladder: dict[str, Any] | None = None, *, unassigned: bool = False
) -> list[Rung]:
    """The rungs of a task due at `due_at`, counted from `window_start` (when it got its
    deadline or its current assignee), in time order."""
    ladder = {**default_task_ladder(), **(ladder or {})}
    rungs: list[Rung] = []
    if unassigned:
        rungs.append(Rung("unassigned", window_start, Kind.UNASSIGNED, ("role_lead",)))
    window = due_at - window_start
    if ladder.get("remind_at_half") and window > timedelta(0):
        rungs.append(Rung("half_window", window_start + window / 2, Kind.REMINDER, ("assignee",)))
    for seconds in sorted(ladder.get("remind_before", []), reverse=True):
        at = due_at - timedelta(seconds=seconds)
        if at > window_start:
            rungs.append(Rung(f"before_{seconds}s", at, Kind.REMINDER, ("assignee",)))
    rungs.append(Rung("due", due_at, Kind.DUE, ("assignee", "role_lead")))
    for audience, seconds in sorted(ladder.get("escalate_after", {}).items(), key=lambda item: item[1]):
        rungs.append(
            Rung(f"after_{seconds}s_{audience}", due_at + timedelta(seconds=seconds), Kind.ESCALATION, (audience,))
        )
    rungs.sort(key=lambda r: r.at)
    return rungs


def clock_rungs(statement_due_at: datetime) -> list[Rung]:
    ladder = setting("CLOCK_LADDER")
    rungs = [
        Rung(
            f"left_{seconds}s",
            statement_due_at - timedelta(seconds=seconds),
            Kind.CLOCK_WARNING,
            tuple(ladder["warn_to"]),
        )
        for seconds in sorted(ladder["warn_before"], reverse=True)
    ]
    rungs.append(Rung("expired", statement_due_at, Kind.CLOCK_EXPIRED, tuple(ladder["expired_to"])))
    return rungs


def triage_rungs(triage_due_at: datetime) -> list[Rung]:
    """A report not yet confirmed or dismissed: a warning before its triage deadline,
    then reminders at it and after it, to the duty commanders (CRISISFLOW["TRIAGE_LADDER"])."""
    ladder = setting("TRIAGE_LADDER")
    audience = tuple(ladder["to"])
    rungs = [
        Rung(f"triage_left_{seconds}s", triage_due_at - timedelta(seconds=seconds), Kind.TRIAGE_WARNING, audience)
        for seconds in sorted(ladder["warn_before"], reverse=True)
    ]
    rungs.append(Rung("triage_due", triage_due_at, Kind.TRIAGE_OVERDUE, audience))
    for seconds in sorted(ladder["remind_after"]):
        rungs.append(
            Rung(f"triage_after_{seconds}s", triage_due_at + timedelta(seconds=seconds), Kind.TRIAGE_OVERDUE, audience)
        )
    return rungs


def first_step(rungs: list[Rung], now: datetime, start: int = 0) -> int:
    """The next rung to fire from `start` on: past warnings are skipped (a reminder "15
    minutes before" is useless an hour late); past escalations still fire, at once."""
    for index in range(start, len(rungs)):
        rung = rungs[index]
        if rung.at > now or rung.kind not in Kind.WARNINGS:
            return index
    return len(rungs)


def alert_time(rungs: list[Rung], step: int) -> datetime | None:
    return rungs[step].at if step < len(rungs) else None
