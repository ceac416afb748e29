"""A public promise from the statement to the subscribers' inboxes, in a real browser with
a real worker, a local SMTP sink and a webhook receiver: the commander makes the dated
promise of the Chinese update a commitment from the editor; the Chinese and English
versions are approved and published (one publication, two languages); the public page
shows the statement and the commitment; the owner marks it kept with evidence; the
English e-mail subscriber and the Chinese webhook subscriber each get the update once,
in their language, and the unconfirmed one nothing; the e-mail's unsubscribe link works."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from playwright.sync_api import expect

from crisisflow import clock
from crisisflow.alerts.models import Channel, Notification
from crisisflow.commitments import actions as commitments
from crisisflow.commitments.models import Commitment
from crisisflow.commitments.promises import due_on, promises
from crisisflow.notices.actions import save_notice
from crisisflow.subscribers.models import Subscriber
from tests.receivers import HttpReceiver, SmtpSink
from tests.statements import team_incident
from tests.statements_helpers import approve_all, publish_approved, write
from tests.subscribers_helpers import confirmed, forget_low_priority_messages
from tests.workers import Processes, forget_queued_messages, worker_environment

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FAST = {"CRISISFLOW_DELIVERY_RETRY_SECONDS": "1,1,1", "CRISISFLOW_HEARTBEAT_SECONDS": "60"}


@pytest.fixture
def clean_broker():
    forget_queued_messages(settings.REDIS_URL)
    forget_low_priority_messages(settings.REDIS_URL)
    yield
    forget_queued_messages(settings.REDIS_URL)
    forget_low_priority_messages(settings.REDIS_URL)


def test_a_promise_is_kept_in_public_and_subscribers_hear_once_in_their_language(
    live_server, signed_in, chromium, people, plan, tmp_path, clean_broker
):
    incident = team_incident(people, affected_users=None)
    save_notice(people.commander, incident, title_en="Payments outage", title_zh="支付故障", slug="payments-refund")
    day = (clock.now() + timedelta(days=7)).date()
    zh_promise = f"我们将在{day.month}月{day.day}日前为所有受影响订单完成退款。"
    en_promise = f"We will refund every affected order by {day.day} {day:%B}."
    zh = write(
        people.commander,
        incident,
        "progress_update",
        "zh-hans",
        "支付已全部恢复，我们向受影响的用户致歉。" + zh_promise,
    )
    en = write(people.commander, incident, "progress_update", "en", "Payments work again; we are sorry. " + en_promise)
    notice = f"{live_server.url}/notice/payments-refund/"

    with SmtpSink() as sink, HttpReceiver() as hooks:
        confirmed(incident=incident, address="reader@example.com", language="en")
        hook_reader = confirmed("webhook", hooks.url_for("/zh"), incident=incident, language="zh-hans", secret="s" * 20)
        Subscriber.objects.create(
            kind="email",
            address="pending@example.com",
            scope=f"incident:{incident.pk}",
            incident=incident,
            language="en",
            created_at=clock.now(),
        )
        env = worker_environment(
            tmp_path, EMAIL_HOST=sink.host, EMAIL_PORT=str(sink.port), SITE_URL=live_server.url, **FAST
        )
        with Processes(tmp_path, env) as processes:
            processes.wait_ready(processes.worker("worker"))

            # The commander makes the Chinese promise a commitment, from the editor; it is
            # due on the day it names.
            room = signed_in(people.commander)
            room.goto(f"{live_server.url}/incidents/{incident.reference}/statements/{zh.pk}/")
            room.locator("#live-lint .promises a").click()
            expect(room.locator("textarea[name=sentence]")).to_have_value(zh_promise)
            expect(room.locator("input[name=due_at]")).to_have_value(day.isoformat())
            room.select_option("select[name=owner]", str(people.legal.pk))
            room.fill("input[name=scope]", "所有受影响订单的用户")
            room.get_by_role("button", name="Record the commitment").click()
            expect(room.locator("table")).to_contain_text(zh_promise)
            promised = Commitment.objects.get(statement=zh)
            assert promised.due_at == due_on(day) and promised.owner == people.legal
            # The English one through the same use case (as the API would).
            en.refresh_from_db()
            [sentence] = [p.sentence for p in promises(en.current)]
            commitments.create_commitment(
                people.commander,
                incident,
                text=sentence,
                owner=people.legal,
                statement_version=en.current_id,
                sentence=sentence,
            )

            # Approved and published in both languages: the Chinese waits for the English.
            approve_all(people, zh)
            approve_all(people, en)
            publish_approved(people, zh)
            publish_approved(people, en)

            # The public page: the statement and the commitment, in each language.
            for locale, words in (("zh-CN", zh_promise), ("en-US", en_promise)):
                context = chromium.new_context(viewport={"width": 375, "height": 812}, locale=locale)
                phone = context.new_page()
                phone.goto(notice)
                expect(phone.locator("main")).to_contain_text(words)
                expect(phone.locator("section[aria-labelledby=commitments]")).to_contain_text(words)
                context.close()

            # The owner marks it kept, with evidence; the public page shows it.
            owner = signed_in(people.legal)
            owner.goto(f"{live_server.url}/incidents/{incident.reference}/commitments/")
            kept = owner.locator(f"form[action$='/commitments/{promised.pk}/kept/']")
            kept.locator("input[name=summary]").fill("全部 1,204 笔订单已退款")
            kept.get_by_role("button", name="Mark kept").click()
            expect(owner.locator(f"#c{promised.pk}")).to_contain_text("全部 1,204 笔订单已退款")
            public = chromium.new_context(locale="zh-CN")
            reader = public.new_page()
            reader.goto(notice)
            expect(reader.locator(f"#c{promised.pk} .badge.kept")).to_be_visible()
            expect(reader.locator(f"#c{promised.pk}")).to_contain_text("全部 1,204 笔订单已退款")

            # Each confirmed subscriber told once, in their language; the pending one not.
            rows = Notification.objects.filter(channel=Channel.SUBSCRIBER)
            processes.wait_for(
                lambda: rows.filter(state=Notification.State.DELIVERED).count() == 2, "both subscribers told"
            )
            assert rows.count() == 2
            by_mail = {row.idempotency_key: 1 for row in rows.exclude(target=hook_reader.target)}
            assert sink.by_key() == by_mail
            assert hooks.by_key() == {rows.get(target=hook_reader.target).idempotency_key: 1}
            [mail] = sink.messages
            assert mail["To"] == "reader@example.com"
            body = mail.get_body(preferencelist=("plain",)).get_content()
            assert en_promise in body and zh_promise not in body
            [hook] = hooks.requests
            update = hook.json()
            assert update["language"] == "zh-hans" and zh_promise in update["statement"]["body"]

            # Unsubscribing from the e-mail's link, in the browser.
            link = re.search(r"https?://\S+/unsubscribe/\S+/", body).group(0)
            assert link.startswith(live_server.url)
            reader.goto(link)
            reader.get_by_role("button", name="退订").click()
            expect(reader.locator("main")).to_contain_text("您将不再收到此订阅的更新。")
            public.close()
    assert Subscriber.objects.get(address="reader@example.com").state == Subscriber.State.UNSUBSCRIBED
