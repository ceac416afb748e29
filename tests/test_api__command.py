"""Handing over command over the API: the same use case as the incident page
(hand_over_command), with its checks (who may, who can take it, the version seen)."""

from __future__ import annotations

import pytest

from crisisflow.incidents.models import Event, Incident, TeamMember
from crisisflow.vocab import Role, State
from tests.conftest import make_user
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def deputy(db):
    return make_user("deputy", "commander", rank="backup")


@pytest.fixture
def incident(people, plan) -> Incident:
    return walk_to(people, report(people), State.TEAM_ASSEMBLED)


def command_url(incident: Incident) -> str:
    return f"/api/incidents/{incident.reference}/command/"


def test_the_commander_hands_over_to_a_deputy(api, people, incident, deputy):
    response = api(people.commander).post(
        command_url(incident), {"commander": deputy.pk, "expected_version": incident.version}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["commander"] == {"id": deputy.pk, "name": "Deputy"}
    assert response.data["version"] == incident.version + 1
    lead = TeamMember.objects.get(incident=incident, role=Role.COMMANDER, is_lead=True)
    assert lead.user == deputy
    event = Event.objects.filter(incident=incident).order_by("-seq").first()
    assert event.kind == Event.Kind.COMMANDER
    assert event.data == {"before": "Commander", "after": "Deputy"}

    # The old commander no longer commands: handing it back is now the deputy's call.
    back = api(people.commander).post(command_url(incident), {"commander": people.commander.pk}, format="json")
    assert back.status_code == 403
    assert back.data["detail"] == "Only the incident commander can do this."


def test_a_stale_version_changes_nothing(api, people, incident, deputy):
    seen = incident.version
    api(people.commander).post(
        f"/api/incidents/{incident.reference}/severity/", {"severity": "critical", "reason": "spreading"}, format="json"
    )
    response = api(people.commander).post(
        command_url(incident), {"commander": deputy.pk, "expected_version": seen}, format="json"
    )
    assert response.status_code == 409
    assert response.data == {
        "detail": "Someone else changed this incident; reload the page and try again.",
        "field": None,
    }
    incident.refresh_from_db()
    assert incident.commander == people.commander


def test_only_someone_on_the_commander_roster_can_take_command(api, people, incident):
    events = Event.objects.filter(incident=incident).count()
    response = api(people.commander).post(command_url(incident), {"commander": people.pr_lead.pk}, format="json")
    assert response.status_code == 400
    assert response.data == {"detail": "Prlead is not on the commander roster.", "field": "commander"}

    unknown = api(people.commander).post(command_url(incident), {"commander": 999_999}, format="json")
    assert unknown.status_code == 400 and unknown.data["field"] == "commander"
    missing = api(people.commander).post(command_url(incident), {}, format="json")
    assert missing.status_code == 400 and missing.data["field"] == "commander"

    others = api(people.pr_lead).post(command_url(incident), {"commander": people.pr_lead.pk}, format="json")
    assert others.status_code == 403
    assert Event.objects.filter(incident=incident).count() == events


def test_a_restricted_incident_is_not_found_by_outsiders(api, people, plan, deputy):
    secret = report(people, restricted=True)
    outsider = api(people.outsider)
    response = outsider.post(command_url(secret), {"commander": deputy.pk}, format="json")
    nowhere = outsider.post("/api/incidents/CF-2026-9999/command/", {"commander": deputy.pk}, format="json")
    assert response.status_code == nowhere.status_code == 404
    assert response.data == nowhere.data == {"detail": "No such incident.", "field": None}
