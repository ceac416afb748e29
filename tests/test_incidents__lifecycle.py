"""An incident from report to close: stages, timestamps, the golden clock, due times."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crisisflow.incidents import actions
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.models import Event, Task
from crisisflow.vocab import State
from tests.conftest import T0, H
from tests.flows import finish, report, walk_to

pytestmark = pytest.mark.django_db


def due(incident, key):
    return Task.objects.get(incident=incident, key=key).due_at


def test_report_gives_a_yearly_reference_and_a_first_event(people, plan):
    with time_machine.travel(T0, tick=False):
        first = report(people)
        second = report(people, title="Second")
    assert first.reference == "CF-2026-0001"
    assert second.reference == "CF-2026-0002"
    assert first.state == State.REPORTED
    event = first.events.get()
    assert (event.kind, event.actor, event.at) == ("reported", people.cs, T0)
    assert event.data["title"] == "Payments down in East China"


def test_outbreak_time_may_be_in_the_past_but_not_the_future(people, plan):
    with time_machine.travel(T0, tick=False):
        past = report(people, detected_at=T0 - timedelta(days=2))
        assert past.detected_at == T0 - timedelta(days=2)
        with pytest.raises(Invalid) as err:
            report(people, detected_at=T0 + timedelta(hours=1))
    assert err.value.field == "detected_at"


def test_bad_report_input_names_the_field(people, plan):
    with pytest.raises(Invalid) as err:
        report(people, title="  ")
    assert err.value.field == "title"
    with pytest.raises(Invalid) as err:
        report(people, severity="apocalyptic")
    assert err.value.field == "severity"
    with pytest.raises(Invalid) as err:
        report(people, crisis_type="alien_invasion")
    assert err.value.field == "crisis_type"
    with pytest.raises(Invalid) as err:
        report(people, affected_users="many")
    assert err.value.field == "affected_users"


def test_activation_pins_the_plan_and_computes_due_times_from_anchors(people, plan):
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        incident = report(people)  # detected = reported = T0 - 1h
    with time_machine.travel(T0, tick=False):
        incident = actions.confirm_incident(people.commander, incident)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        incident = actions.activate_plan(people.commander, incident)

    assert incident.playbook_version == plan
    assert incident.confirmed_at == T0
    assert incident.plan_activated_at == T0 + timedelta(minutes=10)
    # The golden clock: 4 hours from the outbreak for a high-severity incident.
    assert incident.statement_due_at == T0 + timedelta(hours=3)
    keys = set(incident.tasks.values_list("key", flat=True))
    # regulator-notice needs regulator_involved, which this incident does not have.
    assert keys == {"legal-review", "holding-statement", "progress-update", "root-cause", "exec-letter", "follow-up"}
    assert due(incident, "legal-review") == T0 + timedelta(hours=2)  # detected + 3h
    assert due(incident, "holding-statement") == T0 + timedelta(hours=3)  # detected + 4h
    assert due(incident, "exec-letter") == T0 + timedelta(minutes=10, hours=6)  # activated + 6h
    # Anchors that have not happened yet leave the task without a due time.
    assert due(incident, "progress-update") is None
    assert due(incident, "root-cause") is None
    assert due(incident, "follow-up") is None
    holding = Task.objects.get(incident=incident, key="holding-statement")
    assert list(holding.depends_on.values_list("key", flat=True)) == ["legal-review"]
    assert holding.gates == State.INFO_PUBLISHED
    assert [i["text"] for i in holding.checklist_items()] == ["Apologise", "State the facts", "Announce actions"]


def test_conditions_select_tasks_by_severity_and_facts(people, plan):
    incident = report(people, severity="medium", regulator_involved=True)
    incident = walk_to(people, incident, State.PLAN_ACTIVATED)
    keys = set(incident.tasks.values_list("key", flat=True))
    assert "regulator-notice" in keys  # the fact holds
    assert "exec-letter" not in keys  # severity below high


def test_critical_incidents_run_on_the_shorter_clock(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = report(people, severity="critical")
        incident = walk_to(people, incident, State.PLAN_ACTIVATED)
    assert incident.statement_due_at == T0 + timedelta(hours=2)


def test_anchor_events_give_waiting_tasks_their_due_times(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.PLAN_ACTIVATED)
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
    assert due(incident, "root-cause") == T0 + timedelta(minutes=30, hours=48)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        incident = walk_to(people, incident, State.INFO_PUBLISHED)
    assert incident.first_statement_at == T0 + timedelta(hours=2)
    assert due(incident, "progress-update") == T0 + timedelta(hours=26)
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        finish(people, Task.objects.get(incident=incident, key="root-cause"))
    assert due(incident, "follow-up") == T0 + timedelta(hours=17)  # root-cause done + 12h


def test_first_statement_inside_the_golden_clock_is_recorded_as_met(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    with time_machine.travel(T0 + timedelta(hours=3, minutes=59), tick=False):
        incident = walk_to(people, incident, State.INFO_PUBLISHED)
    assert incident.statement_met_clock() is True
    assert incident.events.last().data["first_statement_met_clock"] is True


def test_first_statement_after_the_golden_clock_is_recorded_as_missed(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    with time_machine.travel(T0 + timedelta(hours=4, minutes=1), tick=False):
        incident = walk_to(people, incident, State.INFO_PUBLISHED)
    assert incident.statement_met_clock() is False


def test_severity_change_is_logged_with_reason_and_moves_the_clock(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.PLAN_ACTIVATED)
        assert incident.statement_due_at == T0 + 4 * timedelta(seconds=H)
        with pytest.raises(Invalid) as err:
            actions.change_severity(people.commander, incident, "critical", "")
        assert err.value.field == "reason"
        incident = actions.change_severity(people.commander, incident, "critical", "spreading to Weibo hot search")
    assert incident.severity == "critical"
    assert incident.statement_due_at == T0 + timedelta(hours=2)
    event = incident.events.last()
    assert (event.kind, event.data) == (
        "severity",
        {"before": "high", "after": "critical", "reason": "spreading to Weibo hot search"},
    )


def test_closed_incident_walk_leaves_one_event_per_change_and_an_intact_chain(people, plan):
    incident = walk_to(people, report(people), State.CLOSED)
    assert incident.closed_at is not None
    kinds = list(incident.events.values_list("kind", flat=True))
    transitions = [e.data["to"] for e in incident.events.filter(kind=Event.Kind.TRANSITION)]
    assert transitions == [
        "confirmed",
        "plan_activated",
        "team_assembled",
        "info_published",
        "remediating",
        "in_review",
        "closed",
    ]
    assert kinds[0] == "reported"
    seqs = list(incident.events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_reopen_from_review_needs_a_reason(people, plan):
    incident = walk_to(people, report(people), State.IN_REVIEW)
    with pytest.raises(Invalid) as err:
        actions.reopen_incident(people.commander, incident, "   ")
    assert err.value.field == "reason"
    incident = actions.reopen_incident(people.commander, incident, "compensation complaints keep coming")
    assert incident.state == State.REMEDIATING
    assert incident.events.last().data["reason"] == "compensation complaints keep coming"


def test_dismissal_needs_a_reason_and_is_final(people, plan):
    incident = report(people)
    with pytest.raises(Invalid):
        actions.dismiss_incident(people.commander, incident, "")
    incident = actions.dismiss_incident(people.commander, incident, "a competitor's rumour, already deleted")
    assert incident.state == State.DISMISSED
    assert incident.dismiss_reason == "a competitor's rumour, already deleted"
    assert not incident.is_open


@pytest.mark.parametrize("bad", ["\x00", "Weibo\x00post", "\ud800"])
def test_text_no_database_can_store_is_refused_with_the_field(people, plan, bad):
    with pytest.raises(Invalid) as err:
        report(people, title=bad)
    assert err.value.field == "title"
    incident = report(people)
    with pytest.raises(Invalid) as err:
        actions.add_note(people.cs, incident, bad)
    assert err.value.field == "text"
    assert incident.events.count() == 1
