"""Who may do what: every persona against every action, enforced in the use cases.

The team of the incident under test: commander (commander role), prlead (PR lead),
prmember (PR, not lead), legal (Legal lead), observer (observer role). cs reported it.
exec and outsider are signed in but not on the team.
"""

from __future__ import annotations

import pytest

from crisisflow.incidents import actions, permissions
from crisisflow.incidents.errors import Forbidden, NotFound
from crisisflow.incidents.models import Incident, Task
from crisisflow.vocab import State
from tests.flows import finish_gating, report, walk_to
from tests.statements_helpers import publish_first_statement

pytestmark = pytest.mark.django_db

PERSONAS = ["commander", "pr_lead", "pr_member", "legal", "cs", "executive", "observer", "outsider"]


def setup_incident(people, restricted=False) -> Incident:
    incident = walk_to(people, report(people, restricted=restricted), State.PLAN_ACTIVATED)
    actions.accept_team(people.commander, incident)  # prlead (primary PR), legal
    actions.add_team_member(people.commander, incident, people.pr_member, "pr")
    actions.add_team_member(people.commander, incident, people.observer, "observer")
    incident = actions.assemble_team(people.commander, incident)
    pr_task = Task.objects.get(incident=incident, key="exec-letter")
    actions.assign_task(people.commander, pr_task, people.pr_member)
    return incident


def pr_task(incident):
    return Task.objects.get(incident=incident, key="exec-letter")


def legal_task(incident):
    return Task.objects.get(incident=incident, key="root-cause")


ACTIONS = {
    "publish": lambda p, i, who: (
        publish_first_statement(p, i),
        finish_gating(p, i, State.INFO_PUBLISHED),
        actions.publish_information(who, i),
    ),
    "change severity": lambda p, i, who: actions.change_severity(who, i, "critical", "trending on Weibo"),
    "update scope": lambda p, i, who: actions.update_scope(who, i, affected_users=250000),
    "add team member": lambda p, i, who: actions.add_team_member(who, i, p.executive, "executive"),
    "assign PR task": lambda p, i, who: actions.assign_task(who, pr_task(i), p.pr_lead),
    "assign Legal task": lambda p, i, who: actions.assign_task(who, legal_task(i), p.commander),
    "start PR task": lambda p, i, who: actions.start_task(who, pr_task(i)),
    "block PR task": lambda p, i, who: actions.block_task(who, pr_task(i), "waiting for the CEO"),
    "skip PR task": lambda p, i, who: actions.skip_task(who, pr_task(i), "no executive letter this time"),
    "start Legal task": lambda p, i, who: actions.start_task(who, legal_task(i)),
    "post note": lambda p, i, who: actions.add_note(who, i, "Hot search rank #3"),
}

# Who is allowed, per action. Everyone else is refused (403; 404 where they may not see).
ALLOWED = {
    "publish": {"commander"},
    "change severity": {"commander"},
    "update scope": {"commander"},
    "add team member": {"commander"},
    "assign PR task": {"commander", "pr_lead"},
    "assign Legal task": {"commander", "legal"},
    "start PR task": {"commander", "pr_lead", "pr_member"},
    "block PR task": {"commander", "pr_lead", "pr_member"},
    "skip PR task": {"commander", "pr_lead"},
    "start Legal task": {"commander", "legal"},
    "post note": {"commander", "pr_lead", "pr_member", "legal", "cs"},
}
SEES_RESTRICTED = {"commander", "pr_lead", "pr_member", "legal", "cs", "observer"}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_action_matrix(people, plan, persona, action):
    incident = setup_incident(people)
    who = getattr(people, persona)
    before = incident.events.count()
    if persona in ALLOWED[action]:
        ACTIONS[action](people, incident, who)
        assert incident.events.count() > before
    else:
        with pytest.raises(Forbidden):
            ACTIONS[action](people, incident, who)


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_restricted_incident_matrix(people, plan, persona, action):
    incident = setup_incident(people, restricted=True)
    who = getattr(people, persona)
    if persona not in SEES_RESTRICTED:
        # Outsiders are not told a restricted incident exists: 404, not 403.
        with pytest.raises(NotFound):
            ACTIONS[action](people, incident, who)
    elif persona in ALLOWED[action]:
        ACTIONS[action](people, incident, who)
    else:
        with pytest.raises(Forbidden):
            ACTIONS[action](people, incident, who)


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_sees_what(people, plan, persona):
    open_incident = setup_incident(people)
    restricted = setup_incident(people, restricted=True)
    who = getattr(people, persona)
    visible = set(permissions.visible_incidents(who))
    assert open_incident in visible
    assert (restricted in visible) == (persona in SEES_RESTRICTED)


def test_only_duty_commanders_take_command_of_a_new_incident(people, plan):
    incident = report(people)
    with pytest.raises(Forbidden):
        actions.confirm_incident(people.pr_lead, incident)
    incident = actions.confirm_incident(people.commander, incident)
    assert incident.commander == people.commander
    assert incident.team.get(role="commander").user == people.commander


def test_assignee_must_be_on_the_team(people, plan):
    from crisisflow.incidents.errors import Invalid

    incident = setup_incident(people)
    with pytest.raises(Invalid) as err:
        actions.assign_task(people.commander, pr_task(incident), people.outsider)
    assert err.value.field == "assignee"
    assert "is not on this incident's team" in str(err.value)
