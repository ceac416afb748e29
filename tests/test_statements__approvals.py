"""Approvals bound to one version: who approves, voiding on edit, rejections, lint overrides, the queue."""

from __future__ import annotations

import pytest
import time_machine

from crisisflow.alerts.models import Notification
from crisisflow.incidents.errors import Blocked, Conflict, Forbidden, Invalid
from crisisflow.incidents.models import Event
from crisisflow.incidents.timeline import describe
from crisisflow.statements import approvals
from crisisflow.statements.models import Approval, StatementState
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to
from tests.statements_helpers import approve_all, edit, with_lint_errors, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        return walk_to(people, report(people), State.TEAM_ASSEMBLED)


@pytest.fixture
def holding(people, incident):
    with time_machine.travel(T0, tick=False):
        return write(people.pr_lead, incident)


def requested(people, statement):
    statement.refresh_from_db()
    return approvals.request_approval(people.pr_lead, statement, expected_version=statement.version)


def test_public_kinds_need_pr_and_legal_and_the_executive_on_critical(people, plan, holding):
    assert approvals.required_roles(holding) == ["pr", "legal"]
    holding.incident.severity = "critical"
    assert approvals.required_roles(holding) == ["pr", "legal", "executive"]


def test_internal_notice_needs_the_commander_and_regulator_notice_legal(people, incident):
    assert approvals.required_roles(write(people.commander, incident, "internal_notice")) == ["commander"]
    assert approvals.required_roles(write(people.legal, incident, "regulator_notice")) == ["legal"]


def test_a_playbook_declares_its_own_approvers(people, incident, holding):
    definition = holding.incident.playbook_version.definition
    definition["statements"] = {"approvals": {"holding_statement": ["pr", "legal", "commander"]}}
    assert approvals.required_roles(holding) == ["pr", "legal", "commander"]


def test_requesting_notifies_the_approvers_and_starts_the_deadline(people, holding):
    with time_machine.travel(T0, tick=False):
        statement = requested(people, holding)
    assert statement.state == StatementState.IN_REVIEW
    assert statement.approval_due_at == T0 + approvals.approval_window(statement)
    assert (statement.approval_due_at - T0).total_seconds() == 30 * 60  # holding statement default
    told = set(Notification.objects.filter(kind="approval_requested").values_list("recipient__username", flat=True))
    assert told == {"prlead", "legal"}
    event = Event.objects.filter(kind=approvals.REQUESTED).get()
    assert "requested from PR, Legal" in describe(event)


def test_approval_records_who_role_when_and_the_hash(people, holding):
    statement = requested(people, holding)
    with time_machine.travel(T0, tick=False):
        approval = approvals.approve(people.legal, statement, role="legal", expected_version=statement.version)
    assert (approval.person, approval.role, approval.at) == (people.legal, "legal", T0)
    assert approval.content_hash == statement.current.content_hash
    statement.refresh_from_db()
    assert statement.state == StatementState.IN_REVIEW  # PR still to approve
    approvals.approve(people.pr_lead, statement, role="pr", expected_version=statement.version)
    statement.refresh_from_db()
    assert statement.state == StatementState.APPROVED
    assert approvals.is_approved(statement)
    assert statement.approval_next_alert_at is None


def test_only_a_person_holding_the_role_approves_it_not_even_the_commander(people, holding):
    statement = requested(people, holding)
    for person in (people.commander, people.pr_lead, people.outsider):
        with pytest.raises(Forbidden):
            approvals.approve(person, statement, role="legal", expected_version=statement.version)
    with pytest.raises(Invalid) as err:
        approvals.approve(people.commander, statement, role="commander", expected_version=statement.version)
    assert err.value.field == "role"


