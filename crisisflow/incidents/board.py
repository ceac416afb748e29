"""The manager's board: what a crisis lead watching the clock needs on one page.

Reading: `board_for(user)` gathers, for the open incidents the person commands or leads
a role in, the unfinished tasks they may manage (a commander: every task of the
incident; a role lead: the tasks of the roles they lead), each team member's load on
those tasks and, for commanders, the team proposal from the rosters. A fixed number of
queries whatever the number of tasks, plus the two actions.propose_team reads for each
incident whose team the person assembles.

Changing: `assign_tasks` (bulk assignment, all or nothing) and `replace_role` (choose
other people for a role). Both are built from the single-object use cases in
crisisflow.incidents.actions, so the permission checks, the timeline event per change
and the deadline rescheduling stay in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crisisflow import clock
from crisisflow.incidents import actions
from crisisflow.incidents.errors import Conflict, CrisisFlowError, Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Event, Incident, Task, TeamMember
from crisisflow.incidents.models.task import UNFINISHED, TaskStatus
from crisisflow.incidents.timeline import record
from crisisflow.people.models import RosterEntry, User
from crisisflow.people.rosters import primary_first
from crisisflow.vocab import OPEN_STATES, Role, State

# Events that change a task (and its version) by someone's hand; reminders and delivery
# failures are written on the task too but change nothing a form shows.
TASK_CHANGES = (Event.Kind.ASSIGNMENT, Event.Kind.TASK, Event.Kind.CHECKLIST)
# From activation on, an incident has a plan and so a team to assemble.
TEAM_STATES = OPEN_STATES - {State.REPORTED, State.CONFIRMED}


# --- who manages what -------------------------------------------------------------------------


def managed_incidents(user) -> QuerySet[Incident]:
    """Open incidents the person commands or leads a role in."""
    if not user.is_authenticated:
        return Incident.objects.none()
    led = TeamMember.objects.filter(user=user, is_lead=True).values("incident_id")
    return Incident.objects.filter(state__in=OPEN_STATES).filter(Q(commander=user) | Q(pk__in=led))


def manages(user, incident: Incident) -> bool:
    return managed_incidents(user).filter(pk=incident.pk).exists()


def manages_any(user) -> bool:
    return managed_incidents(user).exists()


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
    incidents_qs = managed_incidents(user).select_related("commander", "playbook_version")
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


# --- assigning in bulk -----------------------------------------------------------------------------


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
            done[task_id] = actions.assign_task(actor, task_id, assignee, expected_version=wanted[task_id])
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


# --- choosing other people for a role -------------------------------------------------------------------


@dataclass
class RoleChange:
    role: str
    added: list[User] = field(default_factory=list)
    removed: list[User] = field(default_factory=list)
    new_lead: User | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.new_lead)


@transaction.atomic
def replace_role(
    actor, incident: Incident | int, role: str, users: Iterable[User], expected_version: int | None = None
) -> RoleChange:
    """Make `users` the people in `role` on the incident's team: add those who are not
    in it and remove its other members. Refused, changing nothing, if a member to be
    removed still has open tasks in the role. The first chosen person leads the role if
    its lead leaves. One timeline event per change (joined, left, now leads)."""
    incident = actions._lock(actor, incident, expected_version)
    actions._require_commander(actor, incident)
    actions._require_open(incident)
    if role not in Role.values:
        raise Invalid(_("Unknown role “%(role)s”.") % {"role": role}, field="role")
    if role == Role.COMMANDER:
        raise Invalid(_("Hand over command on the incident page to change the commander."), field="role")
    chosen: list[User] = []
    for user in users:
        if user not in chosen:
            chosen.append(user)
    if not chosen:
        raise Invalid(
            _("Choose at least one person for %(role)s.") % {"role": Role(role).label},
            field="users",
        )

    current = list(incident.team.filter(role=role).select_related("user").order_by("-is_lead", "id"))
    keep = {u.pk for u in chosen}
    leaving = [m for m in current if m.user_id not in keep]
    busy = dict(
        incident.tasks.filter(role=role, status__in=UNFINISHED, assignee__in=[m.user_id for m in leaving])
        .order_by()
        .values_list("assignee")
        .annotate(n=Count("id"))
    )
    if busy:
        people = ", ".join(
            ngettext("%(person)s (%(n)d open task)", "%(person)s (%(n)d open tasks)", busy[m.user_id])
            % {"person": m.user, "n": busy[m.user_id]}
            for m in leaving
            if m.user_id in busy
        )
        raise Invalid(
            _("Cannot take %(people)s off %(role)s: reassign their open %(role)s tasks first.")
            % {"people": people, "role": Role(role).label},
            field="users",
        )

    change = RoleChange(role)
    for member in leaving:
        actions.remove_team_member(actor, member.pk)
        change.removed.append(member.user)
    # The lock is held: nobody else changed the incident since the version was checked,
    # so the calls below need not check it again.
    members = {m.user_id for m in current}
    first = chosen[0]
    if not any(m.is_lead for m in current if m.user_id in keep) and first.pk in members:
        # The lead left; the first chosen person, already in the role, takes over.
        TeamMember.objects.filter(incident=incident, role=role, user=first).update(is_lead=True)
        Incident.objects.filter(pk=incident.pk).update(version=F("version") + 1)
        record(incident, actor, Event.Kind.TEAM, {"change": "lead", "person": str(first), "role": role})
        change.new_lead = first
    for user in chosen:
        if user.pk not in members:
            # The first newcomer leads a role left without a lead (actions decides that);
            # by then a kept lead or the one promoted above already leads it otherwise.
            actions.add_team_member(actor, incident.pk, user, role)
            change.added.append(user)
    return change
