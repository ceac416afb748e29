"""The lifecycle steps: confirm, dismiss, assemble, publish, remediate, review, reopen,
close (activation is in planning), and `advance` to run one by name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.alerts import schedule
from crisisflow.incidents import golden_clock
from crisisflow.incidents.actions.machine import STEPS, run_step
from crisisflow.incidents.actions.planning import activate_plan
from crisisflow.incidents.anchors import anchor_happened
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.inputs import check_crisis_type, check_severity
from crisisflow.incidents.models import Incident, Task, TeamMember
from crisisflow.incidents.models.task import UNFINISHED
from crisisflow.incidents.unit import person_name
from crisisflow.vocab import Anchor, Role


@transaction.atomic
def confirm_incident(
    actor,
    incident: Incident | int,
    *,
    crisis_type: str | None = None,
    severity: str | None = None,
    expected_version: int | None = None,
) -> Incident:
    """Confirm the crisis and its type. A duty commander confirming an incident with no
    commander takes command of it."""

    def prepare(inc: Incident, now: datetime) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if crisis_type:
            changes["crisis_type"] = {"before": inc.crisis_type, "after": check_crisis_type(crisis_type)}
            inc.crisis_type = crisis_type
        if severity:
            changes["severity"] = {"before": inc.severity, "after": check_severity(severity)}
            inc.severity = severity
        if inc.commander_id is None:
            inc.commander = actor
            changes["commander"] = {"before": None, "after": person_name(actor)}
        return {"changes": changes} if changes else {}

    def after(inc: Incident, now: datetime) -> dict[str, Any]:
        TeamMember.objects.get_or_create(
            incident=inc, user=inc.commander, role=Role.COMMANDER, defaults={"is_lead": True, "added_at": now}
        )
        anchor_happened(inc, Anchor.CONFIRMED, now)
        golden_clock.restart(inc, now)  # confirming may have set or changed the severity
        return {}

    return run_step(actor, incident, "confirm", expected_version=expected_version, prepare=prepare, after=after)


@transaction.atomic
def dismiss_incident(actor, incident: Incident | int, reason: str, *, expected_version: int | None = None) -> Incident:
    """A false alarm. Anything still open on it is cancelled."""

    def after(inc: Incident, now: datetime) -> dict[str, Any]:
        cancelled = 0
        for task in inc.tasks.filter(status__in=UNFINISHED):
            task.cancel(now)
            schedule.stop_task(task)
            task.version += 1
            task.save()
            cancelled += 1
        return {"cancelled_tasks": cancelled} if cancelled else {}

    return run_step(actor, incident, "dismiss", expected_version=expected_version, reason=reason, after=after)


@transaction.atomic
def assemble_team(actor, incident: Incident | int, *, expected_version: int | None = None) -> Incident:
    """Declare the team complete. Unassigned tasks go to the lead of their role."""

    def after(inc: Incident, now: datetime) -> dict[str, Any]:
        anchor_happened(inc, Anchor.TEAM_ASSEMBLED, now)
        return {"assigned": _assign_to_role_leads(inc)}

    return run_step(actor, incident, "assemble", expected_version=expected_version, after=after)


def _assign_to_role_leads(incident: Incident) -> list[dict[str, Any]]:
    owners: dict[str, TeamMember] = {}
    for member in incident.team.select_related("user").order_by("role", "-is_lead", "id"):
        owners.setdefault(member.role, member)
    assigned = []
    by_user: dict[int, list[int]] = {}
    for task_id, role in incident.tasks.filter(assignee__isnull=True, status__in=UNFINISHED).values_list("id", "role"):
        owner = owners.get(role)
        if owner is not None:
            by_user.setdefault(owner.user_id, []).append(task_id)
            assigned.append({"task": task_id, "assignee": str(owner.user)})
    now = clock.now()
    tasks = list(Task.objects.filter(pk__in=[pk for pks in by_user.values() for pk in pks]))
    for task in tasks:
        task.assignee_id = next(user for user, pks in by_user.items() if task.pk in pks)
        task.version += 1
        schedule.plan_task(task, incident, now)  # a new owner: the ladder starts again for them
    Task.objects.bulk_update(tasks, ["assignee", "version", *schedule.TASK_ALERT_FIELDS])
    return assigned


@transaction.atomic
def publish_information(actor, incident: Incident | int, *, expected_version: int | None = None) -> Incident:
    """The first public statement is out (attitude, facts, action); the clock stops."""

    def after(inc: Incident, now: datetime) -> dict[str, Any]:
        if inc.first_statement_at == now:  # publishing was the first statement
            anchor_happened(inc, Anchor.FIRST_STATEMENT, now)
        met = inc.statement_met_clock()
        return {"first_statement_met_clock": met} if met is not None else {}

    return run_step(actor, incident, "publish", expected_version=expected_version, after=after)


@transaction.atomic
def start_remediation(actor, incident: Incident | int, *, expected_version: int | None = None) -> Incident:
    return run_step(actor, incident, "remediate", expected_version=expected_version)


@transaction.atomic
def begin_review(actor, incident: Incident | int, *, expected_version: int | None = None) -> Incident:
    return run_step(actor, incident, "review", expected_version=expected_version)


@transaction.atomic
def reopen_incident(actor, incident: Incident | int, reason: str, *, expected_version: int | None = None) -> Incident:
    return run_step(actor, incident, "reopen", expected_version=expected_version, reason=reason)


@transaction.atomic
def close_incident(actor, incident: Incident | int, *, expected_version: int | None = None) -> Incident:
    return run_step(actor, incident, "close", expected_version=expected_version)


def advance(
    actor, incident: Incident | int, step: str, *, reason: str = "", expected_version: int | None = None, **options: Any
) -> Incident:
    """Run a step by name (what the incident page's buttons and the API post)."""
    if step not in STEPS:
        raise Invalid(_("Unknown step “%(step)s”.") % {"step": step}, field="step")
    if step == "confirm":
        return confirm_incident(
            actor,
            incident,
            expected_version=expected_version,
            crisis_type=options.get("crisis_type"),
            severity=options.get("severity"),
        )
    if step == "dismiss":
        return dismiss_incident(actor, incident, reason, expected_version=expected_version)
    if step == "activate":
        return activate_plan(actor, incident, playbook_key=options.get("playbook"), expected_version=expected_version)
    if step == "reopen":
        return reopen_incident(actor, incident, reason, expected_version=expected_version)
    simple = {
        "assemble": assemble_team,
        "publish": publish_information,
        "remediate": start_remediation,
        "review": begin_review,
        "close": close_incident,
    }
    return simple[step](actor, incident, expected_version=expected_version)
