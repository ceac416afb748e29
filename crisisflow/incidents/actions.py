"""The use cases of the incident engine: one function per thing a person does.

Web views, the API and management commands all call these, and nothing else changes an
incident. Each one, inside a single transaction:

1. locks the incident row (so concurrent changes queue up instead of interleaving),
2. checks the person may see it (404 otherwise) and may do this (403),
3. refuses a stale form (the version the person saw is not the current one),
4. checks the step's gate conditions (human-readable blockers),
5. makes the change and writes exactly one timeline event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransition, can_proceed

from crisisflow import clock
from crisisflow.alerts import schedule
from crisisflow.conf import setting
from crisisflow.incidents import gates, permissions
from crisisflow.incidents.errors import (
    Blocked,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    stale_incident_error,
    stale_task_error,
)
from crisisflow.incidents.models import Event, Incident, ReferenceCounter, Task, TeamMember
from crisisflow.incidents.models.task import FINISHED, UNFINISHED
from crisisflow.incidents.timeline import record
from crisisflow.people.models import RosterEntry, User
from crisisflow.playbooks.models import (
    PlaybookVersion,
    crisis_type_choices,
    current_versions,
    versions_serving,
)
from crisisflow.playbooks.schema import conditions_hold
from crisisflow.vocab import FACTS, OPEN_STATES, TASK_ANCHOR_PREFIX, Anchor, Role, Severity, State

Kind = Event.Kind

# How far in the future an outbreak time may be (clock skew between a phone and us).
DETECTED_AT_SKEW = timedelta(minutes=5)
MAX_TEXT = 10_000


# --- the steps of the state machine ---------------------------------------------------------


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


# --- shared plumbing --------------------------------------------------------------------------


def _lock(actor, incident: Incident | int, expected_version: int | None = None) -> Incident:
    pk = incident.pk if isinstance(incident, Incident) else incident
    try:
        locked = Incident.objects.select_for_update(of=("self",)).get(pk=pk)
    except Incident.DoesNotExist:
        raise NotFound() from None
    permissions.require_view(actor, locked)
    if expected_version is not None and locked.version != expected_version:
        raise stale_incident_error()
    return locked


def _require_commander(actor, incident: Incident) -> None:
    permissions.require(permissions.commands(actor, incident), _("Only the incident commander can do this."))


def _require_open(incident: Incident) -> None:
    if incident.state not in OPEN_STATES:
        raise Invalid(_("This incident is %(state)s; it cannot be changed.") % {"state": incident.get_state_display()})


def _text(value, field: str) -> str:
    """User-written text, stripped; refuses what no database can store faithfully."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(_("Give text here."), field=field)
    if "\x00" in value:
        raise Invalid(_("The text contains a NUL character."), field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(_("The text contains characters that are not valid Unicode."), field=field) from None
    return value.strip()


def _reason(reason: str | None, field: str = "reason") -> str:
    reason = _text(reason, field)
    if not reason:
        raise Invalid(_("A reason is required."), field=field)
    if len(reason) > MAX_TEXT:
        raise Invalid(_("Keep the reason under %(n)d characters.") % {"n": MAX_TEXT}, field=field)
    return reason


def _save_incident(incident: Incident) -> None:
    incident.version += 1
    try:
        incident.save()
    except ConcurrentTransition:
        # The row lock makes this unreachable in practice; django-fsm's optimistic check
        # is the second belt should a caller ever skip the lock.
        raise stale_incident_error() from None


def _name(user: User | None) -> str | None:
    return str(user) if user is not None else None


def _check_severity(severity: str, field: str = "severity") -> str:
    if severity not in Severity.values:
        raise Invalid(
            _("Unknown severity “%(value)s” (use %(choices)s).")
            % {"value": severity, "choices": ", ".join(Severity.values)},
            field=field,
        )
    return severity


def _check_crisis_type(crisis_type: str, field: str = "crisis_type") -> str:
    known = dict(crisis_type_choices())
    if crisis_type not in known:
        raise Invalid(_("Unknown crisis type “%(value)s”.") % {"value": crisis_type}, field=field)
    return crisis_type


def _anchor_happened(incident: Incident, anchor: str, at: datetime) -> int:
    """Give a due time to the tasks that were waiting for `anchor`, and start their
    escalation ladders."""
    waiting = list(incident.tasks.filter(anchor=anchor, due_at__isnull=True, status__in=UNFINISHED))
    for task in waiting:
        task.due_at = at + task.offset
        schedule.plan_task(task, incident, clock.now())
    Task.objects.bulk_update(waiting, ["due_at", *schedule.TASK_ALERT_FIELDS])
    return len(waiting)


# --- reporting and facts -----------------------------------------------------------------------

SCOPE_FIELDS = ("title", "summary", "affected_users", "regions", "platforms", *FACTS)


def _clean_scope(changes: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in SCOPE_FIELDS:
            raise Invalid(_("“%(field)s” cannot be changed here.") % {"field": name}, field=name)
        if name == "title":
            value = _text(value, "title")
            if not value:
                raise Invalid(_("A title is required."), field="title")
            if len(value) > 200:
                raise Invalid(_("Keep the title under 200 characters."), field="title")
        elif name == "summary":
            value = _text(value, "summary")
            if len(value) > MAX_TEXT:
                raise Invalid(_("Keep the summary under %(n)d characters.") % {"n": MAX_TEXT}, field="summary")
        elif name == "affected_users":
            if value in ("", None):
                value = None
            else:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise Invalid(_("Give the affected users as a whole number."), field=name) from None
                if value < 0:
                    raise Invalid(_("Affected users cannot be negative."), field=name)
        elif name in ("regions", "platforms"):
            if isinstance(value, str):
                value = [part.strip() for part in _text(value, name).split(",") if part.strip()]
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise Invalid(_("Give a list of names."), field=name)
            value = list(value)
        else:
            if not isinstance(value, bool):
                raise Invalid(_("Give yes or no."), field=name)
        clean[name] = value
    return clean


def _next_reference(at: datetime) -> str:
    year = at.year
    counter = ReferenceCounter.objects.select_for_update().filter(year=year).first()
    if counter is None:
        try:
            with transaction.atomic():
                ReferenceCounter.objects.create(year=year, last=0)
        except IntegrityError:
            pass  # someone else created this year's counter first; theirs is as good
        counter = ReferenceCounter.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{setting('REFERENCE_PREFIX')}-{year}-{counter.last:04d}"


@transaction.atomic
def report_incident(
    actor,
    *,
    title: str,
    summary: str = "",
    crisis_type: str = "",
    severity: str = "",
    detected_at: datetime | None = None,
    restricted: bool = False,
    commander: User | None = None,
    **scope: Any,
) -> Incident:
    """Anyone signed in may report a suspected crisis; it starts in `reported`."""
    if not actor.is_authenticated:
        raise Forbidden(_("Sign in to report an incident."))
    now = clock.now()
    fields = _clean_scope({"title": title, "summary": summary, **scope})
    if crisis_type:
        _check_crisis_type(crisis_type)
    if severity:
        _check_severity(severity)
    if detected_at is None:
        detected_at = now
    if detected_at.tzinfo is None:
        raise Invalid(_("Give the outbreak time with its time zone."), field="detected_at")
    if detected_at > now + DETECTED_AT_SKEW:
        raise Invalid(_("The outbreak time cannot be in the future."), field="detected_at")
    if commander is not None and not permissions.is_duty_commander(commander):
        raise Invalid(_("%(person)s is not on the commander roster.") % {"person": commander}, field="commander")

    incident = Incident.objects.create(
        reference=_next_reference(now),
        crisis_type=crisis_type,
        severity=severity,
        detected_at=detected_at,
        reported_at=now,
        restricted=bool(restricted),
        reporter=actor,
        commander=commander,
        **fields,
    )
    if commander is not None:
        TeamMember.objects.create(incident=incident, user=commander, role=Role.COMMANDER, is_lead=True, added_at=now)
    record(
        incident,
        actor,
        Kind.REPORTED,
        {
            "title": incident.title,
            "crisis_type": crisis_type,
            "severity": severity,
            "detected_at": detected_at.isoformat(),
            "restricted": incident.restricted,
            "commander": _name(commander),
        },
        at=now,
    )
    return incident


@transaction.atomic
def update_scope(actor, incident: Incident | int, *, expected_version: int | None = None, **changes: Any) -> Incident:
    """Correct the title, summary, affected scope or facts while the incident is open."""
    incident = _lock(actor, incident, expected_version)
    _require_commander(actor, incident)
    _require_open(incident)
    clean = _clean_scope(changes)
    diff = {
        name: {"before": getattr(incident, name), "after": value}
        for name, value in clean.items()
        if getattr(incident, name) != value
    }
    if not diff:
        return incident
    for name, change in diff.items():
        setattr(incident, name, change["after"])
    _save_incident(incident)
    record(incident, actor, Kind.FACTS, {"changes": diff})
    return incident


@transaction.atomic
def change_severity(
    actor, incident: Incident | int, severity: str, reason: str, *, expected_version: int | None = None
) -> Incident:
    """Raise or lower severity in any open state, with a reason. Moves the golden clock if
    the first statement is still to come and the plan has a shorter clock for critical."""
    incident = _lock(actor, incident, expected_version)
    _require_commander(actor, incident)
    _require_open(incident)
    severity = _check_severity(severity)
    reason = _reason(reason)
    before = incident.severity
    if before == severity:
        raise Invalid(_("The severity is already %(s)s.") % {"s": Severity(severity).label}, field="severity")
    incident.severity = severity
    if incident.playbook_version_id and incident.first_statement_at is None:
        clock_s = incident.playbook_version.statement_clock_seconds(severity)
        incident.statement_due_at = incident.detected_at + timedelta(seconds=clock_s)
        schedule.plan_clock(incident, clock.now())
    _save_incident(incident)
    record(incident, actor, Kind.SEVERITY, {"before": before, "after": severity, "reason": reason})
    return incident


@transaction.atomic
def hand_over_command(
    actor, incident: Incident | int, new_commander: User, *, expected_version: int | None = None
) -> Incident:
    incident = _lock(actor, incident, expected_version)
    _require_commander(actor, incident)
    _require_open(incident)
    if not permissions.is_duty_commander(new_commander):
        raise Invalid(_("%(person)s is not on the commander roster.") % {"person": new_commander}, field="commander")
    before = incident.commander
    if before == new_commander:
        return incident
    incident.commander = new_commander
    _save_incident(incident)
    now = clock.now()
    TeamMember.objects.filter(incident=incident, role=Role.COMMANDER).update(is_lead=False)
    TeamMember.objects.update_or_create(
        incident=incident, user=new_commander, role=Role.COMMANDER, defaults={"is_lead": True, "added_at": now}
    )
    record(incident, actor, Kind.COMMANDER, {"before": _name(before), "after": _name(new_commander)}, at=now)
    return incident


@transaction.atomic
def add_note(actor, incident: Incident | int, text: str) -> Event:
    incident = _lock(actor, incident)
    permissions.require(permissions.may_post_notes(actor, incident), _("Only the team can post notes."))
    text = _text(text, "text")
    if not text:
        raise Invalid(_("Write something first."), field="text")
    if len(text) > MAX_TEXT:
        raise Invalid(_("Keep a note under %(n)d characters.") % {"n": MAX_TEXT}, field="text")
    return record(incident, actor, Kind.NOTE, {"text": text})


@transaction.atomic
def add_task_comment(actor, task: Task | int, text: str) -> Event:
    """A comment on one task, from those who may post notes (the commander, the reporter,
    the team but observers). It goes on the timeline with the task; it changes nothing on
    the task, so it needs no version and never conflicts with someone working it."""
    incident, task = _lock_task(actor, task, None)
    permissions.require(permissions.may_post_notes(actor, incident), _("Only the team can comment on tasks."))
    text = _text(text, "text")
    if not text:
        raise Invalid(_("Write something first."), field="text")
    if len(text) > MAX_TEXT:
        raise Invalid(_("Keep a comment under %(n)d characters.") % {"n": MAX_TEXT}, field="text")
    return record(incident, actor, Kind.COMMENT, {"task_title": task.title, "text": text}, task=task)


# --- the transitions ----------------------------------------------------------------------------


def _advance(
    actor,
    incident: Incident | int,
    step_name: str,
    *,
    expected_version: int | None,
    reason: str | None = None,
    prepare: Callable[[Incident, datetime], dict[str, Any]] | None = None,
    after: Callable[[Incident, datetime], dict[str, Any]] | None = None,
) -> Incident:
    step = STEPS[step_name]
    incident = _lock(actor, incident, expected_version)
    _require_commander(actor, incident)
    method = getattr(incident, step.method)
    if not can_proceed(method, check_conditions=False):
        raise Conflict(
            _("“%(step)s” is not possible while the incident is %(state)s.")
            % {"step": step.label, "state": incident.get_state_display()}
        )
    now = clock.now()
    data: dict[str, Any] = {"from": incident.state, "to": str(step.target)}
    if step.needs_reason:
        data["reason"] = _reason(reason)
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
    _save_incident(incident)
    record(incident, actor, Kind.TRANSITION, data, at=now)
    return incident


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
            changes["crisis_type"] = {"before": inc.crisis_type, "after": _check_crisis_type(crisis_type)}
            inc.crisis_type = crisis_type
        if severity:
            changes["severity"] = {"before": inc.severity, "after": _check_severity(severity)}
            inc.severity = severity
        if inc.commander_id is None:
            inc.commander = actor
            changes["commander"] = {"before": None, "after": _name(actor)}
        return {"changes": changes} if changes else {}

    def after(inc: Incident, now: datetime) -> dict[str, Any]:
        TeamMember.objects.get_or_create(
            incident=inc, user=inc.commander, role=Role.COMMANDER, defaults={"is_lead": True, "added_at": now}
        )
        _anchor_happened(inc, Anchor.CONFIRMED, now)
        return {}

    return _advance(actor, incident, "confirm", expected_version=expected_version, prepare=prepare, after=after)


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

    return _advance(actor, incident, "dismiss", expected_version=expected_version, reason=reason, after=after)


def _choose_plan(incident: Incident, playbook_key: str | None) -> PlaybookVersion | None:
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
                due_at=start + offset if start is not None else None,
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
        version = _choose_plan(inc, playbook_key)
        if version is not None:
            inc.playbook_version = version
            inc.statement_due_at = inc.detected_at + timedelta(seconds=version.statement_clock_seconds(inc.severity))
            schedule.plan_clock(inc, now)
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
            "statement_due_at": inc.statement_due_at.isoformat(),
        }

    return _advance(actor, incident, "activate", expected_version=expected_version, prepare=prepare, after=after)


@transaction.atomic
def assemble_team(actor, incident: Incident | int, *, expected_version: int | None = None) -> Incident:
    """Declare the team complete. Unassigned tasks go to the lead of their role."""

    def after(inc: Incident, now: datetime) -> dict[str, Any]:
        _anchor_happened(inc, Anchor.TEAM_ASSEMBLED, now)
        return {"assigned": _assign_to_role_leads(inc)}

    return _advance(actor, incident, "assemble", expected_version=expected_version, after=after)


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
        _anchor_happened(inc, Anchor.FIRST_STATEMENT, inc.first_statement_at)
        met = inc.statement_met_clock()
        return {"first_statement_met_clock": met} if met is not None else {}

    return _advance(actor, incident, "publish", expected_version=expected_version, after=after)


@transaction.atomic
def start_remediation(actor, incident: Incident | int, *, expected_version: int | None = None) -> Incident:
    return _advance(actor, incident, "remediate", expected_version=expected_version)


@transaction.atomic
def begin_review(actor, incident: Incident | int, *, expected_version: int | None = None) -> Incident:
    return _advance(actor, incident, "review", expected_version=expected_version)


@transaction.atomic
def reopen_incident(actor, incident: Incident | int, reason: str, *, expected_version: int | None = None) -> Incident:
    return _advance(actor, incident, "reopen", expected_version=expected_version, reason=reason)


@transaction.atomic
def close_incident(actor, incident: Incident | int, *, expected_version: int | None = None) -> Incident:
    return _advance(actor, incident, "close", expected_version=expected_version)


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


# --- the team ----------------------------------------------------------------------------------


@dataclass
class RoleProposal:
    role: str
    needed: int
    current: list[TeamMember]
    proposed: list[User]

    @property
    def label(self) -> str:
        return str(Role(self.role).label)

    @property
    def filled(self) -> bool:
        return len(self.current) >= self.needed


def propose_team(incident: Incident) -> list[RoleProposal]:
    """For each role the plan needs: who is on the team, and who the rosters suggest
    (primary people first, then backups) to make up the number."""
    needed = dict(incident.playbook_version.roles) if incident.playbook_version_id else {}
    members: dict[str, list[TeamMember]] = {}
    for member in incident.team.select_related("user"):
        members.setdefault(member.role, []).append(member)
    roster: dict[str, list[User]] = {}
    # Primary people before backups, whatever the model's default ordering.
    primary_first = Case(When(rank=RosterEntry.Rank.PRIMARY, then=Value(0)), default=Value(1))
    entries = RosterEntry.objects.filter(user__is_active=True).select_related("user")
    for entry in entries.order_by("role", primary_first, "position", "id"):
        roster.setdefault(entry.role, []).append(entry.user)
    proposals = []
    roles = list(needed) + [r for r in members if r not in needed]
    for role in roles:
        current = members.get(role, [])
        have = {m.user_id for m in current}
        want = max(needed.get(role, 0) - len(current), 0)
        proposed = [u for u in roster.get(role, []) if u.pk not in have][:want]
        proposals.append(RoleProposal(role, needed.get(role, 0), current, proposed))
    return proposals


def _add_member(
    incident: Incident, user: User, role: str, now: datetime, lead: bool | None = None
) -> TeamMember | None:
    if role not in Role.values:
        raise Invalid(_("Unknown role “%(role)s”.") % {"role": role}, field="role")
    if not user.is_active:
        raise Invalid(_("%(person)s is not an active user.") % {"person": user}, field="user")
    if incident.team.filter(user=user, role=role).exists():
        return None
    if lead is None:
        lead = not incident.team.filter(role=role, is_lead=True).exists()
    return TeamMember.objects.create(incident=incident, user=user, role=role, is_lead=lead, added_at=now)


@transaction.atomic
def accept_team(
    actor,
    incident: Incident | int,
    choices: dict[str, Iterable[User]] | None = None,
    *,
    expected_version: int | None = None,
) -> list[TeamMember]:
    """Take the proposed team, or the commander's own choice per role."""
    incident = _lock(actor, incident, expected_version)
    _require_commander(actor, incident)
    _require_open(incident)
    if choices is None:
        choices = {p.role: p.proposed for p in propose_team(incident)}
    now = clock.now()
    added = []
    for role, users in choices.items():
        for user in users:
            member = _add_member(incident, user, role, now)
            if member is not None:
                added.append(member)
    if not added:
        raise Invalid(_("Nobody to add: the rosters have no one else for the open roles."), field="team")
    _save_incident(incident)
    record(
        incident,
        actor,
        Kind.TEAM,
        {"change": "accepted", "members": [{"person": str(m.user), "role": m.role, "lead": m.is_lead} for m in added]},
        at=now,
    )
    return added


@transaction.atomic
def add_team_member(
    actor, incident: Incident | int, user: User, role: str, *, lead: bool = False, expected_version: int | None = None
) -> TeamMember:
    incident = _lock(actor, incident, expected_version)
    _require_commander(actor, incident)
    _require_open(incident)
    now = clock.now()
    if lead:
        incident.team.filter(role=role, is_lead=True).update(is_lead=False)
    member = _add_member(incident, user, role, now, lead=lead or None)
    if member is None:
        raise Invalid(_("%(person)s already holds this role.") % {"person": user}, field="user")
    _save_incident(incident)
    record(
        incident,
        actor,
        Kind.TEAM,
        {"change": "added", "person": str(user), "role": role, "lead": member.is_lead},
        at=now,
    )
    return member


@transaction.atomic
def remove_team_member(actor, member_id: int, *, expected_version: int | None = None) -> None:
    try:
        member = TeamMember.objects.select_related("user").get(pk=member_id)
    except TeamMember.DoesNotExist:
        raise NotFound() from None
    incident = _lock(actor, member.incident_id, expected_version)
    _require_commander(actor, incident)
    _require_open(incident)
    if member.role == Role.COMMANDER and member.user_id == incident.commander_id:
        raise Invalid(_("Hand over command before leaving the commander role."), field="user")
    open_tasks = incident.tasks.filter(assignee=member.user, role=member.role, status__in=UNFINISHED).count()
    if open_tasks:
        raise Invalid(
            _("%(person)s still has %(n)d open %(role)s tasks; reassign them first.")
            % {"person": member.user, "n": open_tasks, "role": member.get_role_display()},
            field="user",
        )
    member.delete()
    _save_incident(incident)
    record(incident, actor, Kind.TEAM, {"change": "removed", "person": str(member.user), "role": member.role})


# --- tasks -------------------------------------------------------------------------------------


def _lock_task(actor, task: Task | int, expected_version: int | None) -> tuple[Incident, Task]:
    pk = task.pk if isinstance(task, Task) else task
    incident_id = Task.objects.filter(pk=pk).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise NotFound()
    incident = _lock(actor, incident_id)
    locked = Task.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=pk)
    locked.incident = incident
    if expected_version is not None and locked.version != expected_version:
        # The last person who changed it (reminders on the task have no actor).
        who = (
            Event.objects.filter(task=locked, actor__isnull=False)
            .exclude(kind=Kind.ALERT)
            .order_by("-seq")
            .select_related("actor")
            .first()
        )
        raise stale_task_error(_name(who.actor) if who and who.actor else None)
    return incident, locked


