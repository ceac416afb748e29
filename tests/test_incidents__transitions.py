"""Every step from every state: the legal ones move, the illegal ones refuse cleanly.
And the gates: each step names what still blocks it."""

from __future__ import annotations

import pytest

from crisisflow.incidents import actions
from crisisflow.incidents.errors import Blocked, Conflict
from crisisflow.incidents.models import Task
from crisisflow.vocab import State
from tests.flows import ORDER, finish, report, sign_off_review, walk_to
from tests.statements_helpers import publish_first_statement

pytestmark = pytest.mark.django_db

ALL_STATES = [*ORDER, State.DISMISSED]
# The only legal moves of the machine, as (state, step) -> new state.
LEGAL = {
    (State.REPORTED, "confirm"): State.CONFIRMED,
    (State.REPORTED, "dismiss"): State.DISMISSED,
    (State.CONFIRMED, "activate"): State.PLAN_ACTIVATED,
    (State.PLAN_ACTIVATED, "assemble"): State.TEAM_ASSEMBLED,
    (State.TEAM_ASSEMBLED, "publish"): State.INFO_PUBLISHED,
    (State.INFO_PUBLISHED, "remediate"): State.REMEDIATING,
    (State.REMEDIATING, "review"): State.IN_REVIEW,
    (State.IN_REVIEW, "reopen"): State.REMEDIATING,
    (State.IN_REVIEW, "close"): State.CLOSED,
}


def at_state(people, state):
    incident = report(people)
    if state == State.DISMISSED:
        return actions.dismiss_incident(people.commander, incident, "false alarm")
    return walk_to(people, incident, state)


def clear_gates(people, incident, target):
    for task in incident.tasks.filter(gates=target):
        for dep in task.depends_on.all():
            if not dep.is_finished:
                finish(people, dep)
        task.refresh_from_db()
        if not task.is_finished:
            finish(people, task)
    if target == State.TEAM_ASSEMBLED:
        actions.accept_team(people.commander, incident)
    if target == State.INFO_PUBLISHED:
        publish_first_statement(people, incident)
    if target == State.CLOSED:
        for task in incident.tasks.exclude(status__in=["done", "skipped", "cancelled"]):
            actions.skip_task(people.commander, task, "not needed")
        sign_off_review(people, incident)


@pytest.mark.parametrize("state,step", sorted(LEGAL))
def test_legal_step_moves_the_incident(people, plan, state, step):
    incident = at_state(people, state)
    clear_gates(people, incident, actions.STEPS[step].target)
    before = incident.events.count()
    incident = actions.advance(people.commander, incident, step, reason="because the facts changed")
    assert incident.state == LEGAL[(state, step)]
    assert incident.events.count() == before + 1
    assert incident.events.last().data["to"] == LEGAL[(state, step)]


ILLEGAL = [(s, step) for s in ALL_STATES for step in actions.STEPS if (s, step) not in LEGAL]


@pytest.mark.parametrize("state,step", ILLEGAL)
def test_illegal_step_is_refused_and_changes_nothing(people, plan, state, step):
    incident = at_state(people, state)
    before = (incident.events.count(), incident.version)
    with pytest.raises(Conflict) as err:
        actions.advance(people.commander, incident, step, reason="trying anyway")
    assert "is not possible while the incident is" in str(err.value)
    incident.refresh_from_db()
    assert incident.state == state
    assert (incident.events.count(), incident.version) == before


def test_confirm_is_blocked_until_type_and_severity_are_known(people, plan):
    incident = report(people, crisis_type="", severity="")
    with pytest.raises(Blocked) as err:
        actions.confirm_incident(people.commander, incident)
    assert str(err.value) == "Confirm the crisis: crisis type and severity are required"
    incident = actions.confirm_incident(people.commander, incident, crisis_type="service_outage", severity="medium")
    assert (incident.state, incident.crisis_type, incident.severity) == ("confirmed", "service_outage", "medium")


def test_activate_is_blocked_when_no_plan_serves_the_type(people, plan):
    incident = actions.confirm_incident(people.commander, report(people, crisis_type="product_quality"))
    with pytest.raises(Blocked) as err:
        actions.activate_plan(people.commander, incident)
    assert err.value.blockers == ["no loaded playbook serves Product quality at severity High"]
    # The commander may still choose a plan by hand.
    incident = actions.activate_plan(people.commander, incident, playbook_key="small-outage")
    assert incident.state == State.PLAN_ACTIVATED


def test_assemble_is_blocked_until_every_needed_role_is_filled(people, plan):
    incident = walk_to(people, report(people), State.PLAN_ACTIVATED)
    with pytest.raises(Blocked) as err:
        actions.assemble_team(people.commander, incident)
    assert err.value.blockers == ["role PR has nobody", "role Legal has nobody"]
    actions.add_team_member(people.commander, incident, people.legal, "legal")
    with pytest.raises(Blocked) as err:
        actions.assemble_team(people.commander, incident)
    assert err.value.blockers == ["role PR has nobody"]


def test_publish_is_blocked_by_the_open_holding_statement(people, plan):
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    with pytest.raises(Blocked) as err:
        actions.publish_information(people.commander, incident)
    assert err.value.blockers == [
        "the first public (holding) statement task “Holding statement” that gates publishing is still open",
        "no approved first public statement (holding or full statement) has been published",
    ]
    panel = {n.step.name: n.blockers for n in actions.next_steps(incident)}
    assert panel == {"publish": err.value.blockers}


def test_review_lists_every_open_gating_task(people, plan):
    incident = walk_to(people, report(people), State.REMEDIATING)
    Task.objects.filter(incident=incident, key="progress-update").update(gates="in_review")
    with pytest.raises(Blocked) as err:
        actions.begin_review(people.commander, incident)
    assert err.value.blockers == ["2 tasks that gate the review are open: Progress update, Root cause"]


def test_close_needs_every_task_finished(people, plan):
    incident = walk_to(people, report(people), State.IN_REVIEW)
    with pytest.raises(Blocked) as err:
        actions.close_incident(people.commander, incident)
    open_count = incident.tasks.filter(status__in=["open", "in_progress", "blocked"]).exclude(gates="closed").count()
    assert err.value.blockers == [
        "the task “Follow up” that gates closing is still open",
        f"{open_count} tasks are still open; finish or skip them first",
        "the review has not been written",
    ]


def test_a_later_feature_can_add_its_own_gate_without_touching_the_model(people, plan):
    from crisisflow.incidents.gates import gate, unregister

    @gate(State.INFO_PUBLISHED)
    def statement_approved(incident):
        yield "the statement has not been approved by Legal"

    try:
        incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
        clear_gates(people, incident, State.INFO_PUBLISHED)
        with pytest.raises(Blocked) as err:
            actions.publish_information(people.commander, incident)
        assert err.value.blockers == ["the statement has not been approved by Legal"]
    finally:
        unregister(statement_approved)
    assert actions.publish_information(people.commander, incident).state == State.INFO_PUBLISHED


def test_the_state_field_cannot_be_assigned_by_hand(people, plan):
    incident = report(people)
    with pytest.raises(AttributeError):
        incident.state = State.CLOSED
