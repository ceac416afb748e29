"""Reporting an incident and keeping its facts right: report, scope and facts,
severity, notes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.alerts import schedule
from crisisflow.conf import setting
from crisisflow.incidents import golden_clock, permissions
from crisisflow.incidents.errors import Forbidden, Invalid
from crisisflow.incidents.inputs import (
    FUTURE_SKEW,
    MAX_TEXT,
    check_crisis_type,
    check_moment,
    check_severity,
    clean_line,
    clean_reason,
    clean_text,
)
from crisisflow.incidents.models import Event, Incident, ReferenceCounter, Task, TeamMember
from crisisflow.incidents.models.task import UNFINISHED
from crisisflow.incidents.timeline import record
from crisisflow.incidents.unit import lock_incident, person_name, require_commander, require_open, save_incident
from crisisflow.people.models import User
from crisisflow.vocab import FACTS, Anchor, Role, Severity

Kind = Event.Kind

# How far in the future an outbreak time may be (clock skew between a phone and us).
DETECTED_AT_SKEW = FUTURE_SKEW
# Longest region or platform name.
MAX_PLACE = 100

SCOPE_FIELDS = ("title", "summary", "affected_users", "regions", "platforms", *FACTS)


def clean_scope(changes: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in SCOPE_FIELDS:
            raise Invalid(_("“%(field)s” cannot be changed here.") % {"field": name}, field=name)
        if name == "title":
            value = clean_line(value, "title", max_length=None)
            if not value:
                raise Invalid(_("A title is required."), field="title")
            if len(value) > 200:
                raise Invalid(_("Keep the title under 200 characters."), field="title")
        elif name == "summary":
            value = clean_text(value, "summary")
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
                value = value.split(",")
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise Invalid(_("Give a list of names."), field=name)
            value = [part for part in (clean_line(v, name, max_length=MAX_PLACE) for v in value) if part]
        else:
            if not isinstance(value, bool):
                raise Invalid(_("Give yes or no."), field=name)
        clean[name] = value
    return clean


def next_reference(at: datetime) -> str:
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
    fields = clean_scope({"title": title, "summary": summary, **scope})
    if crisis_type:
        check_crisis_type(crisis_type)
    if severity:
        check_severity(severity)
    detected_at = now if detected_at is None else check_moment(detected_at, "detected_at", not_after_now=True)
    if commander is not None and not permissions.is_duty_commander(commander):
        raise Invalid(_("%(person)s is not on the commander roster.") % {"person": commander}, field="commander")

    incident = Incident(
        reference=next_reference(now),
        crisis_type=crisis_type,
        severity=severity,
        detected_at=detected_at,
        reported_at=now,
        restricted=bool(restricted),
        reporter=actor,
        commander=commander,
        **fields,
    )
    # The clock counts from the outbreak whatever the stage; triage from the report.
    golden_clock.restart(incident, now)
    incident.triage_due_at = now + timedelta(seconds=setting("TRIAGE_SECONDS"))
    schedule.plan_triage(incident, now)
    incident.save(force_insert=True)
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
            "commander": person_name(commander),
        },
        at=now,
    )
    return incident


@transaction.atomic
def update_scope(actor, incident: Incident | int, *, expected_version: int | None = None, **changes: Any) -> Incident:
    """Correct the title, summary, affected scope or facts while the incident is open."""
    incident = lock_incident(actor, incident, expected_version)
    require_commander(actor, incident)
    require_open(incident)
    clean = clean_scope(changes)
    diff = {
        name: {"before": getattr(incident, name), "after": value}
        for name, value in clean.items()
        if getattr(incident, name) != value
    }
    if not diff:
        return incident
    for name, change in diff.items():
        setattr(incident, name, change["after"])
    save_incident(incident)
    record(incident, actor, Kind.FACTS, {"changes": diff})
    return incident


@transaction.atomic
def change_severity(
    actor, incident: Incident | int, severity: str, reason: str, *, expected_version: int | None = None
) -> Incident:
    """Raise or lower severity in any open state, with a reason. Moves the golden clock if
    the first statement is still to come and the plan has a shorter clock for critical."""
    incident = lock_incident(actor, incident, expected_version)
    require_commander(actor, incident)
    require_open(incident)
    severity = check_severity(severity)
    reason = clean_reason(reason)
    before = incident.severity
    if before == severity:
        raise Invalid(_("The severity is already %(s)s.") % {"s": Severity(severity).label}, field="severity")
    incident.severity = severity
    golden_clock.restart(incident, clock.now())
    save_incident(incident)
    record(incident, actor, Kind.SEVERITY, {"before": before, "after": severity, "reason": reason})
    return incident


@transaction.atomic
def add_note(actor, incident: Incident | int, text: str) -> Event:
    incident = lock_incident(actor, incident)
    permissions.require(permissions.may_post_notes(actor, incident), _("Only the team can post notes."))
    require_open(incident)
    text = clean_text(text, "text")
    if not text:
        raise Invalid(_("Write something first."), field="text")
    if len(text) > MAX_TEXT:
        raise Invalid(_("Keep a note under %(n)d characters.") % {"n": MAX_TEXT}, field="text")
    return record(incident, actor, Kind.NOTE, {"text": text})


@transaction.atomic
def correct_outbreak_time(
    actor, incident: Incident | int, detected_at: datetime, reason: str, *, expected_version: int | None = None
) -> Incident:
    """The commander corrects when the crisis broke out (a wrong time zone at report
    time, a post found that predates the report). Everything counted from it moves:
    the golden clock and its warnings, and the due times of tasks counted from detection."""
    incident = lock_incident(actor, incident, expected_version)
    require_commander(actor, incident)
    require_open(incident)
    reason = clean_reason(reason)
    now = clock.now()
    detected_at = check_moment(detected_at, "detected_at", not_after_now=True)
    if incident.first_statement_at is not None and detected_at > incident.first_statement_at:
        raise Invalid(_("The outbreak cannot come after the first public statement."), field="detected_at")
    before = incident.detected_at
    if before == detected_at:
        raise Invalid(
            _("The outbreak time is already %(time)s.") % {"time": detected_at.isoformat()}, field="detected_at"
        )
    incident.detected_at = detected_at
    golden_clock.restart(incident, now)
    moved = list(incident.tasks.filter(anchor=Anchor.DETECTED, status__in=UNFINISHED, due_at__isnull=False))
    for task in moved:
        task.due_at = detected_at + task.offset
        task.version += 1
        schedule.plan_task(task, incident, now)
    Task.objects.bulk_update(moved, ["due_at", "version", *schedule.TASK_ALERT_FIELDS])
    # A task that delivers the first statement follows the clock, not its own offset.
    golden_clock.align_statement_tasks(incident, now)
    save_incident(incident)
    record(
        incident,
        actor,
        Kind.FACTS,
        {
            "changes": {"detected_at": {"before": before.isoformat(), "after": detected_at.isoformat()}},
            "reason": reason,
        },
        at=now,
    )
    return incident
