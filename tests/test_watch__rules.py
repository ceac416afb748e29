"""Rules fire under frozen time: each kind, quieting, the dedup window, the false-alarm
rate, and what a firing leaves behind (a reported incident, frozen evidence, the duty
commanders told)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from crisisflow.alerts.models import Notification
from crisisflow.incidents import actions as incident_actions
from crisisflow.incidents.models import Event, Incident
from crisisflow.watch import actions, ingest
from crisisflow.watch.models import Firing, Rule
from crisisflow.watch.rules import evaluate, evaluate_changed
from tests.watch_world import brand, hourly, rule, series

pytestmark = pytest.mark.django_db

# A Monday, 09:00 UTC, four weeks after the history starts.
NOW = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
HISTORY = NOW - timedelta(weeks=4)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(hours_ago: float) -> datetime:
    return NOW - timedelta(hours=hours_ago)


def point(one, hours_ago: float, value: float) -> None:
    ingest.receive(points=[(one.pk, at(hours_ago), value)])


def fire_all() -> list[Firing]:
    return evaluate(list(Rule.objects.select_related("series", "brand")), NOW)


def test_a_threshold_opens_a_reported_incident_with_its_evidence_and_tells_the_duty_commanders(people):
    complaints = series()
    rule(
        "threshold",
        {"op": "above", "value": 50},
        on=complaints,
        name="Complaints above 50",
        severity="high",
        crisis_type="service_outage",
    )
    ingest.receive(
        posts=ingest.check_posts(
            [
                {
                    "url": f"https://weibo.com/{i}",
                    "brand": "acme",
                    "platform": "weibo",
                    "author": f"user{i}",
                    "reach": i * 1000,
                    "text": "付款失败，崩了",
                    "at": at(1).isoformat(),
                }
                for i in range(1, 15)
            ]
        )
    )
    point(complaints, 2, 12)
    assert fire_all() == []
    point(complaints, 0, 61)
    [firing] = fire_all()

    incident = firing.incident
    assert (incident.state, incident.crisis_type, incident.severity) == ("reported", "service_outage", "high")
    assert incident.title == "Acme Pay: Complaints above 50"
    assert "acme-complaints is 61, above 50" in incident.summary
    assert incident.reporter.username == "early-warning"
    assert firing.opened
    # Frozen: the series window as it was and the ten posts with the largest reach.
    [window] = firing.evidence["series"]
    assert [value for _at, value in window["points"]] == [12, 61]
    assert [p["author"] for p in firing.evidence["posts"]] == [f"user{i}" for i in range(14, 4, -1)]
    kinds = list(incident.events.order_by("seq").values_list("kind", flat=True))
    assert kinds == ["reported", "watch_evidence", "incident_brand_set"]  # the incident is about Acme Pay
    # The duty commander hears of it at once, through the usual outbox.
    told = Notification.objects.get(recipient=people.commander, channel="in_app")
    assert told.incident == incident and told.source == f"watch:{firing.pk}"
    assert told.payload["early_warning"]["rule"] == "Complaints above 50"


def test_the_duty_commanders_message_names_the_rule_the_brand_the_figure_and_the_incident(people):
    from crisisflow.alerts.messages import render

    complaints = series(name="Complaints per hour")
    rule("threshold", {"op": "above", "value": 50}, on=complaints, name="Complaints above 50")
    point(complaints, 0, 61)
    [firing] = fire_all()
    told = Notification.objects.get(recipient=people.commander, channel="in_app")
    assert told.kind == "early_warning"
    link = f"/incidents/{firing.incident.reference}/"

    english = render(told, "en", "UTC")
    assert english.subject == f"[{firing.incident.reference}] Early warning: Acme Pay: Complaints above 50"
    assert english.headline == (
        "Early warning: rule “Complaints above 50” fired for Acme Pay (Complaints per hour is 61, above 50) "
        "and opened this incident; confirm or dismiss it by 2026-03-30 09:30 UTC."
    )
    facts = dict(english.facts)
    assert (facts["Rule"], facts["Brand or product"]) == ("Complaints above 50", "Acme Pay")
    assert facts["What crossed"] == "Complaints per hour is 61, above 50"
    assert english.url.endswith(link) and english.url in english.text

    chinese = render(told, "zh-hans", "Asia/Shanghai")
    assert "预警" in chinese.headline and "Complaints above 50" in chinese.headline
    assert "Acme Pay" in chinese.headline and "高于 50" in chinese.headline
    assert "2026-03-30 17:30 Asia/Shanghai" in chinese.headline
    assert chinese.url.endswith(link) and chinese.url in chinese.text


def test_a_threshold_below(people):
    rating = series("acme-rating", kind="app_store_rating")
    rule("threshold", {"op": "below", "value": 2.0}, on=rating)
    point(rating, 1, 4.8)
    assert fire_all() == []
    point(rating, 0, 1.2)
    assert len(fire_all()) == 1


def test_a_rate_of_change_within_a_window(people):
    complaints = series()
    rule("rate", {"percent": 200, "window_minutes": 60}, on=complaints, name="tripled")
    point(complaints, 3, 10)
    point(complaints, 1, 10)
    point(complaints, 0.5, 20)
    assert fire_all() == []  # +100 % in the hour
    point(complaints, 0, 31)
    [firing] = fire_all()
    assert firing.verdict["change"] == 210.0


def test_a_fall_is_a_negative_rate(people):
    sales = series("acme-sales", kind="sales")
    rule("rate", {"percent": -20, "window_minutes": 24 * 60}, on=sales)
    point(sales, 24, 1000)
    point(sales, 0, 900)
    assert fire_all() == []
    point(sales, 0, 790)  # a correction of the same moment
    assert len(fire_all()) == 1


def test_a_spike_is_judged_against_the_same_hour_of_the_week(people):
    complaints = series()
    # Four weeks of history: Mondays 09:00 are busy (about 40), every other hour quiet (about 10).
    values = []
    for hour in range(4 * 7 * 24):
        moment = HISTORY + timedelta(hours=hour)
        busy = moment.weekday() == 0 and moment.hour == 9
        values.append((40 if busy else 10) + (hour % 3))
    hourly(complaints, HISTORY, values)
    rule("spike", {"z": 3}, on=complaints, name="spike")
    # This Monday 09:00 at 42: usual for a Monday morning, no spike.
    point(complaints, 0, 42)
    assert fire_all() == []
    complaints.refresh_from_db()
    assert abs(complaints.last_z) < 3
    # Monday 10:00 at 42 would be a spike (Monday 10:00 is usually about 10).
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        ingest.receive(points=[(complaints.pk, NOW + timedelta(hours=1), 42)])
        complaints.refresh_from_db()
        assert complaints.last_z > 3
        assert len(evaluate(list(Rule.objects.all()), NOW + timedelta(hours=1))) == 1


def test_a_composite_needs_all_of_its_parts(people):
    share = series("acme-negative", kind="negative_share")
    mentions = series("acme-mentions", kind="mentions_per_hour", platform="weibo")
    negative = rule("threshold", {"op": "above", "value": 60}, on=share, name="negative > 60 %", active=False)
    busy = rule("threshold", {"op": "above", "value": 500}, on=mentions, name="mentions > 500", active=False)
    rule("composite", {"all": [negative.pk, busy.pk]}, name="negative and loud")
    point(share, 0, 75)
    point(mentions, 0, 100)
    assert fire_all() == []
    point(mentions, 0, 900)
    [firing] = fire_all()
    assert firing.rule.name == "negative and loud"
    assert "negative" in firing.verdict["names"][0] or "mentions" in firing.verdict["names"][0]
    # The frozen evidence holds both series.
    assert {s["key"] for s in firing.evidence["series"]} == {"acme-negative", "acme-mentions"}


def test_a_flag_fires_on_official_media_or_a_large_account(people):
    brand()
    rule("flag", {"official_media": True, "min_reach": 1_000_000, "window_minutes": 120}, name="loud voices")

    def post(url, **extra):
        item = {"url": url, "brand": "acme", "platform": "weibo", "text": "数据泄露", "at": at(0.5).isoformat()}
        item.update(extra)
        ingest.receive(posts=ingest.check_posts([item]))

    post("https://weibo.com/small", author="someone", reach=900)
    assert fire_all() == []
    post("https://weibo.com/old", author="央视新闻", flag="official_media", at=at(5).isoformat())
    assert fire_all() == []  # outside the window
    post("https://weibo.com/cctv", author="央视新闻", flag="official_media", reach=100)
    [firing] = fire_all()
    assert firing.verdict["post"]["author"] == "央视新闻"


def test_muted_and_snoozed_rules_stay_quiet_and_a_rule_fires_once_per_quiet_period(people):
    complaints = series()
    watched = rule("threshold", {"op": "above", "value": 50}, on=complaints, cooldown_minutes=60)
    point(complaints, 0, 80)
    actions.mute_rule(people.commander, watched, "Planned campaign, complaints expected", expected_version=1)
    assert fire_all() == []
    watched = actions.unmute_rule(people.commander, watched.pk, expected_version=2)
    actions.snooze_rule(people.commander, watched, 2, "Known outage, already handled", expected_version=3)
    assert fire_all() == []
    watched = actions.unmute_rule(people.commander, watched.pk, expected_version=4)
    assert len(fire_all()) == 1
    assert fire_all() == []  # still within its quiet hour
    watched.refresh_from_db()
    assert watched.quieted_by == people.commander


def test_quieting_a_rule_needs_a_reason_and_the_version_seen(people):
    from crisisflow.incidents.errors import Conflict, Forbidden, Invalid

    watched = rule("threshold", {"op": "above", "value": 50}, on=series())
    with pytest.raises(Invalid):
        actions.mute_rule(people.commander, watched, "  ", expected_version=1)
    actions.mute_rule(people.commander, watched, "noise", expected_version=1)
    with pytest.raises(Conflict, match="changed by Commander"):
        actions.unmute_rule(people.commander, watched, expected_version=1)
    with pytest.raises(Forbidden):
        actions.unmute_rule(people.outsider, watched, expected_version=2)


def test_within_the_dedup_window_a_second_rule_adds_its_evidence_to_the_open_incident(people):
    complaints = series()
    rating = series("acme-rating", kind="app_store_rating")
    first = rule("threshold", {"op": "above", "value": 50}, on=complaints, dedup_minutes=6 * 60, name="complaints")
    rule("threshold", {"op": "below", "value": 2}, on=rating, dedup_minutes=6 * 60, name="rating")
    rule("threshold", {"op": "below", "value": 3}, on=rating, crisis_type="data_breach", name="other type")
    point(complaints, 0, 80)
    [opened] = evaluate([first], NOW)
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        ingest.receive(points=[(rating.pk, NOW + timedelta(hours=2), 1.5)])
        fired = evaluate(list(Rule.objects.exclude(pk=first.pk)), NOW + timedelta(hours=2))
    by_name = {f.rule.name: f for f in fired}
    assert by_name["rating"].incident == opened.incident and not by_name["rating"].opened
    assert by_name["other type"].incident != opened.incident and by_name["other type"].opened
    assert Incident.objects.count() == 2
    describe = list(opened.incident.events.filter(kind="watch_evidence").order_by("seq"))
    assert [e.data["opened"] for e in describe] == [True, False]


def test_after_the_dedup_window_or_once_dismissed_a_new_incident_opens(people, plan):
    complaints = series()
    watched = rule("threshold", {"op": "above", "value": 50}, on=complaints, dedup_minutes=60, cooldown_minutes=10)
    point(complaints, 0, 80)
    [first] = evaluate([watched], NOW)
    later = NOW + timedelta(minutes=90)
    with time_machine.travel(later, tick=False):
        [second] = evaluate([Rule.objects.get(pk=watched.pk)], later)
    assert second.opened and second.incident != first.incident
    incident_actions.dismiss_incident(people.commander, second.incident, "a campaign, not a crisis")
    even_later = later + timedelta(minutes=20)
    with time_machine.travel(even_later, tick=False):
        [third] = evaluate([Rule.objects.get(pk=watched.pk)], even_later)
    assert third.opened and third.incident not in (first.incident, second.incident)


def test_dismissed_incidents_count_as_false_alarms_on_the_rules_page(people, browse):
    complaints = series()
    watched = rule("threshold", {"op": "above", "value": 50}, on=complaints, dedup_minutes=1, cooldown_minutes=1)
    point(complaints, 0, 80)
    [first] = evaluate([watched], NOW)
    incident_actions.dismiss_incident(people.commander, first.incident, "false alarm")
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        evaluate([Rule.objects.get(pk=watched.pk)], later)
        page = browse(people.commander).get("/watch/")
    text = page.content.decode()
    assert "Fired 2 times" in text
    assert "false alarms 50 % (1 of 2 incidents it opened were dismissed)" in text


def test_the_periodic_job_looks_only_at_rules_whose_data_changed(people, django_assert_max_num_queries):
    complaints = series()
    quiet = series("acme-rating", kind="app_store_rating")
    rule("threshold", {"op": "above", "value": 50}, on=complaints)
    rule("threshold", {"op": "below", "value": 2}, on=quiet)
    point(complaints, 1, 10)
    point(quiet, 1, 4.5)
    assert evaluate_changed(NOW) == 0
    assert all(r.checked_at == NOW for r in Rule.objects.all())
    later = NOW + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        with django_assert_max_num_queries(3):
            assert evaluate_changed(later) == 0  # nothing new: nothing read but the query for changes
        ingest.receive(points=[(complaints.pk, later, 70)])
        assert evaluate_changed(later) == 1


def test_a_broken_rule_does_not_stop_the_others(people):
    complaints = series()
    broken = rule("threshold", {"op": "above"}, on=complaints, name="broken")  # no limit: cannot be read
    rule("threshold", {"op": "above", "value": 50}, on=complaints, name="fine")
    point(complaints, 0, 80)
    fired = evaluate([broken, *Rule.objects.filter(name="fine")], NOW)
    assert [f.rule.name for f in fired] == ["fine"]


def test_the_room_says_which_rule_opened_the_incident(people, browse):
    complaints = series()
    rule("threshold", {"op": "above", "value": 50}, on=complaints, name="Complaints above 50")
    point(complaints, 0, 80)
    [firing] = fire_all()
    page = browse(people.commander).get(f"/incidents/{firing.incident.reference}/").content.decode()
    assert "Complaints above 50" in page and "opened this incident" in page
    event = Event.objects.get(kind="watch_evidence")
    from crisisflow.incidents.timeline import describe

    assert (
        describe(event) == "Rule “Complaints above 50” fired and opened this incident: acme-complaints is 80, above 50"
    )


def test_the_baseline_learns_the_same_in_python_and_in_the_database(people):
    from crisisflow.watch.ingest import bucket_of, learn, z_score
    from crisisflow.watch.models import Baseline

    complaints = series()
    start = HISTORY - timedelta(weeks=1)
    values = [10.0 + (i * 7919 % 13) + (30 if i % 168 == 9 else 0) for i in range(5 * 168)]
    # One batch of three weeks (several points per bucket: learnt in rounds), then day by day.
    hourly(complaints, start, values[: 3 * 168])
    for day in range(3 * 7, 5 * 7):
        ingest.receive(
            points=[(complaints.pk, start + timedelta(hours=h), values[h]) for h in range(day * 24, day * 24 + 24)]
        )
    expected: dict[int, tuple[int, float, float]] = {}
    z = None
    for hour, value in enumerate(values):
        key = bucket_of(start + timedelta(hours=hour))
        n, mean, var = expected.get(key, (0, 0.0, 0.0))
        z = z_score(value, n, mean, var)
        expected[key] = learn(value, n, mean, var)
    complaints.refresh_from_db()
    assert complaints.last_z == pytest.approx(z, rel=1e-6)
    stored = {b.bucket: (b.n, b.mean, b.var) for b in Baseline.objects.filter(series=complaints)}
    assert stored.keys() == expected.keys()
    for key, (n, mean, var) in expected.items():
        assert stored[key][0] == n
        assert stored[key][1] == pytest.approx(mean, rel=1e-9)
        assert stored[key][2] == pytest.approx(var, rel=1e-6, abs=1e-9)


def test_the_hour_of_the_week_is_the_same_from_a_moment_or_from_unix_seconds():
    from crisisflow.watch.ingest import bucket_of, bucket_of_epoch

    monday = datetime(2026, 3, 2, tzinfo=UTC)
    for hours in range(0, 3 * 168, 5):
        moment = monday + timedelta(hours=hours, minutes=59, seconds=59)
        assert bucket_of_epoch(int(moment.timestamp())) == bucket_of(moment)
