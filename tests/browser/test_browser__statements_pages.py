"""The statement pages in a real browser: at 375 px nothing scrolls sideways, in both
languages (screenshots in tests/artifacts/statements_*), and the editor's counters and
SMS preview follow the text as it is typed."""

from __future__ import annotations

import pytest
import time_machine
from playwright.sync_api import expect

from crisisflow.statements import drafting, facts, versions
from tests.browser.test_browser__screenshots import widest
from tests.conftest import T0
from tests.statements import sheet, team_incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_statement_pages_fit_a_phone_in_both_languages(live_server, signed_in, artifacts, people, plan):
    with time_machine.travel(T0, tick=False):
        incident = team_incident(people)
        facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
    made = drafting.draft_message_set(people.commander, incident)
    holding = next(s for s in made if s.kind == "holding_statement" and s.language == "zh-hans")
    versions.save_version(
        people.commander, holding, title="", body=holding.current.body.replace("道歉", "诚恳道歉"), expected_version=1
    )
    base = f"/incidents/{incident.reference}/statements/"
    pages = {
        "list": base,
        "facts": base + "facts/",
        "editor": f"{base}{holding.pk}/",
        "versions": f"{base}{holding.pk}/versions/",
        "diff": f"{base}{holding.pk}/diff/",
    }
    overflow = []
    for lang in ("en", "zh-hans"):
        tab = signed_in(people.pr_lead, language=lang, viewport={"width": 375, "height": 812})
        for name, path in pages.items():
            tab.goto(live_server.url + path)
            expect(tab.locator("html")).to_have_attribute("lang", lang)
            tab.screenshot(path=str(artifacts / f"statements_{name}_{lang}_375.png"), full_page=True)
            scroll = tab.evaluate("document.documentElement.scrollWidth")
            if scroll > 376:
                overflow.append(f"{name} {lang}: {scroll}px wide; widest: {widest(tab, 375)}")
    assert not overflow, overflow


def test_the_counters_and_the_sms_preview_follow_the_text(live_server, signed_in, people, plan):
    incident = team_incident(people)
    sms = versions.create_statement(people.pr_lead, incident, "customer_sms", "zh-hans", body="您好")
    tab = signed_in(people.pr_lead, viewport={"width": 375, "height": 812})
    tab.goto(f"{live_server.url}/incidents/{incident.reference}/statements/{sms.pk}/")
    tab.locator("textarea[name=body]").fill("短信" * 40)
    expect(tab.locator(".counter .chars")).to_have_text("80")
    expect(tab.locator(".counter .segments")).to_have_text("2")
    expect(tab.locator(".preview-sms .bubble")).to_have_text("短信" * 40)
    tab.locator("textarea[name=body]").fill("Plain text fits one message.")
    expect(tab.locator(".counter .segments")).to_have_text("1")
