"""The approval panel and publish form in the editor, and the same through the API: who
may request, approve, reject and publish (a matrix of the personas), refusals beside
their field, and a restricted incident that does not exist for outsiders."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from crisisflow.incidents.models import Incident
from crisisflow.statements import approvals
from crisisflow.statements.models import Approval, Publication, Statement, StatementState
from tests.conftest import T0
from tests.statements import team_incident
from tests.statements_helpers import approve_all, with_lint_errors, write

pytestmark = pytest.mark.django_db

PERSONAS = ("commander", "pr_lead", "legal", "cs", "executive", "observer", "outsider")


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        return team_incident(people)


@pytest.fixture
def holding(people, incident):
    return write(people.pr_lead, incident)


def editor(incident, statement) -> str:
    return reverse("statements:edit", args=[incident.reference, statement.pk])


def post(browse, user, name, incident, statement, **data):
    statement.refresh_from_db()
    data.setdefault("version", statement.version)
    return browse(user).post(reverse(f"statements:{name}", args=[incident.reference, statement.pk]), data)


def in_review(people, statement) -> Statement:
    statement.refresh_from_db()
    return approvals.request_approval(people.pr_lead, statement, expected_version=statement.version)


# --- the matrix ----------------------------------------------------------------------------------

# Who may do what on the holding statement (everyone else: 403, or 404 where restricted).
MAY_REQUEST = {"commander", "pr_lead"}
MAY_APPROVE_AS_LEGAL = {"legal"}
MAY_PUBLISH = {"commander", "pr_lead"}


@pytest.mark.parametrize("restricted", [False, True])
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_request_approval(browse, people, plan, persona, restricted):
    incident = team_incident(people, restricted=restricted)
    statement = write(people.pr_lead, incident)
    response = post(browse, getattr(people, persona), "request", incident, statement)
    if persona in MAY_REQUEST:
        assert response.status_code == 302
        statement.refresh_from_db()
        assert statement.state == StatementState.IN_REVIEW
    else:
        assert response.status_code == (404 if restricted and persona == "outsider" else 403)


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_approve_as_legal(browse, people, incident, holding, persona):
    statement = in_review(people, holding)
    response = post(browse, getattr(people, persona), "approve", incident, statement, role="legal")
    if persona in MAY_APPROVE_AS_LEGAL:
        assert response.status_code == 302
        assert Approval.objects.get().person == people.legal
    else:
        assert response.status_code == 403  # the commander too: never in Legal's place
        assert not Approval.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_publish(browse, people, incident, holding, persona):
    statement = approve_all(people, holding)
    response = post(
        browse, getattr(people, persona), "publish", incident, statement, channel="website", location="https://x.test/1"
    )
    if persona in MAY_PUBLISH:
        assert response.status_code == 302
        assert Publication.objects.get().published_by == getattr(people, persona)
    else:
        assert response.status_code == 403
        assert not Publication.objects.exists()


# --- the panel ------------------------------------------------------------------------------------


def test_legal_sees_what_to_approve_and_approves_from_the_editor(browse, people, incident, holding):
    statement = in_review(people, holding)
    html = browse(people.legal).get(editor(incident, statement)).content.decode()
    assert "Approve as Legal" in html and "Reject as Legal" in html
    assert "Approve as PR" not in html  # not legal's to give
    response = post(browse, people.legal, "approve", incident, statement, role="legal")
    assert response.status_code == 302
    html = browse(people.pr_lead).get(editor(incident, statement)).content.decode()
    assert "Approve as PR" in html
    assert 'data-role="legal"' in html and "by Legal" in html


def test_the_edit_voids_approvals_and_the_panel_says_by_whom(browse, people, incident, holding):
    statement = approve_all(people, holding)
    client = browse(people.pr_lead)
    statement.refresh_from_db()
    client.post(
        editor(incident, statement),
        {"version": statement.version, "title": "", "body": statement.current.body + " More at 18:00."},
    )
    html = client.get(editor(incident, statement)).content.decode()
    assert "decision on version 1 was voided by Prlead’s edit" in html
    assert "Ask for approval" in html


def test_rejecting_without_a_reason_is_refused_beside_the_field(browse, people, incident, holding):
    statement = in_review(people, holding)
    response = post(browse, people.legal, "reject", incident, statement, role="legal", reason="")
    assert response.status_code == 400
    assert response.context["flow_form"].errors == {"reason": ["A reason is required."]}


def test_lint_errors_need_a_reason_to_approve(browse, people, incident, holding):
    statement = in_review(people, with_lint_errors(holding, 1))
    html = browse(people.legal).get(editor(incident, statement)).content.decode()
    assert "This version has 1 lint error." in html
    response = post(browse, people.legal, "approve", incident, statement, role="legal")
    assert response.status_code == 409
    assert "lint error" in response.content.decode()
    response = post(browse, people.legal, "approve", incident, statement, role="legal", override_reason="Checked")
    assert response.status_code == 302
    assert Approval.objects.get().overrode_lint


def test_a_stale_panel_is_refused_naming_who_changed_it(browse, people, incident, holding):
    statement = in_review(people, holding)
    stale = statement.version
    post(browse, people.legal, "approve", incident, statement, role="legal")
    response = browse(people.pr_lead).post(
        reverse("statements:approve", args=[incident.reference, statement.pk]), {"version": stale, "role": "pr"}
    )
    assert response.status_code == 409
    assert "changed by Legal" in response.content.decode()


def test_publishing_shows_where_and_the_golden_clock(browse, people, incident, holding):
    statement = approve_all(people, holding)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        response = post(browse, people.pr_lead, "publish", incident, statement, channel="weibo", location="weibo-4711")
        assert response.status_code == 302
        html = browse(people.pr_lead).get(editor(incident, statement)).content.decode()
    assert "weibo-4711" in html and "Golden clock" in html and "met, 2 h 0 min to spare" in html
    assert Incident.objects.get(pk=incident.pk).first_statement_at == T0 + timedelta(hours=2)


def test_the_editor_in_chinese(browse, people, incident, holding):
    statement = in_review(people, holding)
    html = browse(people.legal, "zh-hans").get(editor(incident, statement)).content.decode()
    assert "审批" in html


# --- the API ----------------------------------------------------------------------------------------


def test_the_api_walks_the_whole_way(api, people, incident, holding):
    base = f"/api/statements/{holding.pk}/"
    pr, legal = api(people.pr_lead), api(people.legal)
    status = pr.get(base + "approvals/").json()
    assert status["state"] == "draft" and status["required_roles"] == ["pr", "legal"]
    status = pr.post(base + "request-approval/", {"expected_version": status["version"]}, format="json").json()
    assert status["state"] == "in_review"
    assert [s["id"] for s in legal.get("/api/statements/waiting-for-me/").json()] == [holding.pk]
    refused = api(people.commander).post(
        base + "approve/", {"role": "legal", "expected_version": status["version"]}, format="json"
    )
    assert refused.status_code == 403
    status = legal.post(base + "approve/", {"role": "legal", "expected_version": status["version"]}, format="json")
    status = status.json()
    assert status["roles"][1]["state"] == "approved" and status["roles"][1]["decision"]["person"] == "Legal"
    status = pr.post(base + "approve/", {"role": "pr", "expected_version": status["version"]}, format="json").json()
    assert status["approved"] is True and status["state"] == "approved"
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        status = pr.post(
            base + "publish/",
            {"channel": "website", "location": "https://example.com/n", "expected_version": status["version"]},
            format="json",
        ).json()
    assert status["state"] == "published"
    assert status["publications"][0]["channel"] == "website"
    assert status["golden_clock"] == {"state": "met", "due_at": "2026-03-02T13:00:00Z", "margin_seconds": 3600}


def test_api_refusals_name_the_field(api, people, incident, holding):
    base = f"/api/statements/{holding.pk}/"
    statement = in_review(people, holding)
    legal = api(people.legal)
    answer = legal.post(
        base + "reject/", {"role": "legal", "reason": "", "expected_version": statement.version}, format="json"
    )
    assert answer.status_code == 400 and answer.json()["field"] == "reason"
    answer = legal.post(base + "approve/", {"role": "legal"}, format="json")
    assert answer.status_code == 400 and answer.json()["field"] == "expected_version"
    answer = legal.post(base + "approve/", {"role": "legal", "expected_version": 0}, format="json")
    assert answer.status_code == 409
    answer = api(people.pr_lead).post(
        base + "publish/", {"channel": "sms", "expected_version": statement.version}, format="json"
    )
    assert answer.status_code in (400, 409)


def test_a_restricted_statement_does_not_exist_for_outsiders(api, people, plan):
    incident = team_incident(people, restricted=True)
    statement = write(people.pr_lead, incident)
    assert api(people.outsider).get(f"/api/statements/{statement.pk}/approvals/").status_code == 404
    assert api(people.observer).get(f"/api/statements/{statement.pk}/approvals/").status_code == 200
