"""Who may read, write and approve statements, as a matrix of the personas: PR and the
commander write the public kinds, customer service the script, legal the regulator
notice, the commander the internal notice; legal and executives approve as their own
role only, the commander never in another role's place; observers read; a restricted
incident does not exist for outsiders."""

from __future__ import annotations

import pytest

from crisisflow.statements import kinds, permissions
from crisisflow.statements.models import Statement
from tests.statements import team_incident

pytestmark = pytest.mark.django_db

PERSONAS = ("commander", "pr_lead", "legal", "cs", "executive", "observer", "outsider")

PUBLIC = [k for k in kinds.KINDS if kinds.KINDS[k].public or k == "partner_notice"]

# kind -> the personas who may draft it
DRAFTERS = {
    **{kind: {"commander", "pr_lead"} for kind in PUBLIC},
    "cs_script": {"commander", "cs"},
    "regulator_notice": {"commander", "legal"},
    "internal_notice": {"commander"},
}

# role -> the personas who may approve as it
APPROVERS = {
    "pr": {"pr_lead"},
    "legal": {"legal"},
    "executive": {"executive"},
    "commander": {"commander"},
    "customer_service": {"cs"},
    "observer": set(),
    "tech_security": set(),
}


@pytest.fixture
def incident(people, plan):
    return team_incident(people)


def test_every_kind_has_its_drafters():
    assert set(DRAFTERS) == set(kinds.KINDS)


@pytest.mark.parametrize("kind", list(kinds.KINDS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_draft(people, incident, persona, kind):
    user = getattr(people, persona)
    assert permissions.may_draft(user, incident, kind) == (persona in DRAFTERS[kind])


@pytest.mark.parametrize("role", list(APPROVERS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_approve(people, incident, persona, role):
    user = getattr(people, persona)
    assert permissions.may_approve(user, incident, role) == (persona in APPROVERS[role])


def test_the_commander_never_approves_in_another_roles_place_even_holding_it(people, incident):
    from crisisflow.incidents import actions

    actions.add_team_member(people.commander, incident, people.commander, "legal")
    assert not permissions.may_approve(people.commander, incident, "legal")
    assert permissions.may_approve(people.commander, incident, "commander")


@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_who_sees_the_incident_reads_its_statements(people, incident, persona):
    assert permissions.may_read(getattr(people, persona), incident)


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_restricted_incident_is_for_its_team_only(people, incident, persona):
    incident.restricted = True
    incident.save(update_fields=["restricted"])
    user = getattr(people, persona)
    assert permissions.may_read(user, incident) == (persona != "outsider")
    if persona == "outsider":
        assert not permissions.may_draft(user, incident, "holding_statement")
        assert not permissions.may_approve(user, incident, "legal")


def test_request_and_publish_follow_drafting(people, incident):
    statement = Statement(incident=incident, kind="regulator_notice", language="en")
    assert permissions.may_request(people.legal, statement) and permissions.may_publish(people.legal, statement)
    assert not permissions.may_publish(people.pr_lead, statement)
