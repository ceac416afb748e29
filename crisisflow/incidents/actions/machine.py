"""The steps of the incident state machine and the one way each is run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from crisisflow import clock
from crisisflow.alerts import schedule
from crisisflow.incidents import gates
from crisisflow.incidents.errors import Blocked, Conflict
from crisisflow.incidents.inputs import clean_reason
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import record
from crisisflow.incidents.unit import lock_incident, require_commander, save_incident
from crisisflow.vocab import OPEN_STATES, State


@dataclass(frozen=True)
class Step:
    name: str
    method: str
    target: str
    label: Any
    needs_reason: bool = False

    def sources(self) -> set[str]:
        transitions = getattr(Incident, self.method)._django_fsm.transitions
        return {str(source) for source in transitions}


STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("confirm", "confirm", State.CONFIRMED, gettext_lazy("Confirm the crisis")),
        Step("dismiss", "dismiss", State.DISMISSED, gettext_lazy("Dismiss as a false alarm"), True),
        Step("activate", "activate_plan", State.PLAN_ACTIVATED, gettext_lazy("Activate the plan")),
        Step("assemble", "assemble_team", State.TEAM_ASSEMBLED, gettext_lazy("Assemble the team")),
        Step("publish", "publish_information", State.INFO_PUBLISHED, gettext_lazy("Publish information")),
        Step("remediate", "start_remediation", State.REMEDIATING, gettext_lazy("Start remediation")),
        Step("review", "begin_review", State.IN_REVIEW, gettext_lazy("Begin the review")),
        Step("reopen", "reopen", State.REMEDIATING, gettext_lazy("Reopen remediation"), True),
        Step("close", "close", State.CLOSED, gettext_lazy("Close the incident")),
    )
}


@dataclass
class NextStep:
    step: Step
    blockers: list[str]

    @property
    def ready(self) -> bool:
        return not self.blockers


def next_steps(incident: Incident) -> list[NextStep]:
    """The steps open from the incident's state, each with what still blocks it."""
    return [
        NextStep(step, gates.blockers(incident, step.target))
        for step in STEPS.values()
        if incident.state in step.sources()
    ]


def run_step(
    actor,
    incident: Incident | int,
    step_name: str,
    *,
    expected_version: int | None,
    reason: str | None = None,
    prepare: Callable[[Incident, datetime], dict[str, Any]] | None = None,
    after: Callable[[Incident, datetime], dict[str, Any]] | None = None,
) -> Incident:
    """Run one step: lock, check the commander and the state, `prepare` (may refuse,
    may set fields), check the gates, make the transition, `after` (side effects in the
    database), stop the golden clock when due, save, and write one timeline event."""
    step = STEPS[step_name]
    incident = lock_incident(actor, incident, expected_version)
    require_commander(actor, incident)
    method = getattr(incident, step.method)
    if not can_proceed(method, check_conditions=False):
        raise Conflict(
            _("“%(step)s” is not possible while the incident is %(state)s.")
            % {"step": step.label, "state": incident.get_state_display()}
        )
    now = clock.now()
    data: dict[str, Any] = {"from": incident.state, "to": str(step.target)}
    if step.needs_reason:
        data["reason"] = clean_reason(reason)
    if prepare is not None:
        data.update(prepare(incident, now))
    found = gates.blockers(incident, step.target)
    if found:
        raise Blocked(step.label, found)
    if step.needs_reason:
        method(now, data["reason"])
    else:
        method(now)
    if after is not None:
        data.update(after(incident, now))
    if incident.state not in OPEN_STATES or incident.first_statement_at is not None:
        schedule.stop_clock(incident)  # the golden clock stops with the first statement
    if incident.state != State.REPORTED:
        schedule.stop_triage(incident)  # confirmed or dismissed: triaged
    save_incident(incident)
    record(incident, actor, Event.Kind.TRANSITION, data, at=now)
    return incident
