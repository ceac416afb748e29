"""Who may do what with reviews.

| action                               | who                                                   |
| ------------------------------------ | ----------------------------------------------------- |
| read a review                        | whoever may see the incident                          |
| edit it, add action items            | the commander and the team but observers, until close |
| sign off as commander                | the incident's commander                              |
| sign off as PR                       | the lead of the PR role on the team                   |
| sign off as legal                    | a Legal member of the team                            |
| sign off as executive                | an executive sponsor on the team or on the roster     |
| finish an action item                | its owner, or the commander                           |
| make a share link                    | the commander and the executive sponsors              |
| read analytics                       | managers (commanders, role leads) and executives      |
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from crisisflow.incidents import permissions
from crisisflow.incidents.models import Incident, TeamMember
from crisisflow.people.models import RosterEntry, User
from crisisflow.vocab import Role, State


def may_read(user, incident: Incident) -> bool:
    return permissions.can_view(user, incident)


def may_edit(user, incident: Incident) -> bool:
    if incident.state != State.IN_REVIEW or not permissions.can_view(user, incident):
        return False
    if permissions.commands(user, incident):
        return True
    return incident.team.filter(user=user).exclude(role=Role.OBSERVER).exists()


def is_executive(user) -> bool:
    return RosterEntry.objects.filter(user=user, role=Role.EXECUTIVE).exists()


def may_sign(user, incident: Incident, role: str) -> bool:
    """Only a person holding that role; the commander never signs in another's place."""
    if not user.is_authenticated or not permissions.can_view(user, incident):
        return False
    if role == Role.COMMANDER:
        return incident.commander_id == user.pk
    members = TeamMember.objects.filter(incident=incident, user=user, role=role)
    if role == Role.PR:
        return members.filter(is_lead=True).exists()
    if role == Role.EXECUTIVE:
        return members.exists() or is_executive(user)
    return members.exists()


def may_share(user, incident: Incident) -> bool:
    return permissions.commands(user, incident) or may_sign(user, incident, Role.EXECUTIVE)


def may_read_analytics(user) -> bool:
    """One query (the navigation asks it on every page)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return User.objects.filter(
        Exists(RosterEntry.objects.filter(user=OuterRef("pk"), role__in=(Role.COMMANDER, Role.EXECUTIVE)))
        | Exists(TeamMember.objects.filter(user=OuterRef("pk"), is_lead=True)),
        pk=user.pk,
    ).exists()
