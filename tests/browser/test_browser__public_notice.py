"""The public notice on a phone (375 px), signed out, in both languages: nothing
scrolls sideways, the correction is struck through, a late commitment says so, and the
commander turns the notice on from the incident room."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crisisflow import clock
from crisisflow.commitments import actions as commitments
from tests.browser.test_browser__screenshots import widest
from tests.statements import team_incident
from tests.statements_helpers import approve_all, edit, publish_approved, write

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_commander_turns_it_on_and_a_phone_reads_it(live_server, signed_in, chromium, artifacts, people, plan):
    incident = team_incident(people, affected_users=None)
    update = write(
        people.commander, incident, "progress_update", language="zh-hans", body="华东地区的支付已于上午恢复。"
    )
    approve_all(people, update)
    publish_approved(people, update)
    edit(people.commander, update, "华东和华南地区的支付已于上午恢复。", correction_note="华南地区也受到了影响。")
    approve_all(people, update)
    publish_approved(people, update)
    update.refresh_from_db()
    commitments.create_commitment(
        people.commander,
        incident,
        text="退还全部失败交易的手续费",
        owner=people.legal,
        due_at=clock.now() - timedelta(hours=1) + timedelta(seconds=1),
        statement_version=update.current_id,
    )

    room = signed_in(people.commander)
    room.goto(f"{live_server.url}/incidents/{incident.reference}/")
    room.get_by_role("link", name="Public notice").click()
    room.get_by_label("Public title (Chinese)").fill("关于支付故障的公告")
    room.get_by_label("Address (leave empty for an unguessable one)").fill("payments-phone")
    room.get_by_role("button", name="Turn the public notice on").click()
    expect(room.get_by_role("link", name="/notice/payments-phone/")).to_be_visible()

    for lang in ("zh-CN", "en-US"):
        context = chromium.new_context(viewport={"width": 375, "height": 812}, locale=lang)
        phone = context.new_page()
        phone.goto(f"{live_server.url}/notice/payments-phone/")
        expect(phone.get_by_role("heading", level=1)).to_have_text("关于支付故障的公告")
        expect(phone.locator("del")).to_contain_text("华东地区的支付已于上午恢复。")
        expect(phone.locator(".badge.late")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, widest(phone, 375)
        phone.screenshot(path=str(artifacts / f"public_notice_{lang}.png"), full_page=True)
        context.close()
