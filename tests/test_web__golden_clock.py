"""The golden clock as the incident room and the API show it: met or missed by how much,
no clock at a severity without one, and the commander correcting the outbreak time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from crisisflow.incidents import actions
from crisisflow.incidents.models import Event, Incident
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import finish_gating, walk_to
from tests.statements_helpers import approve_all, publish_approved, write

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)


def reported(people, severity="high") -> Incident:
    with time_machine.travel(T0, tick=False):
        return actions.report_incident(
            people.cs, title="Payments down", crisis_type="service_outage", severity=severity, detected_at=T0
        )


def published(people, after: timedelta) -> Incident:
    incident = reported(people)
    with time_machine.travel(T0 + M, tick=False):
        incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
        statement = approve_all(people, write(people.pr_lead, incident))
    with time_machine.travel(T0 + after, tick=False):
        publish_approved(people, statement)  # the first public statement: the clock stops
        finish_gating(people, incident, State.INFO_PUBLISHED)
        return actions.publish_information(people.commander, incident.pk)


@pytest.mark.parametrize(
    ("after", "shown", "state", "margin"),
    [
        (3 * H + 20 * M, "Met with 40\xa0minutes to spare", "met", 40 * 60),
        (5 * H + 35 * M, "Missed by 1\xa0hour, 35\xa0minutes", "missed", 95 * 60),
    ],
)
def test_the_room_and_the_api_say_met_or_missed_by_how_much(browse, people, plan, after, shown, state, margin):
    incident = published(people, after)
    client = browse(people.commander)
    with time_machine.travel(T0 + 8 * H, tick=False):
        html = client.get(reverse("incident-detail", args=[incident.reference])).content.decode()
        api = client.get(reverse("api:incident-detail", args=[incident.reference])).json()
    assert shown in html
    assert api["golden_clock"]["state"] == state
    assert api["golden_clock"]["margin_seconds"] == margin


def test_a_severity_without_a_clock_says_so(browse, people, plan):
    incident = reported(people, severity="low")
    client = browse(people.commander)
    html = client.get(reverse("incident-detail", args=[incident.reference])).content.decode()
    assert "No golden clock at this severity" in html
    api = client.get(reverse("api:incident-detail", args=[incident.reference])).json()
    assert api["golden_clock"] == {"state": "none", "due_at": None, "margin_seconds": None}


def test_a_running_clock_in_the_api_counts_down_from_the_report(browse, people, plan):
    incident = reported(people, severity="critical")  # not confirmed: the clock runs anyway
    with time_machine.travel(T0 + H, tick=False):
        api = browse(people.cs).get(reverse("api:incident-detail", args=[incident.reference])).json()
    assert api["golden_clock"]["state"] == "running"
    assert api["golden_clock"]["margin_seconds"] == 3 * 3600


def test_the_commander_corrects_the_outbreak_time_from_the_room(browse, people, plan):
    incident = reported(people)
    with time_machine.travel(T0 + M, tick=False):
        incident = walk_to(people, incident, State.CONFIRMED)
    client = browse(people.commander)
    url = reverse("incident-outbreak", args=[incident.reference])
    with time_machine.travel(T0 + 10 * M, tick=False):
        # Typed in the commander's zone (Asia/Shanghai, UTC+8): 16:00 there is 08:00 UTC.
        refused = client.post(url, {"version": incident.version, "detected_at": "2026-03-02T16:00", "reason": ""})
        assert refused.status_code == 400
        assert "A reason is required." in refused.content.decode()
        done = client.post(
            url, {"version": incident.version, "detected_at": "2026-03-02T16:00", "reason": "first post at 16:00"}
        )
    assert done.status_code == 302
    incident.refresh_from_db()
    assert incident.detected_at == T0 - H
    assert incident.statement_due_at == T0 + 3 * H
    assert Event.objects.filter(incident=incident, kind=Event.Kind.FACTS).get().data["reason"] == "first post at 16:00"


def test_only_the_commander_corrects_it_through_the_api(browse, people, plan):
    incident = reported(people)
    with time_machine.travel(T0 + M, tick=False):
        incident = walk_to(people, incident, State.CONFIRMED)
    url = reverse("api:incident-outbreak", args=[incident.reference])
    body = {"detected_at": (T0 - H).isoformat(), "reason": "wrong zone", "expected_version": incident.version}
    with time_machine.travel(T0 + 10 * M, tick=False):
        assert browse(people.legal).post(url, body, content_type="application/json").status_code == 403
        answer = browse(people.commander).post(url, body, content_type="application/json")
        assert answer.status_code == 200
        assert answer.json()["golden_clock"]["due_at"].startswith("2026-03-02T12:00")
        stale = browse(people.commander).post(url, body, content_type="application/json")
    assert stale.status_code == 409