def _save_task(task: Task) -> None:
    task.version += 1
    try:
        task.save()
    except ConcurrentTransition:
        raise stale_task_error() from None


@transaction.atomic
def assign_task(actor, task: Task | int, assignee: User | None, *, expected_version: int | None = None) -> Task:
    """Managers (the commander, the lead of the task's role) give a task to a team member."""
    incident, task = _lock_task(actor, task, expected_version)
    permissions.require(
        permissions.manages_task(actor, task),
        _("Only the commander or the %(role)s lead can assign this task.") % {"role": task.get_role_display()},
    )
    _require_open(incident)
    if task.is_finished:
        raise Invalid(_("This task is finished; there is nothing to assign."), field="assignee")
    if assignee is not None and not incident.team.filter(user=assignee).exists():
        raise Invalid(_("%(person)s is not on this incident's team.") % {"person": assignee}, field="assignee")
    before = task.assignee
    if before == assignee:
        return task
    task.assignee = assignee
    schedule.plan_task(task, incident, clock.now())  # reminders now go to the new owner
    _save_task(task)
    record(
        incident,
        actor,
        Kind.ASSIGNMENT,
        {"task_title": task.title, "before": _name(before), "after": _name(assignee)},
        task=task,
    )
    return task


def _task_step(
    actor,
    task,
    expected_version,
    change: Callable[[Task, datetime], dict[str, Any] | None],
    *,
    managers_only: bool = False,
) -> Task:
    incident, task = _lock_task(actor, task, expected_version)
    if managers_only:
        permissions.require(
            permissions.manages_task(actor, task),
            _("Only the commander or the %(role)s lead can do this.") % {"role": task.get_role_display()},
        )
    else:
        permissions.require(
            permissions.works_task(actor, task), _("Only the person this task is assigned to can update it.")
        )
    _require_open(incident)
    now = clock.now()
    before = task.status
    extra = change(task, now) or {}
    if task.is_finished:
        schedule.stop_task(task)  # nothing left to remind anyone of
    _save_task(task)
    record(
        incident,
        actor,
        Kind.TASK,
        {"task_title": task.title, "before": before, "after": task.status, **extra},
        task=task,
        at=now,
    )
    return task


