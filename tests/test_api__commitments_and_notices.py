"""The commitments and public-notice API: the same use cases as the pages, refusals in
the API's error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from tests.conftest import T0
from tests.statements import team_incident

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        return team_incident(people, affected_users=None)


def test_record_keep_verify_and_list_late(people, incident, api):
    base = f"/api/incidents/{incident.reference}/commitments/"
    with time_machine.travel(T0, tick=False):
        made = api(people.commander).post(
            base,
            {
                "text": "A year of identity-theft insurance, 100,000 yuan cover per person",
                "owner": people.legal.pk,
                "due_at": (T0 + timedelta(days=3)).isoformat(),
                "coverage": "100,000 yuan per person",
                "period": "one year",
            },
            format="json",
        )
        assert made.status_code == 201, made.json()
        body = made.json()
        assert body["status"] == "open" and body["owner"]["id"] == people.legal.pk
        bad = api(people.commander).post(base, {"text": "x", "owner": people.legal.pk, "due_at": "soon"}, format="json")
        assert bad.status_code == 400 and bad.json()["field"] == "due_at"
        assert (
            api(people.observer)
            .post(base, {**body, "owner": people.legal.pk, "due_at": body["due_at"]}, format="json")
            .status_code
            == 403
        )
    with time_machine.travel(T0 + timedelta(days=4), tick=False):
        late = api(people.executive).get("/api/commitments/?status=late").json()
        assert [c["id"] for c in late] == [body["id"]]
        kept = api(people.legal).post(
            f"/api/commitments/{body['id']}/kept/",
            {
                "expected_version": body["version"],
                "summary": "Policies issued",
                "links": ["https://example.com/policies"],
                "figures": [{"label": "policies", "value": "12,000"}],
            },
            format="json",
        )
        assert kept.status_code == 200 and kept.json()["status"] == "kept"
        own = api(people.legal).post(
            f"/api/commitments/{body['id']}/verify/", {"expected_version": kept.json()["version"]}, format="json"
        )
        assert own.status_code == 403  # never the owner
        verified = api(people.commander).post(
            f"/api/commitments/{body['id']}/verify/", {"expected_version": kept.json()["version"]}, format="json"
        )
        assert verified.json()["verified_by"]["id"] == people.commander.pk
        stale = api(people.commander).post(
            f"/api/commitments/{body['id']}/withdraw/", {"expected_version": 0, "reason": "x"}, format="json"
        )
        assert stale.status_code == 409


def test_a_restricted_incidents_commitments_are_not_found_by_outsiders(people, plan, api):
    incident = team_incident(people, restricted=True)
    assert api(people.outsider).get(f"/api/incidents/{incident.reference}/commitments/").status_code == 404
    assert api(people.outsider).get("/api/commitments/").json() == []


def test_turn_a_notice_on_and_off_through_the_api(people, incident, api):
    url = f"/api/incidents/{incident.reference}/notice/"
    assert api(people.pr_lead).post(url, {"title_en": "Notice"}, format="json").status_code == 403
    assert api(people.commander).post(url, {"title_en": ""}, format="json").status_code == 400
    on = api(people.commander).post(url, {"title_en": "Notice", "slug": "api-notice", "listed": True}, format="json")
    assert on.status_code == 200 and on.json()["url"].endswith("/notice/api-notice/")
    assert Client().get("/notice/api-notice/").status_code == 200
    off = api(people.commander).post(url + "off/", {"expected_version": on.json()["version"]}, format="json")
    assert off.json()["enabled"] is False and off.json()["url"] is None
    assert Client().get("/notice/api-notice/").status_code == 404
    drill = api(people.commander).post(url + "drill/", {"drill": True}, format="json")
    assert drill.json()["drill"] is True
    assert api(people.commander).post(url, {"title_en": "Notice"}, format="json").status_code == 409
