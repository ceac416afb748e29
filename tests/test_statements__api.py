"""The statements API: the fact sheet (errors name the field path), statements, versions,
the diff between two versions, drafting the message set; refusals in the API's shape;
restricted incidents 404 to outsiders."""

from __future__ import annotations

import pytest
import time_machine

from crisisflow.statements import versions
from crisisflow.statements.models import Statement
from tests.conftest import T0
from tests.statements import sheet, team_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        return team_incident(people)


def test_the_fact_sheet_reads_and_saves_with_its_version(api, people, incident):
    client = api(people.pr_lead)
    address = f"/api/incidents/{incident.reference}/fact-sheet/"
    blank = client.get(address).json()
    assert blank["version"] == 0 and blank["sections"]["when"]["outbreak"]["at"]
    saved = client.put(address, {"expected_version": 0, **sheet()}, format="json")
    assert saved.status_code == 200, saved.json()
    assert saved.json()["version"] == 1 and saved.json()["saved_by"]["name"] == "Prlead"
    stale = client.put(address, {"expected_version": 0, **sheet()}, format="json")
    assert stale.status_code == 409
    assert stale.json() == {
        "detail": "The fact sheet was changed by Prlead (version 1); reload it and try again.",
        "field": "version",
    }


def test_a_bad_fact_names_its_path(api, people, incident):
    body = {"expected_version": 0, **sheet(next=[{"text": "Refund", "due": "soon"}])}
    response = api(people.pr_lead).put(f"/api/incidents/{incident.reference}/fact-sheet/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Give the date as YYYY-MM-DD.", "field": "sections.next[0].due"}


def test_statements_versions_and_diff(api, people, incident):
    client = api(people.pr_lead)
    made = client.post(
        f"/api/incidents/{incident.reference}/statements/",
        {"kind": "holding_statement", "language": "en", "body": "We will fix it soon."},
        format="json",
    )
    assert made.status_code == 201
    statement = made.json()
    assert statement["state"] == "draft" and statement["current"]["number"] == 1
    edited = client.post(
        f"/api/statements/{statement['id']}/versions/",
        {"expected_version": statement["version"], "body": "We will fix it by 5 March."},
        format="json",
    )
    assert edited.status_code == 201 and edited.json()["current"]["number"] == 2
    assert [v["number"] for v in client.get(f"/api/statements/{statement['id']}/versions/").json()] == [1, 2]
    assert client.get(f"/api/statements/{statement['id']}/versions/1/").json()["body"] == "We will fix it soon."
    changes = client.get(f"/api/statements/{statement['id']}/diff/?from=1&to=2").json()
    assert changes["body"] == [
        ["equal", "We will fix it "],
        ["delete", "soon"],
        ["insert", "by 5 March"],
        ["equal", "."],
    ]
    assert client.get(f"/api/statements/{statement['id']}/diff/?from=1&to=7").status_code == 404
    assert client.get(f"/api/statements/{statement['id']}/diff/?from=x").json()["field"] == "from"
    listed = client.get(f"/api/incidents/{incident.reference}/statements/").json()
    assert [s["id"] for s in listed] == [statement["id"]]


def test_a_statement_from_its_template(api, people, incident):
    response = api(people.legal).post(
        f"/api/incidents/{incident.reference}/statements/",
        {"kind": "regulator_notice", "language": "zh-hans", "from_template": True},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["current"]["title"] == "关于Payments down in East China的情况报告"


def test_drafting_the_message_set(api, people, incident):
    response = api(people.commander).post(f"/api/incidents/{incident.reference}/statements/draft/", {}, format="json")
    assert response.status_code == 201
    assert sorted((s["kind"], s["language"]) for s in response.json()) == [
        ("holding_statement", "en"),
        ("holding_statement", "zh-hans"),
        ("internal_notice", "en"),
        ("internal_notice", "zh-hans"),
    ]
    again = api(people.commander).post(f"/api/incidents/{incident.reference}/statements/draft/", {}, format="json")
    assert again.json() == []


def test_refusals_in_the_apis_shape(api, people, incident):
    statement = versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="x")
    legal = api(people.legal)
    forbidden = legal.post(
        f"/api/statements/{statement.pk}/versions/", {"expected_version": 1, "body": "y"}, format="json"
    )
    assert forbidden.status_code == 403
    unknown = legal.post(
        f"/api/incidents/{incident.reference}/statements/", {"kind": "tweet", "language": "en"}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json()["field"] == "kind"
    missing = legal.post(f"/api/statements/{statement.pk}/versions/", {"body": "y"}, format="json")
    assert missing.status_code == 400 and missing.json()["field"] == "expected_version"


def test_restricted_incidents_are_404_to_outsiders(api, people, incident):
    statement = versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="x")
    incident.restricted = True
    incident.save(update_fields=["restricted"])
    client = api(people.outsider)
    for address in (
        f"/api/incidents/{incident.reference}/fact-sheet/",
        f"/api/incidents/{incident.reference}/statements/",
        f"/api/statements/{statement.pk}/",
        f"/api/statements/{statement.pk}/versions/",
        f"/api/statements/{statement.pk}/versions/1/",
        f"/api/statements/{statement.pk}/diff/",
    ):
        assert client.get(address).status_code == 404, address
    assert Statement.objects.count() == 1