def test_an_edit_voids_the_approvals_of_the_old_version(people, holding):
    statement = approve_all(people, holding)
    assert statement.state == StatementState.APPROVED
    edit(people.pr_lead, statement, statement.current.body + " Updates follow at 18:00.")
    statement.refresh_from_db()
    assert statement.state == StatementState.DRAFT
    assert not approvals.is_approved(statement)
    voided = Approval.objects.filter(voided_at__isnull=False)
    assert voided.count() == 2 and {a.voided_by for a in voided} == {people.pr_lead}
    status = {s.role: s for s in approvals.role_status(statement)}
    assert status["legal"].state == "waiting" and status["legal"].voided[0].person == people.legal
    event = Event.objects.filter(kind=approvals.VOIDED).get()
    assert "Prlead edited" in describe(event) and "Legal" in describe(event)


def test_rejecting_needs_a_reason_and_sends_it_back_to_draft(people, holding):
    statement = requested(people, holding)
    with pytest.raises(Invalid) as err:
        approvals.reject(people.legal, statement, role="legal", reason="  ", expected_version=statement.version)
    assert err.value.field == "reason"
    approvals.reject(
        people.legal, statement, role="legal", reason="Do not admit liability", expected_version=statement.version
    )
    statement.refresh_from_db()
    assert statement.state == StatementState.DRAFT and statement.approval_next_alert_at is None
    assert "Do not admit liability" in describe(Event.objects.filter(kind=approvals.REJECTED).get())


def test_lint_errors_block_approval_unless_overridden_with_a_reason(people, incident):
    statement = with_lint_errors(write(people.pr_lead, incident), 2)
    statement = requested(people, statement)
    with pytest.raises(Blocked) as err:
        approvals.approve(people.legal, statement, role="legal", expected_version=statement.version)
    assert "2 lint error" in str(err.value)
    approval = approvals.approve(
        people.legal,
        statement,
        role="legal",
        expected_version=statement.version,
        override_reason="The figure is confirmed by tech",
    )
    assert approval.overrode_lint and approval.reason == "The figure is confirmed by tech"
    event = Event.objects.filter(kind=approvals.OVERRIDDEN).get()
    assert "despite 2 lint error(s): The figure is confirmed by tech" in describe(event)


def test_a_stale_form_is_refused_naming_who_changed_it(people, holding):
    statement = requested(people, holding)
    stale = statement.version
    approvals.approve(people.legal, statement, role="legal", expected_version=stale)
    with pytest.raises(Conflict) as err:
        approvals.approve(people.pr_lead, statement, role="pr", expected_version=stale)
    assert "Legal" in str(err.value)


def test_waiting_for_my_approval(people, holding):
    assert list(approvals.waiting_for(people.legal)) == []
    statement = requested(people, holding)
    assert list(approvals.waiting_for(people.legal)) == [statement]
    assert list(approvals.waiting_for(people.pr_lead)) == [statement]
    assert list(approvals.waiting_for(people.outsider)) == []
    approvals.approve(people.legal, statement, role="legal", expected_version=statement.version)
    assert list(approvals.waiting_for(people.legal)) == []
    assert list(approvals.waiting_for(people.pr_lead)) == [statement]


def test_the_queue_is_on_the_dashboard_and_my_tasks(browse, people, holding):
    client = browse(people.legal)
    assert "Waiting for my approval" not in client.get("/").content.decode()
    statement = requested(people, holding)
    for page in ("/", "/my/tasks/"):
        html = client.get(page).content.decode()
        assert "Waiting for my approval" in html and f"/statements/{statement.pk}/#approval" in html
    assert "Waiting for my approval" not in browse(people.cs).get("/").content.decode()


def test_the_commander_waits_only_for_the_commanders_approval(people, incident):
    notice = write(people.commander, incident, "internal_notice")
    notice = approvals.request_approval(people.commander, notice, expected_version=notice.version)
    holding = requested(people, write(people.pr_lead, incident))
    assert list(approvals.waiting_for(people.commander)) == [notice]
    assert holding not in approvals.waiting_for(people.commander)
