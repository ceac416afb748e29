"""Setting up early warning on a phone (375 px): the duty commander adds a rule with the
rule form and types in a post, and no page scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crisisflow.watch.models import Post, Rule
from tests.conftest import make_user
from tests.watch_world import brand, rule, series

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (page.url, width)


def test_a_rule_and_a_post_are_entered_at_phone_width(live_server, signed_in, artifacts):
    commander = make_user("commander", "commander")
    complaints = series(name="Acme complaints per hour, all platforms and regions")
    rule("threshold", {"op": "above", "value": 50}, on=complaints, name="Complaints above fifty per hour")
    page = signed_in(commander, viewport=PHONE)

    page.goto(f"{live_server.url}/watch/setup/")
    fits(page)
    page.get_by_role("link", name="Add a rule").click()
    fits(page)
    page.get_by_label("Name", exact=True).fill("Rating falls by a third")
    page.get_by_label("Kind", exact=True).select_option("rate")
    page.get_by_label("Series", exact=True).select_option("acme-complaints")
    page.get_by_label("Rate of change: at least (%)").fill("-33")
    page.get_by_label("Rate of change: within (minutes)").fill("240")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#rules")).to_contain_text("Rating falls by a third")
    made = Rule.objects.get(name="Rating falls by a third")
    assert made.params == {"percent": -33.0, "window_minutes": 240}
    page.screenshot(path=str(artifacts / "watch_setup_375.png"), full_page=True)

    page.goto(f"{live_server.url}/watch/")
    page.get_by_label("Address (URL)").fill("https://weibo.com/123")
    page.locator("#post_brand").select_option(brand().key)
    page.locator("#post_at").fill("2026-03-02T09:00")
    page.locator("#post_text").fill("Terrible outage, worst ever")
    fits(page)
    page.get_by_role("button", name="Add the post").click()
    expect(page.get_by_role("status")).to_contain_text("The post was stored.")
    assert Post.objects.get().sentiment == "negative"
