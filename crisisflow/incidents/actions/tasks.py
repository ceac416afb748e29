"""Task work: assigning (one or many at once), starting, finishing, blocking,
skipping, ticking the checklist, and comments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from crisisflow import clock
from crisisflow.alerts import schedule
from crisisflow.incidents import permissions
from crisisflow.incidents.anchors import anchor_happened
from crisisflow.incidents.errors import Blocked, Conflict, CrisisFlowError, Forbidden, Invalid, NotFound
from crisisflow.incidents.inputs import MAX_TEXT, clean_reason, clean_text
from crisisflow.incidents.models import Event, Task
from crisisflow.incidents.models.task import FINISHED
from crisisflow.incidents.timeline import record
from crisisflow.incidents.unit import lock_task, person_name, require_open, save_task
from crisisflow.people.models import User
from crisisflow.vocab import TASK_ANCHOR_PREFIX, Role

Kind = Event.Kind
# Events that change a task (and its version) by someone's hand; reminders and delivery
# failures are written on the task too but change nothing a form shows.
TASK_CHANGES = (Kind.ASSIGNMENT, Kind.TASK, Kind.CHECKLIST)


@transaction.atomic
def assign_task(actor, task: Task | int, assignee: User | None, *, expected_version: int | None = None) -> Task:
    """Managers (the commander, the lead of the task's role) give a task to a team member."""
    incident, task = lock_task(actor, task, expected_version)
    permissions.require(
        permissions.manages_task(actor, task),
        _("Only the commander or the %(role)s lead can assign this task.") % {"role": task.get_role_display()},
    )
    require_open(incident)
    if task.is_finished:
        raise Invalid(_("This task is finished; there is nothing to assign."), field="assignee")
    if assignee is not None:
        roles = set(incident.team.filter(user=assignee).values_list("role", flat=True))
        if not roles:
            raise Invalid(_("%(person)s is not on this incident's team.") % {"person": assignee}, field="assignee")
        if roles == {Role.OBSERVER}:
            # Observers watch (an executive, an auditor); they hold no tasks.
            raise Invalid(
                _("%(person)s only observes this incident; observers hold no tasks.") % {"person": assignee},
                field="assignee",
            )
    before = task.assignee
    if before == assignee:
        return task
    task.assignee = assignee
    schedule.plan_task(task, incident, clock.now())  # reminders now go to the new owner
    save_task(task)
    record(
        incident,
        actor,
        Kind.ASSIGNMENT,
        {"task_title": task.title, "before": person_name(before), "after": person_name(assignee)},
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
    incident, task = lock_task(actor, task, expected_version)
    if managers_only:
        permissions.require(
            permissions.manages_task(actor, task),
            _("Only the commander or the %(role)s lead can do this.") % {"role": task.get_role_display()},
        )
    else:
        permissions.require(
            permissions.works_task(actor, task), _("Only the person this task is assigned to can update it.")
        )
    require_open(incident)
    now = clock.now()
    before = task.status
    extra = change(task, now) or {}
    if task.is_finished:
        schedule.stop_task(task)  # nothing left to remind anyone of
    save_task(task)
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
        anchor_happened(t.incident, TASK_ANCHOR_PREFIX + t.key, now)

    return _task_step(actor, task, expected_version, change)


@transaction.atomic
def block_task(actor, task: Task | int, reason: str, *, expected_version: int | None = None) -> Task:
    def change(t: Task, now: datetime):
        _require_status(t, "block", _("block"))
        why = clean_reason(reason)
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
        why = clean_reason(reason)
        t.skip(now, why)
        anchor_happened(t.incident, TASK_ANCHOR_PREFIX + t.key, now)
        return {"reason": why}

    return _task_step(actor, task, expected_version, change, managers_only=True)


@transaction.atomic
def tick_checklist(actor, task: Task | int, index: int, done: bool, *, expected_version: int | None = None) -> Task:
    incident, task = lock_task(actor, task, expected_version)
    permissions.require(
        permissions.works_task(actor, task), _("Only the person this task is assigned to can update it.")
    )
    require_open(incident)
    if task.is_finished:
        raise Invalid(_("This task is finished."), field="checklist")
    if not 0 <= index < len(task.checklist):
        raise Invalid(_("No checklist item %(n)d on this task.") % {"n": index + 1}, field="index")
    items = [dict(item) for item in task.checklist]
    if bool(items[index].get("done")) == bool(done):
        return task
    items[index]["done"] = bool(done)
    task.checklist = items
    save_task(task)
    record(
        incident,
        actor,
        Kind.CHECKLIST,
        {"task_title": task.title, "item": items[index]["text"], "done": bool(done)},
        task=task,
    )
    return task


@transaction.atomic
def add_task_comment(actor, task: Task | int, text: str) -> Event:
    """A comment on one task, from those who may post notes (the commander, the reporter,
    the team but observers). It goes on the timeline with the task; it changes nothing on
    the task, so it needs no version and never conflicts with someone working it."""
    incident, task = lock_task(actor, task, None)
    permissions.require(permissions.may_post_notes(actor, incident), _("Only the team can comment on tasks."))
    require_open(incident)
    text = clean_text(text, "text")
    if not text:
        raise Invalid(_("Write something first."), field="text")
    if len(text) > MAX_TEXT:
        raise Invalid(_("Keep a comment under %(n)d characters.") % {"n": MAX_TEXT}, field="text")
    return record(incident, actor, Kind.COMMENT, {"task_title": task.title, "text": text}, task=task)


@transaction.atomic
def assign_tasks(actor, assignments: Sequence[tuple[int, int]], assignee: User | None) -> list[Task]:
    """Give every listed task (id, the version the person saw) to `assignee`: all of them
    or, if any one is refused, none. Each goes through actions.assign_task (permissions,
    team membership, one timeline event, the deadline ladder restarted for the new owner);
    a refusal names the task it is about. Tasks may come from several incidents."""
    if assignee is None:
        raise Invalid(_("Choose who gets the selected tasks."), field="assignee")
    wanted: dict[int, int] = {}
    for task_id, version in assignments:
        if wanted.setdefault(int(task_id), int(version)) != int(version):
            raise Invalid(_("A task was selected twice with different versions; reload the page."), field="tasks")
    if not wanted:
        raise Invalid(_("Choose at least one task."), field="tasks")
    homes = dict(Task.objects.filter(pk__in=wanted).values_list("pk", "incident_id"))
    if len(homes) != len(wanted):
        raise NotFound(_("A selected task no longer exists."))
    # Incidents are locked in id order, so two bulk assignments over the same incidents
    # queue up instead of deadlocking.
    done: dict[int, Task] = {}
    for task_id in sorted(wanted, key=lambda pk: (homes[pk], pk)):
        try:
            done[task_id] = assign_task(actor, task_id, assignee, expected_version=wanted[task_id])
        except NotFound:
            raise  # a restricted incident is not admitted to exist: no title to name
        except CrisisFlowError as err:
            raise _naming_task(err, task_id, wanted[task_id]) from err
    return [done[pk] for pk in wanted]


def _naming_task(err: CrisisFlowError, task_id: int, expected_version: int) -> CrisisFlowError:
    """The refusal of one task of a bulk change, saying which task (and, if it was
    stale, who changed it). Its `task_id` lets a page mark the row."""
    task = Task.objects.select_related("incident").get(pk=task_id)
    names = {"task": task.title_text(), "incident": task.incident.reference}
    named: CrisisFlowError
    if isinstance(err, Conflict) and task.version != expected_version:
        last = (
            Event.objects.filter(task=task, kind__in=TASK_CHANGES, actor__isnull=False)
            .select_related("actor")
            .order_by("-seq")
            .first()
        )
        if last is not None:
            message = _("“%(task)s” (%(incident)s) was changed by %(who)s; reload the page and try again.")
            named = Conflict(message % {**names, "who": last.actor})
        else:
            named = Conflict(
                _("“%(task)s” (%(incident)s) was changed by someone else; reload the page and try again.") % names
            )
    else:
        kind = type(err) if type(err) in (Invalid, Forbidden, Conflict) else Invalid
        named = kind(_("“%(task)s” (%(incident)s): %(problem)s") % {**names, "problem": err.message}, field="tasks")
    named.task_id = task_id  # type: ignore[attr-defined]
    return named


@transaction.atomic
def complete_by_delivery(actor, incident, deliverables: Sequence[str], delivered: dict[str, Any]) -> list[Task]:
    """A deliverable went out through the app that makes it (a statement was published):
    the open tasks of the incident that deliver it are done, each linked to what was
    delivered (`delivered`, kept in the task's timeline event and shown on the task).

    The delivered thing is the proof, so neither the checklist nor what the task
    depends on holds it up; a task already finished (done or skipped) is left alone.
    Runs inside the caller's transaction when there is one (the incident stays locked)."""
    from crisisflow.incidents.models.task import UNFINISHED, TaskStatus
    from crisisflow.incidents.unit import lock_incident

    incident = lock_incident(actor, incident)
    require_open(incident)
    now = clock.now()
    tasks = list(
        Task.objects.select_for_update(of=("self",))
        .filter(incident=incident, deliverable__in=list(deliverables), status__in=UNFINISHED)
        .order_by("position", "id")
    )
    for task in tasks:
        task.incident = incident
        before = task.status
        if task.status == TaskStatus.BLOCKED:
            task.unblock(now)
        if task.status == TaskStatus.OPEN:
            task.start(now)
        task.complete(now)
        schedule.stop_task(task)
        save_task(task)
        anchor_happened(incident, TASK_ANCHOR_PREFIX + task.key, now)
        record(
            incident,
            actor,
            Kind.TASK,
            {"task_title": task.title, "before": before, "after": task.status, "delivered": delivered},
            task=task,
            at=now,
        )
    return tasks
