"""The manager's board: what a crisis lead watching the clock needs on one page.

Reading: `board_for(user)` gathers, for the open incidents the person commands or leads
a role in, the unfinished tasks they may manage (a commander: every task of the
incident; a role lead: the tasks of the roles they lead), each team member's load on
those tasks and, for commanders, the team proposal from the rosters. A fixed number of
queries whatever the number of tasks, plus the two actions.propose_team reads for each
incident whose team the person assembles.

Changing happens through the use cases in crisisflow.incidents.actions
(`assign_tasks`, `replace_role`, …); this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.incidents import actions, permissions
from crisisflow.incidents.models import Incident, Task, TeamMember
from crisisflow.incidents.models.task import UNFINISHED, TaskStatus
from crisisflow.people.models import RosterEntry, User
from crisisflow.people.rosters import primary_first
from crisisflow.vocab import OPEN_STATES, Role, State

# From activation on, an incident has a plan and so a team to assemble.
TEAM_STATES = OPEN_STATES - {State.REPORTED, State.CONFIRMED}


# --- the board --------------------------------------------------------------------------------------


@dataclass
class BoardTask:
    task: Task
    incident: Incident
    overdue: bool


@dataclass
class Load:
    """One person's unfinished tasks among those the board's reader manages."""

    user: User
    open: int = 0  # every unfinished task: not started, in progress or blocked
    overdue: int = 0
    in_progress: int = 0
    blocked: int = 0


@dataclass
class Assignee:
    """A team member who may be given a task from the board, and where they serve."""

    user: User
    roles: list[str] = field(default_factory=list)  # role labels
    references: list[str] = field(default_factory=list)


@dataclass
class RoleChoice:
    """One role of a team panel: the proposal, and the people to choose from."""

    incident_id: int
    proposal: actions.RoleProposal
    candidates: list[User]
    members: set[int]

    @property
    def key(self) -> str:  # which form a refusal belongs to
        return f"role-{self.incident_id}-{self.proposal.role}"


@dataclass
class TeamPanel:
    incident: Incident
    roles: list[RoleChoice]

    @property
    def key(self) -> str:
        return f"team-{self.incident.pk}"

    @property
    def has_proposed(self) -> bool:
        return any(r.proposal.proposed for r in self.roles)


@dataclass
class Board:
    incidents: list[Incident]
    commanded: set[int]  # ids of the incidents the reader commands
    led_roles: dict[int, set[str]]  # incident id → roles the reader leads there
    unassigned: list[BoardTask]
    assigned: list[BoardTask]
    loads: list[Load]
    assignees: list[Assignee]
    teams: list[TeamPanel]
    others: list[User]  # anyone active, for a role no roster covers

    @property
    def overdue_unassigned(self) -> int:
        return sum(1 for row in self.unassigned if row.overdue)

    def scope(self, incident: Incident) -> str:
        """What the reader is on the incident: its commander, or the lead of roles."""
        if incident.pk in self.commanded:
            return _("commander")
        roles = ", ".join(str(Role(r).label) for r in sorted(self.led_roles.get(incident.pk, ())))
        return _("lead of %(roles)s") % {"roles": roles}

    @property
    def incident_rows(self) -> list[tuple[Incident, str]]:
        return [(incident, self.scope(incident)) for incident in self.incidents]


def _person_key(user: User) -> tuple[str, str]:
    return (str(user).casefold(), user.username)


def board_for(user, incident: Incident | None = None, *, now: datetime | None = None) -> Board:
    """The board of everything `user` manages (or only `incident`, if given)."""
    now = now or clock.now()
    incidents_qs = permissions.managed_incidents(user).select_related("commander", "playbook_version")
    if incident is not None:
        incidents_qs = incidents_qs.filter(pk=incident.pk)
    incidents = list(incidents_qs.order_by("-detected_at"))
    by_id = {i.pk: i for i in incidents}

    team = list(TeamMember.objects.filter(incident_id__in=by_id).select_related("user").order_by("role", "id"))
    commanded = {i.pk for i in incidents if i.commander_id == user.pk}
    led: dict[int, set[str]] = {}
    for member in team:
        if member.user_id == user.pk and member.is_lead and member.incident_id not in commanded:
            led.setdefault(member.incident_id, set()).add(member.role)

    def in_scope(incident_id: int, role: str) -> bool:
        return incident_id in commanded or role in led.get(incident_id, ())

    # Only the tasks the reader may manage: every one of a commander's incidents, the
    # led roles' elsewhere.
    visible = Q(incident_id__in=commanded)
    for incident_id, roles in led.items():
        visible |= Q(incident_id=incident_id, role__in=roles)
    tasks = (
        Task.objects.filter(visible, incident_id__in=by_id, status__in=UNFINISHED)
        .select_related("assignee")
        .defer("instructions", "checklist", "ladder")
    )
    rows = []
    for task in tasks:
        task.incident = by_id[task.incident_id]
        rows.append(BoardTask(task, task.incident, bool(task.due_at and task.due_at < now)))
    # By due time (those waiting for their starting point last), then plan order.
    rows.sort(key=lambda r: (r.task.due_at is None, r.task.due_at or now, r.incident.reference, r.task.position))

    # Who may be given a task: the team members of the roles the reader manages.
    assignees: dict[int, Assignee] = {}
    for member in team:
        if in_scope(member.incident_id, member.role):
            choice = assignees.setdefault(member.user_id, Assignee(member.user))
            label = str(member.get_role_display())
            if label not in choice.roles:
                choice.roles.append(label)
            reference = by_id[member.incident_id].reference
            if reference not in choice.references:
                choice.references.append(reference)

    loads = {pk: Load(a.user) for pk, a in assignees.items()}
    for row in rows:
        task = row.task
        if task.assignee_id is None:
            continue
        load = loads.setdefault(task.assignee_id, Load(task.assignee))
        load.open += 1
        load.overdue += row.overdue
        load.in_progress += task.status == TaskStatus.IN_PROGRESS
        load.blocked += task.status == TaskStatus.BLOCKED

    teams = _team_panels([by_id[pk] for pk in by_id if pk in commanded and by_id[pk].state in TEAM_STATES])
    return Board(
        incidents=incidents,
        commanded=commanded,
        led_roles=led,
        unassigned=[r for r in rows if r.task.assignee_id is None],
        assigned=[r for r in rows if r.task.assignee_id is not None],
        loads=sorted(loads.values(), key=lambda load: _person_key(load.user)),
        assignees=sorted(assignees.values(), key=lambda a: _person_key(a.user)),
        teams=teams,
        others=list(User.objects.filter(is_active=True).order_by("display_name", "username")) if teams else [],
    )


def _team_panels(incidents: list[Incident]) -> list[TeamPanel]:
    if not incidents:
        return []
    roster: dict[str, list[User]] = {}
    entries = RosterEntry.objects.filter(user__is_active=True).select_related("user")
    for entry in entries.order_by("role", primary_first(), "position", "id"):
        roster.setdefault(entry.role, []).append(entry.user)
    panels = []
    for incident in incidents:
        choices = []
        for proposal in actions.propose_team(incident):
            if proposal.role == Role.COMMANDER:
                continue  # command changes hands on the incident page, not here
            members = [m.user for m in proposal.current]
            candidates = members + [u for u in roster.get(proposal.role, []) if u not in members]
            choices.append(RoleChoice(incident.pk, proposal, candidates, {u.pk for u in members}))
        panels.append(TeamPanel(incident, choices))
    return panels
