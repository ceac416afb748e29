"""The public subscription page on a phone (375 px), in English and Chinese: a reader
fills it in, sees the "check your inbox" answer, and nothing makes the page scroll
sideways."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from crisisflow.subscribers.models import Subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    "language, button, answer", [("en", "Subscribe", "Check your inbox"), ("zh-hans", "订阅", "请查收邮件")]
)
def test_subscribing_on_a_phone_in_both_languages(chromium, live_server, artifacts, language, button, answer):
    context = chromium.new_context(viewport={"width": 375, "height": 812}, locale="en-US")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    tab = context.new_page()
    try:
        tab.goto(live_server.url + "/subscribe/")
        expect(tab.locator("html")).to_have_attribute("lang", language)
        tab.fill("#id_address", f"reader-{language}@example.com")
        tab.check('input[name="consent"]')
        tab.screenshot(path=str(artifacts / f"subscribe_{language}_375.png"), full_page=True)
        assert tab.evaluate("document.documentElement.scrollWidth") <= 376
        tab.get_by_role("button", name=button, exact=True).click()
        expect(tab.locator("main h1")).to_have_text(answer)
        assert tab.evaluate("document.documentElement.scrollWidth") <= 376
    finally:
        context.close()
    subscriber = Subscriber.objects.get()
    assert subscriber.state == Subscriber.State.PENDING and subscriber.language == language
    assert len(mail.outbox) == 1
