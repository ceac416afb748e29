"""Turning a rung's audience ("role_lead", "executive", …) into people."""

from __future__ import annotations

from crisisflow.alerts.memo import remembered
from crisisflow.people.models import RosterEntry, User
from crisisflow.vocab import Role


def _team_lead(incident, role: str) -> User | None:
    # The whole team in one read (remembered for the sweep): lead first, then by join order.
    members = remembered(
        ("team", incident.pk),
        lambda: list(incident.team.filter(user__is_active=True).select_related("user").order_by("-is_lead", "id")),
    )
    for member in members:
        if member.role == role:
            return member.user
    return None


def _roster_primary(role: str) -> User | None:
    def first_on_roster() -> User | None:
        entry = (
            RosterEntry.objects.filter(role=role, user__is_active=True)
            .select_related("user")
            .order_by("-rank", "position", "id")  # "primary" sorts after "backup"
            .first()
        )
        return entry.user if entry else None

    return remembered(("roster", role), first_on_roster)


def _lead_of(incident, role: str) -> User | None:
    """The team's lead for a role; before the team exists, the role's primary on the roster."""
    return _team_lead(incident, role) or _roster_primary(role)


def duty_commanders() -> list[User]:
    """Everyone on the commander roster: who triages a report nobody commands yet."""
    return remembered(
        ("roster-all", Role.COMMANDER),
        lambda: [
            entry.user
            for entry in RosterEntry.objects.filter(role=Role.COMMANDER, user__is_active=True)
            .select_related("user")
            .order_by("-rank", "position", "id")
        ],
    )


def resolve(audience: tuple[str, ...], incident, task=None) -> list[User]:
    """People for the audience, each once, in audience order. Whoever cannot be found
    falls back to the commander, so an alert is never addressed to nobody."""
    people: list[User] = []
    for who in audience:
        if who == "duty_commanders" or (who == "commander" and incident.commander_id is None):
            # Nobody commands it yet: whoever is on duty hears of it (and may take it).
            for person in [incident.commander] if incident.commander_id else duty_commanders():
                if person is not None and person.is_active and person not in people:
                    people.append(person)
            continue
        person: User | None = None
        if who == "assignee":
            person = task.assignee if task is not None else None
            if person is None:
                continue  # unassigned: the role lead hears of it through the same rung
        elif who == "role_lead":
            person = _lead_of(incident, task.role) if task is not None else None
        elif who == "commander":
            person = incident.commander
        elif who == "executive":
            person = _lead_of(incident, Role.EXECUTIVE)
        elif who == "pr_lead":
            person = _lead_of(incident, Role.PR)
        elif who == "legal_lead":
            person = _lead_of(incident, Role.LEGAL)
        if person is None:
            person = incident.commander
        if person is not None and person.is_active and person not in people:
            people.append(person)
    return people
