"""The unit of work every incident use case runs in.

A use case locks the incident row (so concurrent changes queue up instead of
interleaving), checks the person may see it (404 otherwise), refuses a stale form (the
version the person saw is not the current one), makes its change and saves with the
version bumped. These are the pieces, public so that every app's use cases (evidence,
statements, commitments…) share them instead of copying them.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from crisisflow.incidents import permissions
from crisisflow.incidents.errors import Invalid, NotFound, stale_incident_error, stale_task_error
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.people.models import User
from crisisflow.vocab import OPEN_STATES


def lock_incident(actor, incident: Incident | int, expected_version: int | None = None) -> Incident:
    """The incident, locked for this transaction, if `actor` may see it and it is still
    at `expected_version` (when given)."""
    pk = incident.pk if isinstance(incident, Incident) else incident
    try:
        locked = Incident.objects.select_for_update(of=("self",)).get(pk=pk)
    except Incident.DoesNotExist:
        raise NotFound() from None
    permissions.require_view(actor, locked)
    if expected_version is not None and locked.version != expected_version:
        raise stale_incident_error()
    return locked


def lock_task(actor, task: Task | int, expected_version: int | None) -> tuple[Incident, Task]:
    """The task and its incident, both locked (incident first, as everywhere, so two use
    cases never deadlock), if `actor` may see the incident and the task is still at
    `expected_version` (when given)."""
    pk = task.pk if isinstance(task, Task) else task
    incident_id = Task.objects.filter(pk=pk).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise NotFound()
    incident = lock_incident(actor, incident_id)
    locked = Task.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=pk)
    locked.incident = incident
    if expected_version is not None and locked.version != expected_version:
        # The last person who changed it (reminders on the task have no actor).
        who = (
            Event.objects.filter(task=locked, actor__isnull=False)
            .exclude(kind=Event.Kind.ALERT)
            .order_by("-seq")
            .select_related("actor")
            .first()
        )
        raise stale_task_error(person_name(who.actor) if who and who.actor else None)
    return incident, locked


def require_commander(actor, incident: Incident) -> None:
    permissions.require(permissions.commands(actor, incident), _("Only the incident commander can do this."))


def require_open(incident: Incident) -> None:
    if incident.state not in OPEN_STATES:
        raise Invalid(_("This incident is %(state)s; it cannot be changed.") % {"state": incident.get_state_display()})


def save_incident(incident: Incident) -> None:
    incident.version += 1
    try:
        incident.save()
    except ConcurrentTransition:
        # The row lock makes this unreachable in practice; django-fsm's optimistic check
        # is the second belt should a caller ever skip the lock.
        raise stale_incident_error() from None


def save_task(task: Task) -> None:
    task.version += 1
    try:
        task.save()
    except ConcurrentTransition:
        raise stale_task_error() from None


def person_name(user: User | None) -> str | None:
    """How a person is written into timeline data (None for nobody)."""
    return str(user) if user is not None else None