def _require_status(task: Task, method: str, verb) -> None:
    if not can_proceed(getattr(task, method)):
        raise Conflict(
            _("Cannot %(verb)s a task that is %(status)s.") % {"verb": verb, "status": task.get_status_display()}
        )


@transaction.atomic
def start_task(actor, task: Task | int, *, expected_version: int | None = None) -> Task:
    def change(t: Task, now: datetime):
        _require_status(t, "start", _("start"))
        t.start(now)

    return _task_step(actor, task, expected_version, change)


@transaction.atomic
def complete_task(actor, task: Task | int, *, expected_version: int | None = None) -> Task:
    """Done: only after what it depends on, and with its checklist ticked."""

    def change(t: Task, now: datetime):
        _require_status(t, "complete", _("finish"))
        waiting = [d.title_text() for d in t.depends_on.exclude(status__in=FINISHED)]
        if waiting:
            raise Blocked(_("Finish the task"), [_("waiting for: %(tasks)s") % {"tasks": ", ".join(waiting)}])
        unticked = [item["text"] for item in t.checklist_items() if not item["done"]]
        if unticked:
            raise Blocked(_("Finish the task"), [_("checklist not ticked: %(items)s") % {"items": "; ".join(unticked)}])
        t.complete(now)
        # Tasks counted from this one's completion now get their due times.
        _anchor_happened(t.incident, TASK_ANCHOR_PREFIX + t.key, now)

    return _task_step(actor, task, expected_version, change)


