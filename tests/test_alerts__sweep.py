"""The deadline sweep under frozen time: every rung of the ladder fires once, to the
right people, at the right moment; the golden clock warns and stops; changes reschedule."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from crisisflow.alerts.models import Notification
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents import actions
from crisisflow.incidents.models import Task
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def incident(people, plan):
    """Detected, confirmed, activated and assembled at T0; high severity (4 h clock).
    exec-letter (PR, due activation + 6 h) goes to prlead, the PR lead."""
    people.executive.email = ""
    people.executive.save()
    with time_machine.travel(T0, tick=False):
        return walk_to(people, report(people), State.TEAM_ASSEMBLED)


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return sweep()


def alerts(incident, **filters):
    """(rung, recipient username) of the in-app notifications written so far."""
    rows = Notification.objects.filter(incident=incident, channel="in_app", **filters).exclude(kind="digest")
    rows = rows.order_by("id")
    return [(n.rung, n.recipient.username) for n in rows]


def task_alerts(incident, key):
    return alerts(incident, task__key=key)


def test_every_rung_of_a_task_fires_once_at_its_moment(incident, people):
    key = "exec-letter"
    assert sweep_at(T0 + 3 * H - M).fired == [] or task_alerts(incident, key) == []
    sweep_at(T0 + 3 * H)
    assert task_alerts(incident, key) == [("half_window", "prlead")]
    sweep_at(T0 + 3 * H + 5 * M)  # nothing new: the rung moved on
    assert task_alerts(incident, key) == [("half_window", "prlead")]
    sweep_at(T0 + 6 * H - 15 * M)
    sweep_at(T0 + 6 * H)
    sweep_at(T0 + 6 * H + 30 * M)
    sweep_at(T0 + 8 * H)
    assert task_alerts(incident, key) == [
        ("half_window", "prlead"),
        ("before_900s", "prlead"),
        ("due", "prlead"),  # assignee and PR lead are the same person: told once
        ("after_1800s_commander", "commander"),
        ("after_7200s_executive", "exec"),  # no executive on the team: the roster's
    ]
    sweep_at(T0 + 48 * H)
    assert len(task_alerts(incident, key)) == 5
    assert Task.objects.get(incident=incident, key=key).next_alert_at is None


def test_each_sent_alert_is_on_the_timeline(incident, people):
    sweep_at(T0 + 3 * H)
    sweep_at(T0 + 6 * H)  # late: the 15-minute reminder is stale, only "due" is said
    events = [e for e in incident.events.filter(kind="alert", task__key="exec-letter").order_by("seq")]
    assert [e.data["rung"] for e in events] == ["half_window", "due"]
    from crisisflow.incidents.timeline import describe

    assert describe(events[-1]) == "Due now: “Exec letter” → Prlead (in the app)"


def test_a_sweep_that_was_down_sends_the_escalations_it_missed_but_not_stale_reminders(incident):
    # Nobody swept for eight hours: the reminders are pointless now, each escalation is not.
    for _ in range(4):
        sweep_at(T0 + 8 * H)
    assert task_alerts(incident, "exec-letter") == [
        ("due", "prlead"),
        ("after_1800s_commander", "commander"),
        ("after_7200s_executive", "exec"),
    ]


def test_reassignment_restarts_the_ladder_for_the_new_owner(incident, people):
    task = Task.objects.get(incident=incident, key="exec-letter")
    actions.add_team_member(people.commander, incident, people.pr_member, "pr")
    with time_machine.travel(T0 + 1 * H, tick=False):
        actions.assign_task(people.commander, task, people.pr_member)
    sweep_at(T0 + 3 * H)  # the old half-window moment: nothing for anyone
    assert task_alerts(incident, "exec-letter") == []
    sweep_at(T0 + 3 * H + 30 * M)  # half of the new window (T0+1h .. T0+6h)
    sweep_at(T0 + 6 * H)
    assert task_alerts(incident, "exec-letter") == [
        ("half_window", "prmember"),
        ("due", "prmember"),
        ("due", "prlead"),  # the PR lead hears at due too
    ]


def test_an_unassigned_task_tells_the_role_lead_at_once(incident, people):
    task = Task.objects.get(incident=incident, key="exec-letter")
    with time_machine.travel(T0 + 1 * H, tick=False):
        actions.assign_task(people.commander, task, None)
    sweep_at(T0 + 1 * H)
    assert task_alerts(incident, "exec-letter") == [("unassigned", "prlead")]


def test_finishing_a_task_stops_its_ladder(incident, people):
    task = Task.objects.get(incident=incident, key="exec-letter")
    with time_machine.travel(T0 + 1 * H, tick=False):
        actions.start_task(people.pr_lead, task)
        actions.complete_task(people.pr_lead, task)
    sweep_at(T0 + 10 * H)
    assert task_alerts(incident, "exec-letter") == []


def test_a_task_whose_anchor_happens_late_starts_overdue_and_escalates(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.CONFIRMED)
    # Activated 5 h after detection: legal-review (detected + 3 h) is already 2 h late.
    with time_machine.travel(T0 + 5 * H, tick=False):
        actions.activate_plan(people.commander, incident)
    sweep_at(T0 + 5 * H)
    # No team yet: the due alert goes to the Legal primary on the roster; the
    # escalations already due fire in the same sweep, not one per sweep.
    assert task_alerts(incident, "legal-review") == [
        ("due", "legal"),
        ("after_1800s_commander", "commander"),
        ("after_7200s_executive", "exec"),
    ]


def test_golden_clock_warns_at_2h_1h_30m_and_escalates_at_expiry(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    for moment in (2 * H, 3 * H, 3 * H + 30 * M, 4 * H):
        sweep_at(T0 + moment)
    clock = alerts(incident, task__isnull=True)
    assert clock == [
        ("left_7200s", "prlead"),
        ("left_7200s", "legal"),
        ("left_7200s", "commander"),
        ("left_3600s", "prlead"),
        ("left_3600s", "legal"),
        ("left_3600s", "commander"),
        ("left_1800s", "prlead"),
        ("left_1800s", "legal"),
        ("left_1800s", "commander"),
        ("expired", "exec"),
        ("expired", "commander"),
    ]
    first = Notification.objects.filter(incident=incident, rung="left_7200s").first()
    assert first.payload["minutes_left"] == 120


def test_golden_clock_stops_when_the_first_statement_is_out(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    sweep_at(T0 + 2 * H)
    with time_machine.travel(T0 + 2 * H + 10 * M, tick=False):
        incident = walk_to(people, incident, State.INFO_PUBLISHED)
    assert incident.statement_met_clock() is True
    sweep_at(T0 + 5 * H)
    assert {rung for rung, _ in alerts(incident, task__isnull=True, kind__startswith="clock")} == {"left_7200s"}
    incident.refresh_from_db()
    assert incident.clock_next_alert_at is None


def test_severity_change_moves_the_golden_clock(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
        actions.change_severity(people.commander, incident, "critical", "trending nationwide")
    incident.refresh_from_db()
    assert incident.statement_due_at == T0 + 2 * H  # the plan's critical clock
    sweep_at(T0 + 1 * H)
    assert {rung for rung, _ in alerts(incident, task__isnull=True)} == {"left_3600s"}
    sweep_at(T0 + 2 * H)
    assert ("expired", "commander") in alerts(incident, task__isnull=True)


def test_dismissed_incidents_have_no_clock(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = report(people)
        actions.dismiss_incident(people.commander, incident, "rumour")
    sweep_at(T0 + 10 * H)
    assert not Notification.objects.filter(incident=incident).exists()


def test_people_who_turned_off_the_app_still_get_passed_deadlines_there(incident, people):
    people.pr_lead.alert_in_app = False
    people.pr_lead.alert_email = False
    people.pr_lead.save()
    sweep_at(T0 + 6 * H)
    # The half-window reminder was dropped for them; the due alert was not.
    assert task_alerts(incident, "exec-letter") == [("due", "prlead")]


def test_email_goes_to_people_with_an_address_who_want_it(incident, people):
    people.pr_lead.email = "prlead@example.com"
    people.pr_lead.save()
    sweep_at(T0 + 3 * H)
    rows = Notification.objects.filter(incident=incident, task__key="exec-letter").select_related("digest")
    # With the golden clock's warning in the same sweep, each channel's pair went as a digest.
    assert sorted((n.channel, (n.digest or n).state) for n in rows) == [("email", "pending"), ("in_app", "delivered")]


def test_sweep_deadlines_command_prints_what_it_claimed(incident):
    out = StringIO()
    with time_machine.travel(T0 + 3 * H, tick=False):
        call_command("sweep_deadlines", "--once", stdout=out)
    lines = out.getvalue().splitlines()
    assert (
        f"fired {incident.reference} task {Task.objects.get(incident=incident, key='exec-letter').pk} half_window"
        in lines
    )
    assert f"fired {incident.reference} golden clock left_3600s" in lines
    assert lines[-1].startswith("fired ")
    assert "rungs, wrote" in lines[-1]


def test_one_broken_row_does_not_stop_the_sweep(incident, monkeypatch):
    from crisisflow.alerts import sweep as sweep_module

    real = sweep_module.fire_task_rung
    broken = Task.objects.get(incident=incident, key="exec-letter").pk

    def flaky(task_id, *args):
        if task_id == broken:
            raise RuntimeError("disk full")
        return real(task_id, *args)

    monkeypatch.setattr(sweep_module, "fire_task_rung", flaky)
    report_ = sweep_at(T0 + 3 * H)
    assert report_.errors == [f"task {broken}: disk full"]
    assert any("golden clock" in line for line in report_.fired)
