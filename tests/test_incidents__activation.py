"""Activating a plan: the built-in playbooks become tasks, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crisisflow.incidents import actions
from crisisflow.playbooks.loader import load_playbooks
from crisisflow.vocab import CrisisType, State
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

EVERYTHING_TRUE = dict(
    personal_data=True,
    injuries=True,
    financial_loss=True,
    regulator_involved=True,
    media_coverage=True,
    affected_users=2_000_000,
)


def activation_queries(people, **kwargs) -> tuple[int, int]:
    incident = walk_to(people, report(people, severity="critical", **EVERYTHING_TRUE), State.CONFIRMED)
    with CaptureQueriesContext(connection) as ctx:
        incident = actions.activate_plan(people.commander, incident, playbook_key=kwargs["key"])
    return len(ctx.captured_queries), incident.tasks.count()


def test_query_count_does_not_grow_with_the_plan(people, plan):
    load_playbooks()
    small_q, small_tasks = activation_queries(people, key="small-outage")
    big_q, big_tasks = activation_queries(people, key="data-breach")
    assert big_tasks > 3 * small_tasks
    assert big_q == small_q


@pytest.mark.parametrize("crisis_type", CrisisType.values)
def test_every_crisis_type_has_a_built_in_plan_with_the_golden_clock(people, crisis_type):
    load_playbooks()
    incident = report(people, crisis_type=crisis_type, severity="high", **EVERYTHING_TRUE)
    incident = walk_to(people, incident, State.PLAN_ACTIVATED)
    assert incident.playbook_version.serves(crisis_type, "high")
    holding = incident.tasks.get(deliverable="holding_statement")
    # The golden 4 hours: the first public statement is due within 4 h of the outbreak.
    assert holding.anchor == "detected"
    assert holding.due_at - incident.detected_at <= timedelta(hours=4)
    assert holding.gates == State.INFO_PUBLISHED
    assert incident.statement_due_at - incident.detected_at <= timedelta(hours=4)


def test_a_built_in_plan_can_be_worked_from_report_to_close(people):
    load_playbooks()
    incident = report(people, crisis_type="data_breach", severity="high", personal_data=True, affected_users=120000)
    # Rosters for every role the data-breach plan needs.
    from tests.conftest import make_user

    for role, count in (("tech_security", 2), ("customer_service", 2), ("analyst", 1), ("executive", 1)):
        for n in range(count):
            make_user(f"{role}{n}", role)
    make_user("legal2", "legal")
    incident = walk_to(people, incident, State.CLOSED)
    assert incident.state == State.CLOSED
    assert not incident.tasks.filter(status__in=["open", "in_progress", "blocked"]).exists()
