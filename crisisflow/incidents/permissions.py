"""Who may see and do what on an incident.

The use cases call these; views and the API only translate the refusals. A person's
standing on an incident comes from its team (TeamMember rows) and from being its
commander; duty commanders (the commander roster) may take charge of a new incident.

| action                               | who                                                |
| ------------------------------------ | -------------------------------------------------- |
| see an incident                      | anyone signed in; restricted: team, commander,     |
|                                      | reporter, and duty commanders while it has no      |
|                                      | commander (others get 404)                         |
| report an incident                   | anyone signed in                                   |
| move it through the stages, change   | its commander; while it has none, a duty commander |
| severity, facts, team                |                                                    |
| assign / reassign / skip a task      | commander, or the lead of the task's role          |
| start / finish / block / tick a task | its assignee, or those who may assign it           |
| post a note or a task comment        | commander, reporter and team members but observers |
| attach evidence                      | commander and team members but observers           |
| hold a task                          | team members in a role other than observer         |
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from crisisflow.incidents.errors import Forbidden, NotFound
from crisisflow.incidents.models import Incident, Task, TeamMember
from crisisflow.people.models import RosterEntry
from crisisflow.vocab import OPEN_STATES, Role


def visible_incidents(user) -> QuerySet[Incident]:
    qs = Incident.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    seen = Q(restricted=False) | Q(commander=user) | Q(reporter=user) | Q(team__user=user)
    if is_duty_commander(user):
        seen |= Q(commander__isnull=True)  # someone on duty has to triage it
    return qs.filter(seen).distinct()


def can_view(user, incident: Incident) -> bool:
    if not user.is_authenticated:
        return False
    if not incident.restricted or user.is_superuser:
        return True
    if user.pk in (incident.commander_id, incident.reporter_id):
        return True
    if incident.commander_id is None and is_duty_commander(user):
        return True
    return incident.team.filter(user=user).exists()


def is_duty_commander(user) -> bool:
    return user.roster_entries.filter(role=Role.COMMANDER).exists()


def commands(user, incident: Incident) -> bool:
    if incident.commander_id is not None:
        return incident.commander_id == user.pk
    return is_duty_commander(user)


def commanders() -> Q:
    """Who must be told when the deadline engine stops: people on the commander roster
    and the commanders of open incidents (a filter on users)."""
    return Q(
        Exists(RosterEntry.objects.filter(user=OuterRef("pk"), role=Role.COMMANDER))
        | Exists(Incident.objects.filter(commander=OuterRef("pk"), state__in=OPEN_STATES))
    )


def leads_role(user, incident: Incident, role: str) -> bool:
    return TeamMember.objects.filter(incident=incident, user=user, role=role, is_lead=True).exists()


def manages_task(user, task: Task) -> bool:
    return commands(user, task.incident) or leads_role(user, task.incident, task.role)


def works_task(user, task: Task) -> bool:
    return task.assignee_id == user.pk or manages_task(user, task)


def may_post_notes(user, incident: Incident) -> bool:
    if commands(user, incident) or user.pk == incident.reporter_id:
        return True
    return incident.team.filter(user=user).exclude(role=Role.OBSERVER).exists()


def managed_incidents(user) -> QuerySet[Incident]:
    """Open incidents the person commands or leads a role in (the manager's board)."""
    if not user.is_authenticated:
        return Incident.objects.none()
    led = TeamMember.objects.filter(user=user, is_lead=True).values("incident_id")
    return Incident.objects.filter(state__in=OPEN_STATES).filter(Q(commander=user) | Q(pk__in=led))


def manages(user, incident: Incident) -> bool:
    return managed_incidents(user).filter(pk=incident.pk).exists()


def manages_any(user) -> bool:
    return managed_incidents(user).exists()


def may_attach(user, incident: Incident) -> bool:
    """Evidence: the commander, and the team except observers (who read, not act)."""
    if commands(user, incident):
        return True
    return incident.team.filter(user=user).exclude(role=Role.OBSERVER).exists()


# --- the guards use cases call ------------------------------------------------------------


def require_view(user, incident: Incident) -> None:
    # A restricted incident is not admitted to exist for someone outside it.
    if not can_view(user, incident):
        raise NotFound()


def require(allowed: bool, message) -> None:
    if not allowed:
        raise Forbidden(message)


# --- who may do what on the tasks of one incident, read once for a whole list ---------------


class TaskRights:
    """manages_task and works_task for all the tasks of one incident, with the person's
    standing (commander, the roles they lead) read once instead of once per task. The
    same rules; a test holds them to the same answers.

    `key` names the standing: two people with the same key see the same buttons on every
    task they are not assigned to (a shared render of a task list is keyed on it)."""

    def __init__(self, user, incident: Incident):
        self.user_id = user.pk
        self.commands = commands(user, incident)
        self.leads = frozenset(
            TeamMember.objects.filter(incident=incident, user=user, is_lead=True).values_list("role", flat=True)
        )

    def manages(self, task: Task) -> bool:
        return self.commands or task.role in self.leads

    def works(self, task: Task) -> bool:
        return task.assignee_id == self.user_id or self.manages(task)

    @property
    def key(self) -> tuple:
        return (self.commands, tuple(sorted(self.leads)))
