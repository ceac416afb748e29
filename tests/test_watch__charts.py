"""Impact charts: the incident's series over its time line, with stage changes and
published statements marked, drawn on the server as SVG (no JavaScript needed), in the
reader's time zone and language; the watch page with a sparkline per series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from crisisflow.incidents import actions as incident_actions
from crisisflow.watch import ingest
from crisisflow.watch.charts import Chart, Marker, render_svg, sparkline, statement_label
from crisisflow.watch.rules import evaluate
from tests.watch_statements import publish
from tests.watch_world import hourly, rule, series

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def fired(people, plan):
    """An incident a rule opened, confirmed, with a statement published on Weibo."""
    with time_machine.travel(NOW, tick=False):
        complaints = series(name="Acme complaints")
        hourly(complaints, NOW - timedelta(hours=30), [10 + (h % 4) for h in range(30)])
        watched = rule("threshold", {"op": "above", "value": 50}, on=complaints, crisis_type="service_outage")
        ingest.receive(points=[(complaints.pk, NOW, 80)])
        [firing] = evaluate([watched], NOW)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        incident = incident_actions.confirm_incident(people.commander, firing.incident)
    return incident


def test_the_room_draws_the_series_with_stage_and_statement_markers(fired, people, browse, monkeypatch):
    publish(people.commander, fired, NOW + timedelta(hours=2), monkeypatch=monkeypatch)
    people.commander.time_zone = "Asia/Shanghai"
    people.commander.save()
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        page = browse(people.commander).get(reverse("incident-detail", args=[fired.reference])).content.decode()
    assert 'id="impact"' in page and '<svg class="watch-svg"' in page
    assert "Acme complaints — Complaints per hour" in page
    assert "marker-stage" in page and "marker-statement" in page and "Confirmed" in page
    assert "Statement published: holding statement (zh) v1 · weibo" in page
    # The reader's zone: 11:00 UTC is 19:00 in Shanghai.
    assert "19:00" in page and "Asia/Shanghai" in page
    # The interactive chart gets the same data, and the static asset from this site.
    assert 'class="watch-echart"' in page and "/static/vendor/echarts-5.6.0/echarts.min.js" in page


def test_the_chart_reads_in_chinese(fired, people, browse, monkeypatch):
    publish(people.commander, fired, NOW + timedelta(hours=2), monkeypatch=monkeypatch)
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        page = (
            browse(people.commander, language="zh-hans")
            .get(reverse("incident-detail", args=[fired.reference]))
            .content.decode()
        )
    assert "每小时投诉量" in page  # the kind's name from the data file
    assert "已确认" in page  # the stage
    assert "已发布声明" in page  # the statement marker
    assert "信号与影响" in page


def test_an_incident_without_series_has_no_chart_section(people, browse, plan):
    incident = incident_actions.report_incident(people.cs, title="Rumour", crisis_type="service_outage")
    page = browse(people.commander).get(reverse("incident-detail", args=[incident.reference])).content.decode()
    assert 'id="impact"' not in page


def test_the_svg_escapes_what_people_typed():
    one = type("S", (), {"__str__": lambda self: "<script>x</script>", "kind_label": "Sales", "kind": "sales"})()
    chart = Chart(
        one,
        [(NOW, 1.0), (NOW + timedelta(hours=1), 2.0)],
        [Marker(NOW, "stage", "<b>")],
        NOW,
        NOW + timedelta(hours=2),
        "UTC",
    )
    svg = render_svg(chart)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'viewBox="0 0 640 260"' in svg and 'width="100%"' in svg  # scales down to a phone


def test_a_statement_label_names_kind_language_version_and_channel():
    label = statement_label({"kind": "public_statement", "language": "en", "version": 3, "channel": "website"})
    assert label == "Statement published: public statement (en) v3 · website"


def test_a_sparkline():
    svg = sparkline([1, 3, 2, 5])
    assert svg.count("<polyline") == 1 and 'class="sparkline"' in svg
    assert "<polyline" not in sparkline([4])


def test_the_watch_page_lists_series_rules_and_firings(fired, people, browse):
    page = browse(people.observer).get(reverse("watch")).content.decode()
    assert "Acme complaints" in page and 'class="sparkline"' in page
    assert "threshold rule" in page and fired.reference in page
    assert "Upload a CSV file" not in page  # an observer reads, does not feed data in
    assert "Upload a CSV file" in browse(people.commander).get(reverse("watch")).content.decode()


def test_the_watch_page_costs_the_same_for_many_series(people, browse, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = browse(people.commander)
    first = series("s-0")
    hourly(first, NOW - timedelta(hours=5), [1, 2, 3, 4, 5])
    rule("threshold", {"op": "above", "value": 50}, on=first)
    client.get(reverse("watch"))
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("watch"))
    one = len(ctx.captured_queries)
    for i in range(1, 13):
        more = series(f"s-{i}")
        hourly(more, NOW - timedelta(hours=5), [i, i + 1, i + 2])
        rule("rate", {"percent": 50, "window_minutes": 60}, on=more, name=f"rule {i}")
    client.get(reverse("watch"))
    with django_assert_max_num_queries(one):
        assert client.get(reverse("watch")).status_code == 200
