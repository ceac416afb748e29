"""The approval deadline on the sweep: a reminder to the approvers, then the role lead,
then the commander; it stops once decided or edited, and a failing rung backs off."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crisisflow.alerts.models import Notification
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents.models import Event
from crisisflow.incidents.timeline import describe
from crisisflow.statements import approvals, deadlines
from crisisflow.statements.models import Statement
from crisisflow.vocab import State
from tests.conftest import SMALL_PLAN, T0, install_plan
from tests.flows import report, walk_to
from tests.statements_helpers import edit, write

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


def told(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind, channel="in_app").values_list("recipient__username", flat=True))


@pytest.fixture
def in_review(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people, detected_at=T0), State.TEAM_ASSEMBLED)
        statement = write(people.pr_lead, incident)
        return approvals.request_approval(people.pr_lead, statement, expected_version=statement.version)


def test_reminder_then_role_lead_then_commander(people, in_review):
    approvals.approve(people.pr_lead, in_review, role="pr", expected_version=in_review.version)
    with time_machine.travel(T0 + 29 * M, tick=False):
        sweep()
    assert not told("approval_due")
    with time_machine.travel(T0 + 30 * M, tick=False):
        report_ = sweep()
    assert any("approval_due" in line for line in report_.fired)
    assert told("approval_due") == {"legal"}  # PR approved already: only legal is waited for
    with time_machine.travel(T0 + 45 * M, tick=False):
        sweep()
    assert told("approval_overdue") == {"legal"}  # the legal lead
    with time_machine.travel(T0 + 60 * M, tick=False):
        sweep()
    assert told("approval_overdue") == {"legal", "commander"}
    lines = [describe(e) for e in Event.objects.filter(kind=deadlines.ALERT_EVENT).order_by("seq")]
    assert lines[0].startswith("Approval due: Holding statement")
    with time_machine.travel(T0 + 120 * M, tick=False):
        assert not [line for line in sweep().fired if "statement" in line]  # the ladder is over


def test_a_decision_or_an_edit_stops_the_ladder(people, in_review):
    edit(people.pr_lead, in_review, "A new text.")
    with time_machine.travel(T0 + 90 * M, tick=False):
        sweep()
    assert not told("approval_due") and not told("approval_overdue")


def test_the_playbook_sets_the_deadline_per_kind(people, plan):
    install_plan({**SMALL_PLAN, "statements": {"approval_deadlines": {"holding_statement": 10 * 60}}})
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people, detected_at=T0), State.TEAM_ASSEMBLED)
        statement = write(people.pr_lead, incident)
        statement = approvals.request_approval(people.pr_lead, statement, expected_version=statement.version)
    assert statement.approval_due_at == T0 + 10 * M
    with time_machine.travel(T0 + 10 * M, tick=False):
        sweep()
    assert told("approval_due") == {"prlead", "legal"}


def test_a_failing_rung_backs_off(people, in_review, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("mail template broken")

    monkeypatch.setattr(deadlines, "notify", broken)
    with time_machine.travel(T0 + 30 * M, tick=False):
        report_ = sweep()
    assert any("mail template broken" in e for e in report_.errors)
    statement = Statement.objects.get(pk=in_review.pk)
    assert statement.approval_next_alert_at == T0 + 31 * M and statement.approval_failures == 1
