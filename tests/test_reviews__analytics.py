"""Analytics across incidents: who reads them, what counts, the figures, the CSV, and a
fixed number of queries however many incidents and action items there are."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crisisflow.incidents import actions
from crisisflow.reviews import use_cases
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def closed(people, *, statement_after, restricted=False, title="Payments down"):
    """Reported at the outbreak (T0), published `statement_after` it, closed at once."""
    with time_machine.travel(T0, tick=False) as traveller:
        incident = report(people, detected_at=T0, restricted=restricted, title=title)
        incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
        if restricted:  # the sponsor signs the review off: on a restricted incident, from its team
            actions.add_team_member(people.commander, incident, people.executive, "executive")
        traveller.move_to(T0 + statement_after)
        return walk_to(people, incident, State.CLOSED)


@pytest.mark.parametrize(
    "persona,status", [("commander", 200), ("executive", 200), ("pr_lead", 403), ("legal", 403), ("outsider", 403)]
)
def test_managers_and_executives_read_the_analytics(people, plan, browse, persona, status):
    assert browse(getattr(people, persona)).get("/analytics/").status_code == status
    assert browse(getattr(people, persona)).get("/analytics.csv").status_code == status


def test_a_role_lead_on_a_team_reads_them_too(people, plan, browse):
    walk_to(people, report(people), State.TEAM_ASSEMBLED)  # the PR lead now leads PR on a team
    assert browse(people.pr_lead).get("/analytics/").status_code == 200


def test_figures_across_incidents_and_dismissed_false_alarms_apart(people, plan, browse):
    closed(people, statement_after=3 * H)  # met
    closed(people, statement_after=20 * H)  # missed by 16 h
    closed(people, statement_after=2 * H)  # met
    with time_machine.travel(T0, tick=False):
        actions.dismiss_incident(people.commander, report(people, title="Rumour"), "a false alarm")
    page = browse(people.commander).get("/analytics/")
    a = page.context["a"]
    assert (a.incidents, a.dismissed, a.golden_met, a.golden_decided) == (3, 1, 2, 3)
    assert a.median_first_statement() == 3 * H
    assert a.p90_first_statement() == 20 * H
    body = page.content.decode()
    assert "67%" in body and "(2/3)" in body
    csv = browse(people.commander).get("/analytics.csv").content.decode().splitlines()
    assert csv[0].startswith("reference,crisis_type,severity,state,detected_at,first_statement_hours,golden_met")
    assert len(csv) == 4 and sum(",no," in line for line in csv) == 1
    # Tasks skipped at close are not overdue; the 20-hour incident finished its gating
    # tasks (due within 4 hours of the outbreak) late.
    assert {r["role"]: r["count"] for r in a.overdue_by_role} == {"legal": 1, "pr": 1}


def test_restricted_incidents_count_only_for_those_who_may_see_them(people, plan, browse):
    from crisisflow.people.models import RosterEntry
    from tests.conftest import make_user

    closed(people, statement_after=3 * H)
    closed(people, statement_after=20 * H, restricted=True, title="Secret")
    other = make_user("other-exec", "executive")
    assert RosterEntry.objects.filter(user=other).exists()
    assert browse(other).get("/analytics/").context["a"].incidents == 1
    assert browse(people.commander).get("/analytics/").context["a"].incidents == 2


def test_filters_by_severity_and_crisis_type(people, plan, browse):
    closed(people, statement_after=3 * H)
    page = browse(people.commander).get("/analytics/?severity=critical")
    assert page.context["a"].incidents == 0
    page = browse(people.commander).get("/analytics/?crisis_type=service_outage&since=2026-03-01&until=2026-03-03")
    assert page.context["a"].incidents == 1
    assert browse(people.commander).get("/analytics/?since=not-a-date").status_code == 200


def count(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_analytics_page_costs_the_same_queries_for_many_incidents(
    people, plan, browse, django_assert_max_num_queries
):
    client = browse(people.commander)
    closed(people, statement_after=3 * H)
    one = count(client, "/analytics/")
    for i in range(5):
        closed(people, statement_after=(i + 1) * H, title=f"Incident {i}")
    client.get("/analytics/")
    with django_assert_max_num_queries(one):
        assert client.get("/analytics/").status_code == 200


def test_the_review_page_costs_the_same_queries_for_many_action_items(
    people, plan, browse, django_assert_max_num_queries
):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.IN_REVIEW)
        client = browse(people.commander)
        url = f"/incidents/{incident.reference}/review/"
        use_cases.add_action_item(
            people.commander, incident, title="First", kind="training", owner=people.legal, due_at=T0 + 24 * H
        )
        one = count(client, url)
        for i in range(6):
            use_cases.add_action_item(
                people.commander, incident, title=f"Item {i}", kind="policy", owner=people.pr_lead, due_at=T0 + 48 * H
            )
        client.get(url)
        with django_assert_max_num_queries(one):
            assert client.get(url).status_code == 200