@transaction.atomic
def block_task(actor, task: Task | int, reason: str, *, expected_version: int | None = None) -> Task:
    def change(t: Task, now: datetime):
        _require_status(t, "block", _("block"))
        why = _reason(reason)
        t.block(now, why)
        return {"reason": why}

    return _task_step(actor, task, expected_version, change)


@transaction.atomic
def unblock_task(actor, task: Task | int, *, expected_version: int | None = None) -> Task:
    def change(t: Task, now: datetime):
        _require_status(t, "unblock", _("unblock"))
        t.unblock(now)

    return _task_step(actor, task, expected_version, change)


@transaction.atomic
def skip_task(actor, task: Task | int, reason: str, *, expected_version: int | None = None) -> Task:
    """Managers only: the task does not apply to this incident."""

    def change(t: Task, now: datetime):
        _require_status(t, "skip", _("skip"))
        why = _reason(reason)
        t.skip(now, why)
        _anchor_happened(t.incident, TASK_ANCHOR_PREFIX + t.key, now)
        return {"reason": why}

    return _task_step(actor, task, expected_version, change, managers_only=True)


@transaction.atomic
def tick_checklist(actor, task: Task | int, index: int, done: bool, *, expected_version: int | None = None) -> Task:
    incident, task = _lock_task(actor, task, expected_version)
    permissions.require(
        permissions.works_task(actor, task), _("Only the person this task is assigned to can update it.")
    )
    _require_open(incident)
    if task.is_finished:
        raise Invalid(_("This task is finished."), field="checklist")
    if not 0 <= index < len(task.checklist):
        raise Invalid(_("No checklist item %(n)d on this task.") % {"n": index + 1}, field="checklist")
    items = [dict(item) for item in task.checklist]
    if bool(items[index].get("done")) == bool(done):
        return task
    items[index]["done"] = bool(done)
    task.checklist = items
    _save_task(task)
    record(
        incident,
        actor,
        Kind.CHECKLIST,
        {"task_title": task.title, "item": items[index]["text"], "done": bool(done)},
        task=task,
    )
    return task
