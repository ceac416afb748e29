"""The JSON API for incidents: reporting, the stages, the team, the timeline, and how it
refuses (404 to outsiders, 403 to non-commanders, 409 blocked or stale, 400 bad input)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from crisisflow.incidents import actions
from crisisflow.incidents.models import Event, Incident, TeamMember
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

LIST = "/api/incidents/"


def url(incident: Incident | str, *rest: str) -> str:
    reference = incident if isinstance(incident, str) else incident.reference
    return "/api/incidents/" + "/".join([reference, *rest]) + "/"


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False):
        yield


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- from report to an assembled team ---------------------------------------------------------------


def test_commander_walks_an_incident_to_an_assembled_team(api, people, plan, frozen):
    reported = api(people.cs).post(
        LIST,
        {
            "title": "Payments down in East China",
            "summary": "Alipay checkout fails",
            "crisis_type": "service_outage",
            "severity": "high",
            "detected_at": "2026-03-02T16:30:00+08:00",
            "regions": ["Shanghai", "Hangzhou"],
            "platforms": ["weibo"],
            "affected_users": 12000,
            "media_coverage": True,
        },
        format="json",
    )
    assert reported.status_code == 201, reported.data
    body = reported.data
    ref = body["reference"]
    assert ref == "CF-2026-0001"
    assert reported["Location"].endswith(url(ref))
    assert body["state"] == State.REPORTED
    assert body["detected_at"] == "2026-03-02T08:30:00Z"  # stored and shown in UTC
    assert body["regions"] == ["Shanghai", "Hangzhou"]
    assert body["media_coverage"] is True and body["personal_data"] is False
    assert body["commander"] is None
    assert body["reporter"]["id"] == people.cs.pk
    assert body["version"] == 0
    assert [n["step"] for n in body["next_steps"]] == ["confirm", "dismiss"]
    dismiss = body["next_steps"][1]
    assert dismiss["needs_reason"] is True and dismiss["ready"] is True and dismiss["blockers"] == []

    boss = api(people.commander)
    confirmed = boss.post(url(ref, "steps", "confirm"), {"expected_version": 0}, format="json")
    assert confirmed.status_code == 200, confirmed.data
    assert confirmed.data["state"] == State.CONFIRMED
    assert confirmed.data["commander"] == {"id": people.commander.pk, "name": "Commander"}
    assert confirmed.data["confirmed_at"] == iso(T0)

    activated = boss.post(url(ref, "steps", "activate"), {"expected_version": confirmed.data["version"]}, format="json")
    assert activated.status_code == 200, activated.data
    detail = activated.data
    assert detail["state"] == State.PLAN_ACTIVATED
    assert detail["playbook"] == {"key": "small-outage", "version": 1, "name": "Small outage plan"}
    # The golden clock: four hours from the outbreak at high severity.
    assert detail["statement_due_at"] == "2026-03-02T12:30:00Z"
    keys = [t["key"] for t in detail["tasks"]]
    assert keys == [
        "legal-review",
        "holding-statement",
        "progress-update",
        "root-cause",
        "exec-letter",
        "follow-up",
    ]
    statement = detail["tasks"][1]
    assert statement["title"] == {"en": "Holding statement", "zh": "【Holding statement】"}
    assert statement["title_localized"] == "Holding statement"
    assert statement["depends_on"] == ["legal-review"]
    assert statement["gates"] == State.INFO_PUBLISHED
    assert statement["deliverable"] == "holding_statement"
    assert statement["checklist"][0] == {
        "index": 0,
        "text": {"en": "Apologise", "zh": "【Apologise】"},
        "text_localized": "Apologise",
        "done": False,
    }
    assert statement["due_at"] == "2026-03-02T12:30:00Z"
    assemble = next(n for n in detail["next_steps"] if n["step"] == "assemble")
    assert assemble["ready"] is False
    assert "role PR has nobody" in assemble["blockers"]

    proposal = boss.get(url(ref, "team")).data["proposal"]
    proposed = {p["role"]: [u["id"] for u in p["proposed"]] for p in proposal}
    assert proposed == {"commander": [], "pr": [people.pr_lead.pk], "legal": [people.legal.pk]}

    accepted = boss.post(url(ref, "team", "accept"), {"expected_version": detail["version"]}, format="json")
    assert accepted.status_code == 200, accepted.data
    team = {(m["role"], m["user"], m["is_lead"]) for m in accepted.data["team"]}
    assert team == {
        ("commander", people.commander.pk, True),
        ("pr", people.pr_lead.pk, True),
        ("legal", people.legal.pk, True),
    }

    assembled = boss.post(url(ref, "steps", "assemble"), {"expected_version": accepted.data["version"]}, format="json")
    assert assembled.status_code == 200, assembled.data
    assert assembled.data["state"] == State.TEAM_ASSEMBLED
    owners = {t["key"]: t["assignee"]["id"] for t in assembled.data["tasks"]}
    assert owners["holding-statement"] == people.pr_lead.pk
    assert owners["legal-review"] == people.legal.pk

    events = boss.get(url(ref, "timeline")).data
    assert [e["kind"] for e in events] == ["reported", "transition", "transition", "team", "transition"]


def test_list_shows_visible_incidents_newest_first(api, people, frozen):
    older = report(people, title="Older outage", detected_at=T0 - timedelta(hours=3))
    newer = report(people, title="Newer outage", detected_at=T0 - timedelta(hours=1))
    secret = report(people, title="Quiet leak", restricted=True)

    seen = api(people.outsider).get(LIST)
    assert seen.status_code == 200
    assert [i["reference"] for i in seen.data] == [newer.reference, older.reference]
    first = seen.data[0]
    assert set(first) == {
        "reference",
        "title",
        "crisis_type",
        "crisis_type_label",
        "severity",
        "severity_label",
        "state",
        "state_label",
        "commander",
        "detected_at",
        "statement_due_at",
        "first_statement_at",
        "golden_clock",
        "version",
        "url",
    }
    assert first["url"] == "http://testserver" + url(newer)
    assert first["severity_label"] == "High" and first["state_label"] == "Reported"

    # The reporter sees their restricted incident.
    mine = [i["reference"] for i in api(people.cs).get(LIST).data]
    assert secret.reference in mine


def test_the_list_costs_the_same_queries_however_long_it_is(api, people, django_assert_max_num_queries):
    client = api(people.commander)
    report(people)
    with django_assert_max_num_queries(6) as few:
        client.get(LIST)
    for n in range(5):
        report(people, title=f"Outage {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(LIST).data) == 6


def test_every_endpoint_needs_sign_in(api, people):
    incident = report(people)
    anonymous = api()
    for method, path in [
        ("get", LIST),
        ("post", LIST),
        ("get", url(incident)),
        ("get", url(incident, "timeline")),
    ]:
        response = getattr(anonymous, method)(path, {}, format="json")
        assert response.status_code in (401, 403)
        assert "detail" in response.data


def test_basic_auth_and_session_auth_work(people):
    incident = report(people)
    basic = APIClient()
    token = base64.b64encode(b"outsider:pw-outsider").decode()
    basic.credentials(HTTP_AUTHORIZATION="Basic " + token)
    assert basic.get(url(incident)).status_code == 200

    session = APIClient(enforce_csrf_checks=True)
    session.force_login(people.commander)
    assert session.get(url(incident)).status_code == 200
    # A signed-in browser session must prove the request came from our pages.
    refused = session.post(url(incident, "steps", "confirm"), {}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.data["detail"]
    assert Incident.objects.get(pk=incident.pk).state == State.REPORTED


# --- refusals -----------------------------------------------------------------------------------


def test_a_blocked_step_is_409_with_its_blockers(api, people):
    incident = report(people, severity="")
    response = api(people.commander).post(url(incident, "steps", "confirm"), {}, format="json")
    assert response.status_code == 409
    assert response.data["blockers"] == ["severity is required"]
    assert response.data["detail"] == "Confirm the crisis: severity is required"
    assert response.data["field"] is None
    incident.refresh_from_db()
    assert incident.state == State.REPORTED and incident.commander is None


def test_a_step_from_the_wrong_state_is_409(api, people, plan):
    incident = report(people)
    response = api(people.commander).post(url(incident, "steps", "assemble"), {}, format="json")
    assert response.status_code == 409
    assert "not possible while the incident is Reported" in response.data["detail"]


def test_a_stale_version_is_409_and_changes_nothing(api, people, plan):
    incident = report(people)
    boss = api(people.commander)
    seen = boss.get(url(incident)).data["version"]
    assert boss.post(url(incident, "steps", "confirm"), {"expected_version": seen}, format="json").status_code == 200

    stale = boss.post(url(incident, "steps", "activate"), {"expected_version": seen}, format="json")
    assert stale.status_code == 409
    assert stale.data["detail"] == "Someone else changed this incident; reload the page and try again."
    assert "blockers" not in stale.data
    assert Incident.objects.get(pk=incident.pk).state == State.CONFIRMED

    stale_scope = boss.patch(url(incident), {"title": "New title", "expected_version": seen}, format="json")
    assert stale_scope.status_code == 409
    assert Incident.objects.get(pk=incident.pk).title == incident.title


def test_someone_who_does_not_command_gets_403_with_a_message(api, people, plan):
    incident = walk_to(people, report(people), State.CONFIRMED)
    before = incident.version
    for person in (people.pr_lead, people.outsider, people.cs):
        client = api(person)
        for path, body in [
            (url(incident, "steps", "activate"), {}),
            (url(incident, "severity"), {"severity": "critical", "reason": "spreading"}),
            (url(incident, "team"), {"user": person.pk, "role": "pr"}),
        ]:
            response = client.post(path, body, format="json")
            assert response.status_code == 403, (person, path, response.data)
            assert response.data["detail"] == "Only the incident commander can do this."
        assert client.patch(url(incident), {"title": "Mine now"}, format="json").status_code == 403
    assert Incident.objects.get(pk=incident.pk).version == before


def test_a_restricted_incident_is_404_to_an_outsider_on_every_endpoint(api, people, plan):
    incident = walk_to(people, report(people, restricted=True), State.TEAM_ASSEMBLED)
    task = incident.tasks.get(key="holding-statement")
    member = TeamMember.objects.get(incident=incident, role="pr")
    events = Event.objects.filter(incident=incident).count()
    outsider = api(people.outsider)
    calls = [
        ("get", url(incident), None),
        ("patch", url(incident), {"title": "Leaked"}),
        ("post", url(incident, "steps", "publish"), {}),
        ("post", url(incident, "steps", "nonsense"), {}),
        ("post", url(incident, "severity"), {"severity": "low", "reason": "x"}),
        ("post", url(incident, "notes"), {"text": "hello"}),
        ("get", url(incident, "timeline"), None),
        ("get", url(incident, "team"), None),
        ("post", url(incident, "team"), {"user": people.outsider.pk, "role": "pr"}),
        ("post", url(incident, "team", "accept"), {}),
        ("delete", f"/api/team-members/{member.pk}/", None),
        ("get", f"/api/tasks/{task.pk}/", None),
    ] + [
        (
            "post",
            f"/api/tasks/{task.pk}/{action}/",
            {"reason": "r", "assignee": None, "index": 0, "done": True},
        )
        for action in ("start", "complete", "block", "unblock", "skip", "assign", "checklist")
    ]
    calls += [
        ("post", url(incident, "command"), {"commander": people.outsider.pk}),
        ("get", url(incident, "evidence"), None),
        ("get", url(incident, "evidence", "1"), None),
        ("get", f"/api/tasks/{task.pk}/comments/", None),
        ("post", f"/api/tasks/{task.pk}/comments/", {"text": "hello"}),
        (
            "post",
            "/api/tasks/assign/",
            {"assignee": people.outsider.pk, "tasks": [{"id": task.pk, "version": task.version}]},
        ),
    ]
    for method, path, body in calls:
        response = getattr(outsider, method)(path, body, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.data["detail"] in ("No such incident.", "No such task.", "No such team member.")
        assert "Quiet" not in str(response.data)
    upload = outsider.post(url(incident, "evidence"), {"caption": "x"}, format="multipart")
    assert upload.status_code == 404 and upload.data["detail"] == "No such incident."
    assert incident.reference not in str(outsider.get(LIST).data)
    # An incident that does not exist looks the same.
    assert outsider.get(url("CF-2026-9999")).data == outsider.get(url(incident)).data
    assert Event.objects.filter(incident=incident).count() == events


# --- bad input ---------------------------------------------------------------------------------------


GOOD_REPORT = {"title": "Checkout failing", "crisis_type": "service_outage", "severity": "high"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"severity": "apocalyptic"}, "severity"),
        ({"crisis_type": "alien_invasion"}, "crisis_type"),
        ({"detected_at": "2026-03-02T08:00:00"}, "detected_at"),  # no offset
        ({"detected_at": "2026-03-02T11:00:00Z"}, "detected_at"),  # two hours in the future
        ({"detected_at": "yesterday"}, "detected_at"),
        ({"detected_at": "0001-01-01T00:00:00+14:00"}, "detected_at"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Bad\u0000byte"}, "title"),
        ({"title": ["a", "list"]}, "title"),
        ({"regions": "Shanghai"}, "regions"),  # a string where a list belongs
        ({"regions": ["Shanghai", {"city": "Hangzhou"}]}, "regions"),
        ({"affected_users": -5}, "affected_users"),
        ({"affected_users": "lots"}, "affected_users"),
        ({"affected_users": 2**70}, "affected_users"),
        ({"personal_data": "perhaps"}, "personal_data"),
        ({"restricted": "sometimes"}, "restricted"),
        ({"commander": 987654}, "commander"),
        ({"commander": True}, "commander"),
        ({"state": "closed"}, "state"),
    ],
)
def test_bad_report_input_is_400_naming_the_field(api, people, frozen, changes, field):
    response = api(people.cs).post(LIST, {**GOOD_REPORT, **changes}, format="json")
    assert response.status_code == 400, response.data
    assert response.data["field"] == field
    assert response.data["detail"]
    assert not Incident.objects.exists()


def test_text_that_is_not_valid_unicode_is_400(api, people):
    # Valid JSON, but a lone surrogate cannot be stored.
    body = '{"title": "Lone \\ud800 surrogate", "severity": "high"}'
    response = api(people.cs).post(LIST, body, content_type="application/json")
    assert response.status_code == 400
    assert response.data["field"] == "title"
    note = api(people.cs).post(url(report(people), "notes"), '{"text": "\\udfff"}', content_type="application/json")
    assert note.status_code == 400 and note.data["field"] == "text"
    # Messages that echo the input back must not choke on it either.
    echoed = api(people.cs).post(LIST, '{"title": "T", "injuries": "\\ud800"}', content_type="application/json")
    assert echoed.status_code == 400 and echoed.data["field"] == "injuries"


def test_report_without_a_title_is_400(api, people):
    response = api(people.cs).post(LIST, {"severity": "high"}, format="json")
    assert response.status_code == 400
    assert response.data["field"] == "title"
    assert response.data["errors"] == {"title": ["This field is required."]}


def test_naive_outbreak_time_is_refused_with_the_use_case_message(api, people, frozen):
    response = api(people.cs).post(LIST, {**GOOD_REPORT, "detected_at": "2026-03-02T08:00:00"}, format="json")
    assert response.status_code == 400
    assert response.data["detail"] == "Outbreak time: give the date and time with its time zone."
    assert response.data["field"] == "detected_at"


@pytest.mark.parametrize(
    "body",
    ["{not json", "[1, 2]", '"just a string"', "null"],
)
def test_malformed_bodies_are_400_not_500(api, people, body):
    incident = report(people)
    client = api(people.commander)
    for path in (LIST, url(incident, "steps", "confirm"), url(incident, "notes"), url(incident, "team")):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 400, (path, body, response.data)
        assert "detail" in response.data
    assert client.patch(url(incident), body, content_type="application/json").status_code == 400


def test_dismiss_needs_a_reason(api, people):
    incident = report(people)
    boss = api(people.commander)
    response = boss.post(url(incident, "steps", "dismiss"), {"reason": "   "}, format="json")
    assert response.status_code == 400
    assert response.data == {"detail": "A reason is required.", "field": "reason"}

    dismissed = boss.post(url(incident, "steps", "dismiss"), {"reason": "A prank"}, format="json")
    assert dismissed.status_code == 200
    assert dismissed.data["state"] == State.DISMISSED
    assert dismissed.data["dismiss_reason"] == "A prank"
    assert dismissed.data["next_steps"] == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (("steps", "teleport"), {}, "step"),
        (("steps", "confirm"), {"severity": "huge"}, "severity"),
        (("steps", "confirm"), {"expected_version": -1}, "expected_version"),
        (("steps", "confirm"), {"expected_version": "latest"}, "expected_version"),
        (("severity",), {"reason": "why not"}, "severity"),
        (("severity",), {"severity": "critical"}, "reason"),
        (("severity",), {"severity": "extreme", "reason": "r"}, "severity"),
        (("notes",), {}, "text"),
        (("notes",), {"text": "  "}, "text"),
        (("team",), {"user": 987654, "role": "pr"}, "user"),
        (("team",), {"user": "abc", "role": "pr"}, "user"),
        (("team",), {"role": "pr"}, "user"),
        (("team",), {"user": "__OUTSIDER__", "role": "juggler"}, "role"),
    ],
)
def test_bad_input_on_an_incident_is_400_naming_the_field(api, people, path, body, field):
    incident = report(people)
    if body.get("user") == "__OUTSIDER__":
        body = {**body, "user": people.outsider.pk}
    response = api(people.commander).post(url(incident, *path), body, format="json")
    assert response.status_code == 400, response.data
    assert response.data["field"] == field
    assert Incident.objects.get(pk=incident.pk).version == incident.version


def test_patch_refuses_fields_outside_the_scope(api, people):
    incident = walk_to(people, report(people), State.CONFIRMED)
    boss = api(people.commander)
    response = boss.patch(url(incident), {"severity": "low", "title": "T"}, format="json")
    assert response.status_code == 400
    assert response.data["field"] == "severity"
    assert response.data["detail"] == "“severity” cannot be changed here."
    assert boss.patch(url(incident), {"affected_users": -1}, format="json").data["field"] == "affected_users"
    odd = boss.patch(url(incident), '{"\\ud800": 1}', content_type="application/json")
    assert odd.status_code == 400 and odd.data["field"] == "\\ud800"


def test_unknown_ids_in_the_path_are_404(api, people):
    client = api(people.commander)
    for path in ("/api/tasks/999999/", "/api/tasks/999999/start/", f"/api/tasks/{2**70}/start/"):
        response = client.get(path) if path.count("/") == 4 else client.post(path, {}, format="json")
        assert response.status_code == 404, path
    assert client.delete(f"/api/team-members/{2**70}/").status_code == 404


# --- the other incident endpoints ----------------------------------------------------------------------


def test_severity_scope_notes_and_team_changes(api, people, plan, frozen):
    incident = walk_to(people, report(people, detected_at=T0 - timedelta(hours=1)), State.PLAN_ACTIVATED)
    boss = api(people.commander)

    raised = boss.post(
        url(incident, "severity"),
        {"severity": "critical", "reason": "Now on national TV", "expected_version": incident.version},
        format="json",
    )
    assert raised.status_code == 200, raised.data
    assert raised.data["severity"] == "critical"
    # Critical has the plan's shorter clock: two hours from the outbreak.
    assert raised.data["statement_due_at"] == iso(T0 + timedelta(hours=1))

    patched = boss.patch(
        url(incident),
        {
            "affected_users": 50000,
            "regulator_involved": True,
            "regions": ["Beijing"],
            "expected_version": raised.data["version"],
        },
        format="json",
    )
    assert patched.status_code == 200, patched.data
    assert patched.data["affected_users"] == 50000
    assert patched.data["regulator_involved"] is True
    assert patched.data["regions"] == ["Beijing"]
    assert patched.data["version"] == raised.data["version"] + 1

    note = api(people.cs).post(url(incident, "notes"), {"text": "Users report double charges"}, format="json")
    assert note.status_code == 201
    assert note.data["kind"] == "note" and note.data["text"] == "Users report double charges"
    assert note.data["actor"] == {"id": people.cs.pk, "name": "Cs"}
    refused = api(people.outsider).post(url(incident, "notes"), {"text": "Me too"}, format="json")
    assert refused.status_code == 403
    assert refused.data["detail"] == "Only the team can post notes."

    added = boss.post(url(incident, "team"), {"user": people.pr_member.pk, "role": "pr", "lead": True}, format="json")
    assert added.status_code == 201, added.data
    pr = [m for m in added.data["team"] if m["role"] == "pr"]
    assert [(m["user"], m["is_lead"]) for m in pr] == [(people.pr_member.pk, True)]
    again = boss.post(url(incident, "team"), {"user": people.pr_member.pk, "role": "pr"}, format="json")
    assert again.status_code == 400 and again.data["field"] == "user"

    member = pr[0]["id"]
    removed = boss.delete(f"/api/team-members/{member}/?expected_version={added.data['version']}")
    assert removed.status_code == 200, removed.data
    assert all(m["id"] != member for m in removed.data["team"])
    stale = boss.delete(f"/api/team-members/{member}/")
    assert stale.status_code == 404

    commander_row = next(m for m in removed.data["team"] if m["role"] == "commander")
    leaving = boss.delete(f"/api/team-members/{commander_row['id']}/", {}, format="json")
    assert leaving.status_code == 400
    assert leaving.data == {"detail": "Hand over command before leaving the commander role.", "field": "user"}


def test_the_timeline_is_a_hash_chain_in_order(api, people, plan):
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    actions.add_note(people.commander, incident, "Statement drafted")
    events = api(people.pr_lead).get(url(incident, "timeline")).data
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["prev_hash"] == "0" * 64
    for before, after in zip(events, events[1:], strict=False):
        assert after["prev_hash"] == before["hash"]
    assert events[0]["text"] == "Reported “Payments down in East China”"
    assert events[0]["actor"]["id"] == people.cs.pk
    assert events[1]["text"] == "Reported → Confirmed"
    assert events[-1]["kind"] == "note" and events[-1]["text"] == "Statement drafted"
    stored = list(Event.objects.filter(incident=incident).order_by("seq").values_list("hash", flat=True))
    assert [e["hash"] for e in events] == stored


def test_nothing_changes_by_get_or_by_a_wrong_method(api, people):
    incident = report(people)
    client = api(people.commander)
    assert client.put(url(incident), {"title": "x"}, format="json").status_code == 405
    assert client.get(url(incident, "steps", "confirm")).status_code == 405
    assert client.delete(url(incident)).status_code == 405
    assert Incident.objects.get(pk=incident.pk).version == 0


def test_a_duty_commander_can_be_named_when_reporting(api, people):
    named = api(people.cs).post(LIST, {**GOOD_REPORT, "commander": people.commander.pk}, format="json")
    assert named.status_code == 201, named.data
    assert named.data["commander"]["id"] == people.commander.pk
    assert [(m["role"], m["user"]) for m in named.data["team"]] == [("commander", people.commander.pk)]

    refused = api(people.cs).post(LIST, {**GOOD_REPORT, "commander": people.pr_lead.pk}, format="json")
    assert refused.status_code == 400
    assert refused.data == {"detail": "Prlead is not on the commander roster.", "field": "commander"}
