"""Planning: choosing the playbook, turning it into tasks, and giving tasks their due
times when the moment they count from happens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from crisisflow.alerts import schedule
from crisisflow.incidents import golden_clock
from crisisflow.incidents.actions.machine import run_step
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.models import Incident, Task
from crisisflow.playbooks.models import PlaybookVersion, current_versions, versions_serving
from crisisflow.playbooks.schema import conditions_hold
from crisisflow.vocab import TASK_ANCHOR_PREFIX, Anchor


def choose_plan(incident: Incident, playbook_key: str | None) -> PlaybookVersion | None:
    if playbook_key:
        for version in current_versions():
            if version.key == playbook_key:
                return version
        raise Invalid(_("No loaded playbook has the key “%(key)s”.") % {"key": playbook_key}, field="playbook")
    serving = versions_serving(incident.crisis_type, incident.severity)
    return serving[0] if serving else None


def instantiate_tasks(incident: Incident, version: PlaybookVersion, now: datetime) -> list[Task]:
    """Create the plan's tasks whose conditions hold, with due times from their anchors.

    A fixed number of queries whatever the size of the plan: one insert for the tasks,
    one for their dependencies.
    """
    facts = incident.facts()
    chosen = [t for t in version.tasks if conditions_hold(t, incident.severity, facts)]
    keys = {t["key"] for t in chosen}
    happened = {
        Anchor.DETECTED: incident.detected_at,
        Anchor.CONFIRMED: incident.confirmed_at,
        Anchor.PLAN_ACTIVATED: now,
    }
    tasks = []
    for position, t in enumerate(chosen):
        anchor = t["anchor"]
        if anchor.startswith(TASK_ANCHOR_PREFIX) and anchor[len(TASK_ANCHOR_PREFIX) :] not in keys:
            anchor = Anchor.PLAN_ACTIVATED  # the task it waited for is not part of this incident
        offset = timedelta(seconds=t["offset"])
        start = happened.get(anchor)
        due_at = start + offset if start is not None else None
        if t["deliverable"] == golden_clock.FIRST_STATEMENT_DELIVERABLE:
            due_at = golden_clock.statement_task_due(incident, due_at)
        tasks.append(
            Task(
                incident=incident,
                key=t["key"],
                position=position,
                title=t["title"],
                instructions=t["instructions"],
                role=t["role"],
                stage=t["stage"],
                deliverable=t["deliverable"],
                gates=t["gates"] or "",
                checklist=[{"text": item, "done": False} for item in t["checklist"]],
                anchor=str(anchor),
                offset=offset,
                due_at=due_at,
                ladder=t.get("alerts"),
            )
        )
    for task in tasks:
        schedule.plan_task(task, incident, now)
    Task.objects.bulk_create(tasks)
    by_key = {task.key: task for task in tasks}
    Through = Task.depends_on.through
    Through.objects.bulk_create(
        [
            Through(from_task_id=by_key[t["key"]].pk, to_task_id=by_key[dep].pk)
            for t in chosen
            for dep in t["depends_on"]
            if dep in keys
        ]
    )
    return tasks


@transaction.atomic
def activate_plan(
    actor, incident: Incident | int, *, playbook_key: str | None = None, expected_version: int | None = None
) -> Incident:
    """Start the pre-written plan: pin the playbook version, create its tasks, start the
    golden clock for the first public statement."""
    state: dict[str, Any] = {}

    def prepare(inc: Incident, now: datetime) -> dict[str, Any]:
        version = choose_plan(inc, playbook_key)
        if version is not None:
            inc.playbook_version = version
            golden_clock.restart(inc, now)  # the plan's clock rules from now on
            state["version"] = version
        return {}

    def after(inc: Incident, now: datetime) -> dict[str, Any]:
        version = state["version"]
        tasks = instantiate_tasks(inc, version, now)
        return {
            "plan": {
                "key": version.key,
                "version": version.number,
                "name": version.definition["name"],
                "tasks_created": len(tasks),
            },
            "statement_due_at": inc.statement_due_at.isoformat() if inc.statement_due_at else None,
        }

    return run_step(actor, incident, "activate", expected_version=expected_version, prepare=prepare, after=after)
