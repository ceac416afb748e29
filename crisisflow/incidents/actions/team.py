"""The crisis team: the proposal from the rosters, accepting it, adding and removing
people, choosing other people for a role, and handing over command."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Case, Count, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crisisflow import clock
from crisisflow.incidents import permissions
from crisisflow.incidents.errors import Invalid, NotFound
from crisisflow.incidents.inputs import clean_text
from crisisflow.incidents.models import Event, Incident, TeamMember
from crisisflow.incidents.models.task import UNFINISHED
from crisisflow.incidents.timeline import record
from crisisflow.incidents.unit import lock_incident, person_name, require_commander, require_open, save_incident
from crisisflow.people.models import RosterEntry, User
from crisisflow.vocab import Role

Kind = Event.Kind


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
    incident = lock_incident(actor, incident, expected_version)
    require_commander(actor, incident)
    require_open(incident)
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
    save_incident(incident)
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
    incident = lock_incident(actor, incident, expected_version)
    require_commander(actor, incident)
    require_open(incident)
    now = clock.now()
    if lead:
        incident.team.filter(role=role, is_lead=True).update(is_lead=False)
    member = _add_member(incident, user, role, now, lead=lead or None)
    if member is None:
        raise Invalid(_("%(person)s already holds this role.") % {"person": user}, field="user")
    save_incident(incident)
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
    incident = lock_incident(actor, member.incident_id, expected_version)
    require_commander(actor, incident)
    require_open(incident)
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
    save_incident(incident)
    record(incident, actor, Kind.TEAM, {"change": "removed", "person": str(member.user), "role": member.role})


@transaction.atomic
def hand_over_command(
    actor,
    incident: Incident | int,
    new_commander: User,
    *,
    reason: str = "",
    expected_version: int | None = None,
) -> Incident:
    """The commander gives command to someone on the commander roster. The new commander
    leads the commander role on the team; the old one stays on the team (and keeps their
    tasks) without leading it."""
    incident = lock_incident(actor, incident, expected_version)
    require_commander(actor, incident)
    require_open(incident)
    reason = clean_text(reason, "reason")
    if not new_commander.is_active or not permissions.is_duty_commander(new_commander):
        raise Invalid(_("%(person)s is not on the commander roster.") % {"person": new_commander}, field="commander")
    before = incident.commander
    if before == new_commander:
        raise Invalid(_("%(person)s already commands this incident.") % {"person": new_commander}, field="commander")
    incident.commander = new_commander
    save_incident(incident)
    now = clock.now()
    TeamMember.objects.filter(incident=incident, role=Role.COMMANDER).update(is_lead=False)
    TeamMember.objects.update_or_create(
        incident=incident, user=new_commander, role=Role.COMMANDER, defaults={"is_lead": True, "added_at": now}
    )
    data = {"before": person_name(before), "after": person_name(new_commander)}
    if reason:
        data["reason"] = reason
    record(incident, actor, Kind.COMMANDER, data, at=now)
    return incident


@transaction.atomic
def make_role_lead(
    actor, incident: Incident | int, user: User, role: str, *, expected_version: int | None = None
) -> TeamMember:
    """Let a person already in a role lead it (the role's other members stop leading)."""
    incident = lock_incident(actor, incident, expected_version)
    require_commander(actor, incident)
    require_open(incident)
    if role == Role.COMMANDER:
        raise Invalid(_("Hand over command on the incident page to change the commander."), field="role")
    member = incident.team.filter(user=user, role=role).first()
    if member is None:
        raise Invalid(_("%(person)s is not in this role on the team.") % {"person": user}, field="user")
    if member.is_lead:
        return member
    incident.team.filter(role=role, is_lead=True).update(is_lead=False)
    member.is_lead = True
    member.save(update_fields=["is_lead"])
    save_incident(incident)
    record(incident, actor, Kind.TEAM, {"change": "lead", "person": str(user), "role": role})
    return member


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
    incident = lock_incident(actor, incident, expected_version)
    require_commander(actor, incident)
    require_open(incident)
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
        remove_team_member(actor, member.pk)
        change.removed.append(member.user)
    # The lock is held: nobody else changed the incident since the version was checked,
    # so the calls below need not check it again.
    members = {m.user_id for m in current}
    first = chosen[0]
    if not any(m.is_lead for m in current if m.user_id in keep) and first.pk in members:
        # The lead left; the first chosen person, already in the role, takes over.
        make_role_lead(actor, incident.pk, first, role)
        change.new_lead = first
    for user in chosen:
        if user.pk not in members:
            # The first newcomer leads a role left without a lead (actions decides that);
            # by then a kept lead or the one promoted above already leads it otherwise.
            add_team_member(actor, incident.pk, user, role)
            change.added.append(user)
    return change
