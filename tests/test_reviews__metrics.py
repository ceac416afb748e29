"""The review's figures, computed from the timeline under frozen time, against values
worked out by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crisisflow.incidents import actions
from crisisflow.incidents.models import Event
from crisisflow.incidents.timeline import record
from crisisflow.incidents.unit import lock_incident
from crisisflow.reviews import metrics
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to

H = timedelta(hours=1)

pytestmark = pytest.mark.django_db


def built(people, *, publish_after: timedelta | None, outbreak_before: timedelta = timedelta(minutes=30)):
    """Outbreak 30 min before the report at T0; confirmed +10 min, activated +20 min,
    team assembled +40 min (from T0); the first statement (a real one, approved and
    published) `publish_after` the outbreak — None: left to the test."""
    with time_machine.travel(T0, tick=False) as traveller:
        incident = report(people, detected_at=T0 - outbreak_before)
        traveller.move_to(T0 + timedelta(minutes=10))
        incident = walk_to(people, incident, State.CONFIRMED)
        traveller.move_to(T0 + timedelta(minutes=20))
        incident = walk_to(people, incident, State.PLAN_ACTIVATED)
        traveller.move_to(T0 + timedelta(minutes=40))
        incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
        if publish_after is not None:
            traveller.move_to(T0 - outbreak_before + publish_after)
            incident = walk_to(people, incident, State.INFO_PUBLISHED)
    return incident


def figure(incident, key, at):
    return metrics.compute(incident, at).metric(key)


def test_a_statement_three_hours_after_the_outbreak_meets_the_golden_four_hours(people, plan):
    incident = built(people, publish_after=timedelta(hours=3))
    now = T0 + 5 * H
    assert figure(incident, "time_to_report", now).value == timedelta(minutes=30)
    assert figure(incident, "time_to_confirm", now).value == timedelta(minutes=40)
    assert figure(incident, "time_to_activate", now).value == timedelta(minutes=50)
    assert figure(incident, "time_to_assemble", now).value == timedelta(minutes=70)
    first = figure(incident, "time_to_first_statement", now)
    assert first.value == 3 * H
    golden = figure(incident, "golden_hours", now)
    assert (golden.note, golden.value, golden.text) == ("met", timedelta(hours=1), "met, 1 h 00 min to spare")
    # Each figure links to the event it came from: the holding statement's publication.
    published = incident.events.get(kind="statement_published", data__first_statement=True)
    assert golden.events == [published.seq] == first.events
    confirmed = incident.events.get(kind=Event.Kind.TRANSITION, data__to=State.CONFIRMED)
    assert figure(incident, "time_to_confirm", now).events == [confirmed.seq]


def test_a_statement_twenty_hours_after_the_outbreak_missed_by_sixteen_hours(people, plan):
    incident = built(people, publish_after=timedelta(hours=20))
    golden = figure(incident, "golden_hours", T0 + 30 * H)
    assert (golden.note, golden.value, golden.text) == ("missed", -timedelta(hours=16), "missed by 16 h 00 min")
    labels = [m.key for m in metrics.compute(incident, T0 + 30 * H).milestones]
    assert labels[:6] == ["outbreak", "reported", "confirmed", "plan_activated", "team_assembled", "first_statement"]


def statement_events(incident, actor, rows):
    """What the statements app writes (its published contract), at the given times."""
    for at, kind, data in rows:
        with time_machine.travel(at, tick=False):
            from django.db import transaction

            with transaction.atomic():
                locked = lock_incident(actor, incident)
                record(locked, actor, kind, data, at=at)


def test_a_lint_dirty_first_statement_then_a_clean_one_and_approval_latency(people, plan):
    incident = built(people, publish_after=None)
    c = people.commander
    outbreak = incident.detected_at
    base = {"kind": "holding_statement", "language": "zh-hans"}
    statement_events(
        incident,
        c,
        [
            (
                outbreak + 1 * H,
                "statement_version_saved",
                {**base, "statement": 1, "version": 1, "errors": 2, "codes": ["missing_action"]},
            ),
            (outbreak + 1 * H, "statement_approval_requested", {**base, "statement": 1, "version": 1}),
            (
                outbreak + 1 * H + timedelta(minutes=30),
                "statement_approved",
                {**base, "statement": 1, "version": 1, "role": "legal"},
            ),
            (
                outbreak + 1 * H + timedelta(minutes=50),
                "statement_approved",
                {**base, "statement": 1, "version": 1, "role": "pr"},
            ),
            (
                outbreak + 2 * H,
                "statement_published",
                {
                    **base,
                    "statement": 1,
                    "version": 1,
                    "channel": "weibo",
                    "location": "",
                    "first_statement": True,
                    "correction": False,
                },
            ),
            (
                outbreak + 6 * H,
                "statement_version_saved",
                {**base, "kind": "full_statement", "statement": 2, "version": 3, "errors": 0},
            ),
            (outbreak + 6 * H, "statement_approval_requested", {**base, "statement": 2, "version": 3}),
            (outbreak + 7 * H, "statement_approved", {**base, "statement": 2, "version": 3, "role": "legal"}),
            (
                outbreak + 8 * H,
                "statement_published",
                {
                    **base,
                    "kind": "full_statement",
                    "statement": 2,
                    "version": 3,
                    "channel": "website",
                    "location": "",
                    "first_statement": False,
                    "correction": False,
                },
            ),
        ],
    )
    figures = metrics.compute(incident, outbreak + 10 * H)
    clean = figures.metric("time_to_clean_statement")
    assert clean.value == timedelta(hours=8)
    published = incident.events.get(kind="statement_published", data__statement=2)
    assert published.seq in clean.events
    legal = figures.metric("approval_latency_legal")
    # Legal waited 30 min on the first and 1 h on the second: median 45 min.
    assert legal.value == timedelta(minutes=45)
    assert figures.metric("approval_latency_pr").value == timedelta(minutes=50)
    first = [m for m in figures.milestones if m.key == "first_statement"]
    assert [m.at for m in first] == [outbreak + 2 * H]
    later = [m for m in figures.milestones if m.key == "statement"]
    assert [m.at for m in later] == [outbreak + 8 * H]


def test_escalations_and_tasks_on_time_are_counted_from_the_timeline(people, plan):
    incident = built(people, publish_after=timedelta(hours=3))
    statement_events(
        incident,
        people.commander,
        [
            (
                T0 + 6 * H,
                Event.Kind.ALERT,
                {"alert": "escalation", "rung": "x", "due_at": "", "recipients": [], "channels": []},
            )
        ],
    )
    figures = metrics.compute(incident, T0 + 7 * H)
    escalations = figures.metric("escalations")
    assert escalations.value == 1 and len(escalations.events) == 1
    on_time = figures.metric("tasks_on_time")
    rows = {r["key"]: r for r in figures.tasks_by_role}
    # legal-review (due +3 h) and holding-statement were finished at publishing time.
    assert rows["legal"]["late"] + rows["legal"]["on_time"] >= 1
    assert on_time.value is not None


def test_figures_other_apps_own_show_no_data_until_a_provider_gives_them(people, plan):
    incident = built(people, publish_after=timedelta(hours=3))
    recovery = metrics.compute(incident, T0 + 5 * H).metric("rating_recovery")
    assert (recovery.has_data, recovery.text) == (False, "no data")

    @metrics.provider("rating_recovery")
    def rating_recovery(inc):
        return metrics.Metric("rating_recovery", "Time for the rating to recover", 3, "3 days", [1])

    try:
        recovery = metrics.compute(incident, T0 + 5 * H).metric("rating_recovery")
        assert (recovery.value, recovery.text, recovery.events) == (3, "3 days", [1])
        assert metrics.compute(incident, T0 + 5 * H).metric("negative_share_recovery").text == "no data"
    finally:
        metrics.unregister("rating_recovery")


def test_a_running_clock_reads_as_missed_so_far_without_a_statement(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = report(people, detected_at=T0)
        incident = actions.confirm_incident(people.commander, incident)
    golden = figure(incident, "golden_hours", T0 + 6 * H)
    assert golden.text == "missed by 2 h 00 min so far (no statement yet)"


def test_a_series_from_another_app_is_drawn_with_the_statements_marked(people, plan, browse):
    from crisisflow.reviews import charts

    incident = walk_to(people, built(people, publish_after=timedelta(hours=3)), State.IN_REVIEW)
    outbreak = incident.detected_at

    @metrics.series("negative_share")
    def negative_share(inc):
        points = [(outbreak + i * H, share) for i, share in enumerate([0.1, 0.6, 0.8, 0.5, 0.2, 0.1])]
        return metrics.Series("negative_share", "Negative share", points, baseline=0.15)

    try:
        page = browse(people.commander).get(f"/incidents/{incident.reference}/review/").content.decode()
        assert "Negative share" in page and "<polyline" in page
        drawn = charts.series_charts(
            metrics.all_series(incident), metrics.compute(incident, outbreak + 9 * H).milestones
        )
        assert drawn[0][1].count('stroke="#2da44e"') == 1  # the first statement, marked
    finally:
        metrics.unregister("negative_share")
    page = browse(people.commander).get(f"/incidents/{incident.reference}/review/").content.decode()
    assert "no series is recorded for this incident." in page
