"""Who may read, draft, approve, request approval of and publish statements.

The use cases call these; views and the API only translate the refusals. A person's
standing comes from the incident's team (the roles they hold on it) and from being its
commander, read once per request (`Standing`) so a list of fifty statements costs one
query, not fifty.

| action                          | who                                                      |
| ------------------------------- | -------------------------------------------------------- |
| read the fact sheet, statements | whoever may see the incident (restricted: 404 to others)  |
| edit the fact sheet             | the commander and the team, observers excepted            |
| draft / edit a public kind      | PR on the team, the commander                             |
| (holding, full, progress,       |                                                          |
| correction, press, social,      |                                                          |
| customer e-mail and SMS,        |                                                          |
| partner notice)                 |                                                          |
| draft the customer-service      | customer service on the team, the commander               |
| script                          |                                                          |
| draft the regulator notice      | legal on the team, the commander                          |
| draft the internal notice       | the commander                                             |
| approve as a role               | a person holding that role on the incident's team; the    |
|                                 | commander approves only as commander, never in another    |
|                                 | role's place (even one he also holds on the team)         |
| request approval, publish       | whoever may draft the statement's kind                    |

The commander may draft every kind: he answers for the whole message set, and nothing he
writes goes out without the approvers' roles.
"""

from __future__ import annotations

from crisisflow.incidents import permissions as incident_permissions
from crisisflow.incidents.models import Incident, TeamMember
from crisisflow.statements import kinds
from crisisflow.vocab import Role

# Who drafts each kind, besides the commander.
_PUBLIC_DRAFTERS = frozenset({Role.PR.value})
DRAFTERS: dict[str, frozenset[str]] = {
    key: _PUBLIC_DRAFTERS for key, k in kinds.KINDS.items() if k.public or k.audience == kinds.Audience.PARTNERS
}
DRAFTERS.update(
    {
        "cs_script": frozenset({Role.CUSTOMER_SERVICE.value}),
        "regulator_notice": frozenset({Role.LEGAL.value}),
        "internal_notice": frozenset(),
    }
)


class Standing:
    """What one person is on one incident: commander or not, the roles they hold on its
    team. Every rule below is answered from it without another query."""

    def __init__(self, user, incident: Incident):
        self.user = user
        self.incident = incident
        self.authenticated = bool(user.is_authenticated)
        self.visible = incident_permissions.can_view(user, incident) if self.authenticated else False
        self.commands = self.authenticated and incident_permissions.commands(user, incident)
        self.roles = (
            frozenset(TeamMember.objects.filter(incident=incident, user=user).values_list("role", flat=True))
            if self.authenticated
            else frozenset()
        )

    def may_read(self) -> bool:
        return self.visible

    def may_edit_facts(self) -> bool:
        return self.visible and (self.commands or bool(self.roles - {Role.OBSERVER.value}))

    def may_draft(self, kind: str) -> bool:
        if not self.visible or kind not in kinds.KINDS:
            return False
        return self.commands or bool(self.roles & DRAFTERS.get(kind, frozenset()))

    def may_approve(self, role: str) -> bool:
        if not self.visible or role == Role.OBSERVER.value:
            return False
        if role == Role.COMMANDER.value:
            return self.incident.commander_id is not None and self.incident.commander_id == self.user.pk
        if self.incident.commander_id is not None and self.incident.commander_id == self.user.pk:
            return False  # never in another role's place
        return role in self.roles

    def draftable_kinds(self) -> list[str]:
        return [key for key in kinds.KINDS if self.may_draft(key)]


def standing(user, incident: Incident) -> Standing:
    return Standing(user, incident)


def may_read(user, incident: Incident) -> bool:
    return Standing(user, incident).may_read()


def may_edit_facts(user, incident: Incident) -> bool:
    return Standing(user, incident).may_edit_facts()


def may_draft(user, incident: Incident, kind: str) -> bool:
    return Standing(user, incident).may_draft(kind)


def may_approve(user, incident: Incident, role: str) -> bool:
    """Only a person holding `role` on the incident's team; the commander only as
    commander."""
    return Standing(user, incident).may_approve(role)


def may_request(user, statement) -> bool:
    return Standing(user, statement.incident).may_draft(statement.kind)


def may_publish(user, statement) -> bool:
    return Standing(user, statement.incident).may_draft(statement.kind)
