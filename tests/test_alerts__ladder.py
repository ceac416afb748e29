"""The escalation ladders as pure functions: every rung, and where a rebuilt ladder starts."""

from __future__ import annotations

from datetime import timedelta

from crisisflow.alerts.ladder import Kind, clock_rungs, first_step, task_rungs
from tests.conftest import T0

H = timedelta(hours=1)
M = timedelta(minutes=1)


def names(rungs):
    return [(r.name, r.at - T0, r.kind, r.audience) for r in rungs]


def test_default_task_ladder_has_every_rung_in_time_order():
    rungs = task_rungs(due_at=T0 + 6 * H, window_start=T0)
    assert names(rungs) == [
        ("half_window", 3 * H, Kind.REMINDER, ("assignee",)),
        ("before_900s", 6 * H - 15 * M, Kind.REMINDER, ("assignee",)),
        ("due", 6 * H, Kind.DUE, ("assignee", "role_lead")),
        ("after_1800s_commander", 6 * H + 30 * M, Kind.ESCALATION, ("commander",)),
        ("after_7200s_executive", 8 * H, Kind.ESCALATION, ("executive",)),
    ]


def test_unassigned_task_tells_the_role_lead_at_once():
    rungs = task_rungs(due_at=T0 + 6 * H, window_start=T0, unassigned=True)
    assert names(rungs)[0] == ("unassigned", timedelta(0), Kind.UNASSIGNED, ("role_lead",))


def test_short_window_drops_reminders_that_would_come_before_it_started():
    rungs = task_rungs(due_at=T0 + 10 * M, window_start=T0)
    assert [r.name for r in rungs] == ["half_window", "due", "after_1800s_commander", "after_7200s_executive"]


def test_a_playbook_task_can_override_the_ladder():
    ladder = {"remind_at_half": False, "remind_before": [2 * 3600, 1800], "escalate_after": {"commander": 900}}
    rungs = task_rungs(due_at=T0 + 4 * H, window_start=T0, ladder=ladder)
    assert [(r.name, r.at - T0) for r in rungs] == [
        ("before_7200s", 2 * H),
        ("before_1800s", 3 * H + 30 * M),
        ("due", 4 * H),
        ("after_900s_commander", 4 * H + 15 * M),
    ]


def test_golden_clock_ladder():
    rungs = clock_rungs(T0 + 4 * H)
    assert names(rungs) == [
        ("left_7200s", 2 * H, Kind.CLOCK_WARNING, ("pr_lead", "legal_lead", "commander")),
        ("left_3600s", 3 * H, Kind.CLOCK_WARNING, ("pr_lead", "legal_lead", "commander")),
        ("left_1800s", 3 * H + 30 * M, Kind.CLOCK_WARNING, ("pr_lead", "legal_lead", "commander")),
        ("expired", 4 * H, Kind.CLOCK_EXPIRED, ("executive", "commander")),
    ]


def test_a_ladder_built_late_skips_past_warnings_but_keeps_past_escalations():
    rungs = task_rungs(due_at=T0 + 6 * H, window_start=T0)
    assert first_step(rungs, T0) == 0
    assert rungs[first_step(rungs, T0 + 4 * H)].name == "before_900s"
    # Built after the due time: the reminders are pointless now, the "due" alert is not.
    assert rungs[first_step(rungs, T0 + 7 * H)].name == "due"
    clock = clock_rungs(T0 + 4 * H)
    assert clock[first_step(clock, T0 + 3 * H + 10 * M)].name == "left_1800s"
    assert first_step(clock, T0 + 5 * H) == 3  # expired: still said
