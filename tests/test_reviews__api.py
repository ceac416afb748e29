"""The reviews API: the same use cases as the review page, who may do what (edit, sign,
read the analytics), stale versions naming who saved in between, the exports, share
links, and the analytics as JSON and CSV with the page's filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crisisflow.incidents import actions
from crisisflow.reviews import use_cases
from crisisflow.vocab import State
from tests.conftest import T0, make_user
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def in_review(people, **kwargs):
    with time_machine.travel(T0, tick=False) as traveller:
        incident = walk_to(people, report(people, detected_at=T0, **kwargs), State.TEAM_ASSEMBLED)
        traveller.move_to(T0 + 3 * H)
        return walk_to(people, incident, State.IN_REVIEW)


def base(incident) -> str:
    return f"/api/incidents/{incident.reference}/review/"


def test_the_review_reads_with_its_figures_and_is_edited_part_by_part(people, plan, api):
    incident = in_review(people)
    body = api(people.pr_lead).get(base(incident)).json()
    assert (body["opened"], body["version"], body["drill"], body["brand"]) == (True, 0, False, None)
    golden = next(m for m in body["metrics"] if m["key"] == "golden_hours")
    assert (golden["note"], golden["unit"], golden["value"]) == ("met", "seconds", 3600.0)
    assert golden["text"] == "met, 1 h 00 min to spare" and golden["events"]
    first = next(m for m in body["milestones"] if m["key"] == "first_statement")
    assert first["since_outbreak_seconds"] == 3 * 3600
    assert [e["dimension"] for e in body["evaluation"]] == ["speed", "team", "sentiment", "brand"]
    assert body["missing_sign_offs"] == ["commander", "pr", "legal", "executive"]

    saved = api(people.pr_lead).post(
        base(incident) + "edit/",
        {"expected_version": 0, "went_well": "The holding statement was out in 3 hours.", "five_whys": ["Why?"]},
        format="json",
    )
    assert saved.status_code == 200, saved.json()
    saved = api(people.commander).post(
        base(incident) + "edit/",
        {"expected_version": 1, "ratings": {"speed": {"rating": 4, "evidence": "3 h"}}, "root_cause": "A bad deploy"},
        format="json",
    )
    body = saved.json()
    assert body["version"] == 2 and body["updated_by"]["name"] == "Commander"
    # What was not sent stayed as it was.
    assert body["narrative"]["went_well"] == "The holding statement was out in 3 hours."
    assert body["narrative"]["five_whys"][0] == "Why?"
    assert body["evaluation"][0] == {
        "dimension": "speed",
        "label": "Response speed",
        "rating": 4,
        "evidence": "3 h",
        "comment": "",
    }
    # Stale: someone saved in between, and the answer names them.
    stale = api(people.pr_lead).post(base(incident) + "edit/", {"expected_version": 1, "lucky": "x"}, format="json")
    assert stale.status_code == 409
    assert stale.json()["detail"] == "This review was changed by Commander; reload the page and try again."
    bad = api(people.commander).post(
        base(incident) + "edit/", {"expected_version": 2, "ratings": {"speed": {"rating": 9}}}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["field"] == "ratings"
    missing = api(people.commander).post(base(incident) + "edit/", {"went_well": "x"}, format="json")
    assert missing.status_code == 400 and missing.json()["field"] == "expected_version"


@pytest.mark.parametrize(
    "persona,status", [("commander", 200), ("pr_lead", 200), ("legal", 200), ("observer", 403), ("outsider", 403)]
)
def test_who_edits_the_review(people, plan, api, persona, status):
    incident = in_review(people)
    actions.add_team_member(people.commander, incident, people.observer, "observer")
    answer = api(getattr(people, persona)).post(
        base(incident) + "edit/", {"expected_version": 0, "went_well": "x"}, format="json"
    )
    assert answer.status_code == status


@pytest.mark.parametrize(
    "persona,role,status",
    [
        ("commander", "commander", 200),
        ("pr_lead", "pr", 200),
        ("legal", "legal", 200),
        ("executive", "executive", 200),
        ("commander", "legal", 403),  # never in another role's place
        ("outsider", "executive", 403),
    ],
)
def test_who_signs_off(people, plan, api, persona, role, status):
    incident = in_review(people)
    use_cases.save_review(people.commander, incident, {"went_well": "x"}, expected_version=0)
    answer = api(getattr(people, persona)).post(
        base(incident) + "sign/", {"expected_version": 1, "role": role}, format="json"
    )
    assert answer.status_code == status, answer.json()
    if status == 200:
        signed = next(s for s in answer.json()["sign_offs"] if s["role"] == role)
        assert signed["signed"] and signed["version"] == 1 and signed["content_hash"] == answer.json()["content_hash"]


def test_a_restricted_incidents_review_is_not_found_for_outsiders(people, plan, api):
    incident = in_review(people, restricted=True)
    for path in ("", "markdown/", "pdf/"):
        assert api(people.outsider).get(base(incident) + path).status_code == 404
    assert (
        api(people.outsider).post(base(incident) + "edit/", {"expected_version": 0}, format="json").status_code == 404
    )


def test_action_items_are_added_changed_and_finished(people, plan, api):
    incident = in_review(people)
    with time_machine.travel(T0 + 4 * H, tick=False):
        added = api(people.commander).post(
            base(incident) + "items/",
            {
                "title": "Drill the holding statement",
                "kind": "training",
                "owner": people.pr_lead.pk,
                "due_at": "2026-04-01T08:00:00Z",
            },
            format="json",
        )
        assert added.status_code == 201, added.json()
        item = added.json()
        assert (item["owner"]["id"], item["status"], item["version"]) == (people.pr_lead.pk, "open", 0)
        one = f"/api/review-items/{item['id']}/"
        changed = api(people.commander).post(
            one + "change/", {"expected_version": 0, "due_at": "2026-04-15T08:00:00+08:00"}, format="json"
        )
        assert changed.status_code == 200 and changed.json()["due_at"] == "2026-04-15T00:00:00Z"
        stale = api(people.commander).post(one + "change/", {"expected_version": 0, "title": "x"}, format="json")
        assert stale.status_code == 409
        refused = api(people.legal).post(one + "finish/", {"expected_version": 1, "status": "done"}, format="json")
        assert refused.status_code == 403  # neither its owner nor the commander
        done = api(people.pr_lead).post(one + "finish/", {"expected_version": 1, "status": "done"}, format="json")
        assert done.status_code == 200 and done.json()["status"] == "done"
        read = api(people.observer).get(base(incident)).json()
        assert [(i["title"], i["status"]) for i in read["action_items"]] == [("Drill the holding statement", "done")]
        bad = api(people.commander).post(
            base(incident) + "items/",
            {"title": "x", "kind": "training", "owner": people.pr_lead.pk, "due_at": "soon"},
            format="json",
        )
        assert bad.status_code == 400 and bad.json()["field"] == "due_at"


def test_exports_and_share_links(people, plan, api, client):
    incident = in_review(people)
    use_cases.save_review(people.commander, incident, {"went_well": "Fast apology"}, expected_version=0)
    md = api(people.observer).get(base(incident) + "markdown/")
    assert md.status_code == 200 and md["Content-Type"].startswith("text/markdown")
    assert "Fast apology" in md.content.decode() and "met, 1 h 00 min to spare" in md.content.decode()
    pdf = api(people.observer).get(base(incident) + "pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert api(people.pr_lead).post(base(incident) + "share/", {"days": 3}, format="json").status_code == 403
    shared = api(people.executive).post(base(incident) + "share/", {"days": 3}, format="json")
    assert shared.status_code == 201
    assert client.get(shared.json()["url"].replace("http://testserver", "")).status_code == 200
    bad = api(people.commander).post(base(incident) + "share/", {"days": 90}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "days"


def closed(people, *, statement_after, restricted=False, title="Payments down"):
    with time_machine.travel(T0, tick=False) as traveller:
        incident = report(people, detected_at=T0, restricted=restricted, title=title)
        incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
        if restricted:
            actions.add_team_member(people.commander, incident, people.executive, "executive")
        traveller.move_to(T0 + statement_after)
        return walk_to(people, incident, State.CLOSED)


@pytest.mark.parametrize(
    "persona,status", [("commander", 200), ("executive", 200), ("pr_lead", 403), ("legal", 403), ("outsider", 403)]
)
def test_who_reads_the_analytics(people, plan, api, persona, status):
    assert api(getattr(people, persona)).get("/api/analytics/").status_code == status
    assert api(getattr(people, persona)).get("/api/analytics/csv/").status_code == status


def test_the_analytics_as_json_and_csv_with_the_pages_filters(people, plan, api):
    closed(people, statement_after=3 * H)
    closed(people, statement_after=20 * H)
    closed(people, statement_after=2 * H, restricted=True, title="Secret")
    a = api(people.commander).get("/api/analytics/").json()
    assert (a["incidents"], a["golden_met"], a["golden_decided"]) == (3, 2, 3)
    assert a["median_first_statement_seconds"] == 3 * 3600 and a["p90_first_statement_seconds"] == 20 * 3600
    # Another executive, not on the restricted incident's team, does not count it.
    other = make_user("other-exec", "executive")
    assert api(other).get("/api/analytics/").json()["incidents"] == 2
    assert len(api(other).get("/api/analytics/csv/").content.decode().splitlines()) == 3
    assert api(people.commander).get("/api/analytics/?severity=critical").json()["incidents"] == 0
    filtered = api(people.commander).get("/api/analytics/?crisis_type=service_outage&since=2026-03-01&until=2026-03-03")
    assert filtered.json()["incidents"] == 3
    for query, field in (("since=not-a-date", "since"), ("severity=dire", "severity"), ("brand=nope", "brand")):
        bad = api(people.commander).get(f"/api/analytics/?{query}")
        assert bad.status_code == 400 and bad.json()["field"] == field
    csv = api(people.commander).get("/api/analytics/csv/?severity=high")
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode().splitlines()[0].endswith(",brand,commitments_kept,commitments_due")


def test_exports_and_analytics_are_rate_limited(people, plan, api, settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "API_RATES": {"export": "2/hour", "analytics": "1/hour"}}
    incident = in_review(people)
    client = api(people.commander)
    assert [client.get(base(incident) + "markdown/").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(base(incident) + "pdf/").status_code == 429
    limited = [client.get("/api/analytics/"), client.get("/api/analytics/csv/")]
    assert [r.status_code for r in limited] == [200, 429]
    assert limited[1].json()["detail"].startswith("Too many requests: you may read the analytics at most 1/hour.")
    assert limited[1]["Retry-After"]
