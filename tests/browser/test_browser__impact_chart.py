"""The impact chart in a real browser: ECharts (served from this site) draws the series
with a marker for each stage change and the published statement, in English and in
Chinese, at phone width, with times in the reader's own time zone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crisisflow import clock
from crisisflow.incidents import actions
from crisisflow.watch import ingest
from crisisflow.watch.rules import evaluate
from tests.conftest import install_plan, make_user
from tests.watch_statements import publish
from tests.watch_world import hourly, rule, series

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}


@pytest.mark.parametrize(
    "language, stage, statement",
    [
        ("en", "Confirmed", "Statement published: holding statement (zh) v1 · weibo"),
        ("zh-hans", "已确认", "已发布声明：holding statement（zh）第 1 版 · weibo"),
    ],
)
def test_the_chart_shows_stage_and_statement_markers(
    live_server, signed_in, artifacts, monkeypatch, language, stage, statement
):
    commander = make_user("commander", "commander")
    commander.time_zone = "Asia/Shanghai"
    commander.save()
    install_plan()
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    complaints = series(name="Acme complaints")
    hourly(complaints, now - timedelta(hours=30), [10 + (h % 4) for h in range(30)])
    watched = rule("threshold", {"op": "above", "value": 50}, on=complaints, crisis_type="service_outage")
    ingest.receive(points=[(complaints.pk, now, 80)])
    [firing] = evaluate([watched], clock.now())
    incident = actions.confirm_incident(commander, firing.incident)
    publish(commander, incident, clock.now(), monkeypatch=monkeypatch)

    page = signed_in(commander, language=language, viewport=PHONE)
    page.goto(f"{live_server.url}/incidents/{incident.reference}/#impact")
    drawn = page.locator(".watch-echart[data-drawn='1']")
    expect(drawn).to_be_visible()
    # The markers are numbered lines on the chart (1 reported, 2 confirmed, 3 the
    # statement), named below it in the page's language.
    labels = drawn.locator("text").all_text_contents()
    assert {"1", "2", "3"} <= set(labels), labels
    assert any("Asia/Shanghai" in text for text in labels), labels  # times in the reader's zone, and it says so
    names = page.locator(".watch-markers li")
    expect(names.nth(1)).to_contain_text(stage)
    expect(names.nth(2)).to_contain_text(statement)
    # The server's drawing gave way to the interactive one, and nothing overflows the phone.
    expect(page.locator(".watch-svg-wrap").first).to_be_hidden()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    page.screenshot(path=str(artifacts / f"impact_chart_{language}_375.png"), full_page=False)


def test_without_javascript_the_server_drawing_stays(live_server, chromium):
    from django.conf import settings
    from django.test import Client

    commander = make_user("commander", "commander")
    install_plan()
    complaints = series(name="Acme complaints")
    hourly(complaints, clock.now() - timedelta(hours=5), [10, 11, 12, 13, 14])
    watched = rule("threshold", {"op": "above", "value": 50}, on=complaints, crisis_type="service_outage")
    ingest.receive(points=[(complaints.pk, clock.now(), 80)])
    [firing] = evaluate([watched], clock.now())
    client = Client()
    client.force_login(commander)
    context = chromium.new_context(java_script_enabled=False, viewport=PHONE)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/incidents/{firing.incident.reference}/")
    expect(page.locator("svg.watch-svg")).to_be_visible()
    expect(page.locator("svg.watch-svg .marker-stage").first).to_be_attached()
    context.close()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_watch_page_fits_a_phone(live_server, signed_in, artifacts, language):
    commander = make_user("commander", "commander")
    install_plan()
    for i in range(3):
        one = series(f"acme-series-{i}", name=f"Acme series {i}")
        hourly(one, clock.now() - timedelta(hours=60), [10 + (h % (i + 3)) for h in range(60)])
        rule("rate", {"percent": 50, "window_minutes": 60}, on=one, name=f"Acme rising fast {i}")
    page = signed_in(commander, language=language, viewport=PHONE)
    page.goto(f"{live_server.url}/watch/")
    expect(page.locator("svg.sparkline").first).to_be_visible()
    page.screenshot(path=str(artifacts / f"watch_{language}_375.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
