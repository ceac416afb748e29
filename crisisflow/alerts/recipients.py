"""Turning a rung's audience ("role_lead", "executive", …) into people.

Only people who may see the incident are ever told of it: on a restricted incident its
team, commander and reporter (and duty commanders while it has no commander), as the
incident's own page decides (permissions.can_view). Anyone found who may not see it — a
role's primary on the roster who is not on the team, an assignee removed from the team,
someone no longer active — is replaced by the commander, and while there is none by the
duty commanders who may see it, so an alert is never addressed to nobody and never to
someone who would get "not found" following its link.
"""

from __future__ import annotations

from crisisflow.alerts import memo
from crisisflow.alerts.memo import remembered
from crisisflow.incidents.models import TeamMember
from crisisflow.incidents.permissions import can_view
from crisisflow.people.models import RosterEntry, User
from crisisflow.vocab import Role


def _team_members():
    # Lead first, then by join order.
    return TeamMember.objects.filter(user__is_active=True).order_by("-is_lead", "id")


def _team_lead(incident, role: str) -> User | None:
    # The whole team in one read (remembered for the sweep): (role, person), lead first.
    members = remembered(
        ("team", incident.pk),
        lambda: [
            (member.role, member.user) for member in _team_members().filter(incident=incident).select_related("user")
        ],
    )
    for member_role, user in members:
        if member_role == role:
            return user
    return None


def read_teams(incidents) -> None:
    """During a sweep, read the teams of many incidents at once (a chunk of rungs spans
    up to one incident per rung), rather than one query per incident. The same few
    people lead the teams of many incidents: each of them is read once."""
    if not memo.in_sweep():
        return
    wanted = {incident.pk for incident in incidents if not memo.known(("team", incident.pk))}
    if not wanted:
        return
    members = list(_team_members().filter(incident_id__in=wanted).values_list("incident_id", "role", "user_id"))
    people = people_by_id({user_id for _, _, user_id in members})
    teams: dict = {("team", pk): [] for pk in wanted}
    for incident_id, role, user_id in members:
        if user_id in people:
            teams[("team", incident_id)].append((role, people[user_id]))
    memo.remember(teams)


def people_by_id(ids) -> dict[int, User]:
    """Users by id, each read once per sweep (remembered) or afresh outside one."""
    found = {pk: memo.recall(("user", pk)) for pk in ids if memo.known(("user", pk))}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        read = User.objects.in_bulk(missing)
        memo.remember({("user", pk): user for pk, user in read.items()})
        found.update(read)
    return found


def _on_roster(role: str) -> list[User]:
    """The role's active people on the roster, primary first (remembered for the sweep)."""

    def read() -> list[User]:
        entries = (
            RosterEntry.objects.filter(role=role, user__is_active=True)
            .select_related("user")
            .order_by("-rank", "position", "id")  # "primary" sorts after "backup"
        )
        return [entry.user for entry in entries]

    return remembered(("roster", role), read)


def _lead_of(incident, role: str) -> User | None:
    """The team's lead for a role; before the team exists, the role's primary on the roster."""
    found = _team_lead(incident, role)
    if found is not None:
        return found
    roster = _on_roster(role)
    return roster[0] if roster else None


def may_hear(person: User | None, incident) -> bool:
    """Whether `person` may be told about the incident: active, and allowed to see it.
    Read afresh each time for a restricted incident (a removal must count at once)."""
    return person is not None and person.is_active and can_view(person, incident)


def stand_ins(incident) -> list[User]:
    """Who hears what nobody allowed was found for: the commander; without one, the duty
    commanders who may see the incident."""
    if incident.commander_id is not None:
        commander = incident.commander
        if may_hear(commander, incident):
            return [commander]
    return [person for person in _on_roster(Role.COMMANDER) if may_hear(person, incident)]


def _find(who: str, incident, task) -> User | None:
    # "duty_commanders" (triage) finds nobody by name: the stand-ins below are exactly
    # the incident's commander or, while it has none, the duty commanders.
    if who == "assignee":
        return task.assignee if task is not None else None
    if who == "role_lead":
        return _lead_of(incident, task.role) if task is not None else None
    if who == "commander":
        return incident.commander
    if who == "executive":
        return _lead_of(incident, Role.EXECUTIVE)
    if who == "pr_lead":
        return _lead_of(incident, Role.PR)
    if who == "legal_lead":
        return _lead_of(incident, Role.LEGAL)
    return None


def resolve(audience: tuple[str, ...], incident, task=None) -> list[User]:
    """People for the audience, each once, in audience order, every one of them allowed
    to see the incident; whoever cannot be found, or may not see it, is replaced by the
    stand-ins (the commander)."""
    people: list[User] = []
    for who in audience:
        person = _find(who, incident, task)
        if person is None and who == "assignee":
            continue  # unassigned: the role lead hears of it through the same rung
        found = [person] if may_hear(person, incident) else stand_ins(incident)
        for someone in found:
            if someone not in people:
                people.append(someone)
    return people
