"""The golden clock runs from the first report, whatever the stage; an unconfirmed
report has a triage deadline; the outbreak time can be corrected; the clock, the
playbook and the statement task agree; the result says met or missed by how much."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crisisflow.alerts.models import Notification
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents import actions, golden_clock
from crisisflow.incidents.errors import Blocked, Forbidden, Invalid
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describe
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import finish_gating, walk_to
from tests.statements_helpers import approve_all, publish_approved, write

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return sweep()


def told(incident, kind_prefix: str) -> list[tuple[str, str]]:
    rows = Notification.objects.filter(incident=incident, channel="in_app", kind__startswith=kind_prefix)
    return sorted((n.rung, n.recipient.username) for n in rows)


def reported(people, **fields) -> Incident:
    values = {"title": "Leak rumour on Weibo", "crisis_type": "service_outage", "severity": "critical"}
    values.update(fields)
    with time_machine.travel(T0, tick=False):
        return actions.report_incident(people.cs, detected_at=T0, **values)


def test_a_critical_report_left_unconfirmed_runs_its_golden_clock(people, plan):
    incident = reported(people)
    assert incident.statement_due_at == T0 + 4 * H  # the default clock, before any plan
    sweep_at(T0 + 2 * H)
    # No commander yet: the duty commanders hear of it, with the PR and legal leads on the rosters.
    assert told(incident, "clock") == [("left_7200s", "commander"), ("left_7200s", "legal"), ("left_7200s", "prlead")]
    sweep_at(T0 + 4 * H)
    assert ("expired", "commander") in told(incident, "clock")
    assert ("expired", "exec") in told(incident, "clock")


def test_a_report_without_a_clock_severity_starts_one_when_raised(people, plan):
    incident = reported(people, severity="low")
    assert incident.statement_due_at is None and incident.clock_next_alert_at is None
    with time_machine.travel(T0 + H, tick=False):
        actions.confirm_incident(people.commander, incident.pk)
        incident = actions.change_severity(people.commander, incident.pk, "high", "trending on Weibo")
    assert incident.statement_due_at == T0 + 4 * H
    assert incident.clock_next_alert_at == T0 + 2 * H


def test_an_unconfirmed_report_reminds_the_duty_commanders_to_triage_it(people, plan):
    incident = reported(people, severity="medium")
    assert incident.triage_due_at == T0 + 30 * M
    sweep_at(T0 + 19 * M)
    assert told(incident, "triage") == []
    sweep_at(T0 + 20 * M)
    assert told(incident, "triage") == [("triage_left_600s", "commander")]
    sweep_at(T0 + 30 * M)
    assert ("triage_due", "commander") in told(incident, "triage")
    # Confirming is triage: nothing more about it.
    with time_machine.travel(T0 + 40 * M, tick=False):
        incident = actions.confirm_incident(people.commander, incident.pk)
    assert incident.triage_next_alert_at is None
    sweep_at(T0 + 3 * H)
    assert [rung for rung, _ in told(incident, "triage")] == ["triage_due", "triage_left_600s"]
    first = Event.objects.filter(incident=incident, kind=Event.Kind.ALERT).order_by("seq").first()
    assert describe(first) == "Waiting for triage: confirm or dismiss the report → Commander (in the app)"


def test_the_statement_task_takes_its_due_time_from_the_clock(people, plan):
    # The test plan runs a 2 h clock for critical incidents; its holding statement is
    # written as due 4 h after detection, which would be two hours after the clock ran out.
    incident = reported(people)
    with time_machine.travel(T0 + M, tick=False):
        incident = actions.confirm_incident(people.commander, incident.pk)
        incident = actions.activate_plan(people.commander, incident.pk)
    assert incident.statement_due_at == T0 + 2 * H
    assert incident.tasks.get(key="holding-statement").due_at == T0 + 2 * H
    assert incident.tasks.get(key="legal-review").due_at == T0 + 3 * H  # other tasks keep their own
    # Lowered to high, the plan's clock is 4 h again, and the task follows it.
    with time_machine.travel(T0 + 2 * M, tick=False):
        actions.change_severity(people.commander, incident.pk, "high", "contained")
    assert incident.tasks.get(key="holding-statement").due_at == T0 + 4 * H


@pytest.mark.parametrize(
    ("published_after", "state", "margin"),
    [(3 * H + 20 * M, "met", 40 * M), (4 * H + 35 * M, "missed", 35 * M)],
)
def test_the_result_says_met_or_missed_by_how_much(people, plan, published_after, state, margin):
    incident = reported(people, severity="high")
    with time_machine.travel(T0 + M, tick=False):
        incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
        statement = approve_all(people, write(people.pr_lead, incident))
    with time_machine.travel(T0 + published_after, tick=False):
        publish_approved(people, statement)  # the first public statement goes out
    with time_machine.travel(T0 + published_after + H, tick=False):
        finish_gating(people, incident, State.INFO_PUBLISHED)
        incident = actions.publish_information(people.commander, incident.pk)
    result = golden_clock.outcome(incident, T0 + 10 * H)
    assert (result.state, result.margin) == (state, margin)
    assert incident.clock_next_alert_at is None


def test_the_running_clock_says_how_much_is_left_and_then_how_late(people, plan):
    incident = reported(people, severity="high")
    assert golden_clock.outcome(incident, T0 + H) == golden_clock.Outcome("running", T0 + 4 * H, 3 * H)
    assert golden_clock.outcome(incident, T0 + 5 * H).state == "missed"
    assert golden_clock.outcome(incident, T0 + 5 * H).margin == H


def test_the_commander_corrects_the_outbreak_time_and_every_deadline_moves(people, plan):
    incident = reported(people, severity="high")
    with time_machine.travel(T0 + M, tick=False):
        incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
    legal = incident.tasks.get(key="legal-review")
    assert legal.due_at == T0 + 3 * H
    # The outbreak was an hour earlier than reported (a phone in another time zone).
    with time_machine.travel(T0 + 10 * M, tick=False):
        with pytest.raises(Forbidden):
            actions.correct_outbreak_time(people.pr_lead, incident.pk, T0 - H, "wrong zone")
        with pytest.raises(Invalid, match="reason is required"):
            actions.correct_outbreak_time(people.commander, incident.pk, T0 - H, "")
        with pytest.raises(Invalid, match="in the future") as future:
            actions.correct_outbreak_time(people.commander, incident.pk, T0 + 2 * H, "later")
        assert future.value.field == "detected_at"
        incident = actions.correct_outbreak_time(
            people.commander, incident.pk, T0 - H, "the first post was at 08:00 UTC", expected_version=incident.version
        )
    assert incident.detected_at == T0 - H
    assert incident.statement_due_at == T0 + 3 * H
    assert incident.tasks.get(key="legal-review").due_at == T0 + 2 * H
    assert incident.tasks.get(key="holding-statement").due_at == T0 + 3 * H
    event = Event.objects.filter(incident=incident).order_by("-seq").first()
    assert event.kind == Event.Kind.FACTS
    assert event.data["reason"] == "the first post was at 08:00 UTC"
    assert event.data["changes"]["detected_at"]["before"] == T0.isoformat()


def test_the_statements_app_defines_the_first_statement_instead_of_the_publish_step(people, plan):
    # The statements app says when the first statement went out (its ready()).
    assert not golden_clock.publish_step_is_first_statement()
    incident = reported(people, severity="high")
    with time_machine.travel(T0 + M, tick=False):
        incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
        finish_gating(people, incident, State.INFO_PUBLISHED)
        with pytest.raises(Blocked):  # ticking every task is not a statement
            actions.publish_information(people.commander, incident.pk)
    incident.refresh_from_db()
    assert incident.first_statement_at is None
    assert incident.clock_next_alert_at is not None
    locked = Incident.objects.get(pk=incident.pk)
    assert golden_clock.statement_made(locked, T0 + 2 * H) is True
    assert golden_clock.statement_made(locked, T0 + 3 * H) is False  # only the first counts
    assert locked.first_statement_at == T0 + 2 * H and locked.clock_next_alert_at is None
