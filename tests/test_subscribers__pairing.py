"""The zh-Hans and English versions of one publication go out as one: each subscriber
gets the version in their language, once; with only one language published, the one
there is with a short note in the reader's language. A publication waits a while for
its other language only when that one is on its way."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from crisisflow.alerts.delivery import deliver_many
from crisisflow.alerts.models import Channel, Notification
from crisisflow.subscribers import fanout, sending
from crisisflow.subscribers.models import FanOut, Subscriber
from tests.conftest import T0
from tests.flows import report, walk_to
from tests.statements_helpers import approve_all, publish_approved, write
from tests.subscribers_helpers import confirmed, open_notice

pytestmark = pytest.mark.django_db

ZH = "华东地区的支付已于今天上午恢复。我们向受影响的用户诚恳致歉。"
EN = "Payments in East China work again since this morning. We apologise to everyone affected."
WINDOW = timedelta(seconds=600)  # SUBSCRIBER_PAIRING_SECONDS


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people, detected_at=T0), "team_assembled")
        open_notice(people.commander, incident)
    confirmed(incident=incident, address="en@example.com", language="en")
    confirmed(incident=incident, address="zh@example.com", language="zh-hans")
    confirmed("webhook", "https://hooks.example.com/zh", incident=incident, language="zh-hans", secret="s" * 20)
    return incident


def update(people, incident, language, body, *, approve=True):
    with time_machine.travel(T0, tick=False):
        statement = write(people.commander, incident, "progress_update", language=language, body=body)
        if approve:
            approve_all(people, statement)
    return statement


def publish(people, statement, at=T0):
    with time_machine.travel(at, tick=False):
        return publish_approved(people, statement)


def told() -> dict[str, Notification]:
    rows = Notification.objects.filter(channel=Channel.SUBSCRIBER)
    by_address = {}
    for row in rows:
        subscriber = Subscriber.objects.get(pk=int(row.target.split(":")[1]))
        assert subscriber.address not in by_address, "told twice"
        by_address[subscriber.address] = row
    return by_address


def sent_mail() -> dict[str, object]:
    ids = list(
        Notification.objects.filter(channel=Channel.SUBSCRIBER, target__in=_mail_targets()).values_list("pk", flat=True)
    )
    assert set(deliver_many(ids).values()) == {"delivered"}
    return {m.to[0]: m for m in mail.outbox}


def _mail_targets() -> list[str]:
    return [s.target for s in Subscriber.objects.filter(kind="email")]


def webhook_json(row: Notification) -> dict:
    subscriber = sending.subscriber_of(row)
    return json.loads(sending.webhook_body(row, subscriber, T0))


def test_both_languages_published_together_each_reader_gets_theirs_once(
    people, incident, django_capture_on_commit_callbacks
):
    zh = update(people, incident, "zh-hans", ZH)
    en = update(people, incident, "en", EN)
    with django_capture_on_commit_callbacks(execute=True):
        first = publish(people, zh)
    held = FanOut.objects.get(publication=first)
    # The English version is approved, not published: the fan-out waits for it.
    assert held.hold_until == T0 + WINDOW
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        assert fanout.run(held.pk) == 0  # a worker that got it early leaves it be
    assert fanout.due(T0 + timedelta(minutes=5), 10) == []
    with django_capture_on_commit_callbacks(execute=True):
        second = publish(people, en, T0 + timedelta(minutes=3))
    assert FanOut.objects.count() == 1  # one publication, two languages
    held.refresh_from_db()
    assert held.paired == second and held.hold_until is None
    assert fanout.run(held.pk) == 3

    rows = told()
    assert set(rows) == {"en@example.com", "zh@example.com", "https://hooks.example.com/zh"}
    mails = sent_mail()
    assert EN in mails["en@example.com"].body and ZH not in mails["en@example.com"].body
    assert ZH in mails["zh@example.com"].body and EN not in mails["zh@example.com"].body
    assert "not published in your language" not in mails["en@example.com"].body
    hook = webhook_json(rows["https://hooks.example.com/zh"])
    assert hook["language"] == "zh-hans" and hook["statement"]["language"] == "zh-hans"
    assert hook["statement"]["body"] == ZH

    # Published again on another channel: nobody is told twice.
    with time_machine.travel(T0 + timedelta(minutes=4), tick=False):
        publish_approved(people, en, "weibo", "weibo-1")
    assert FanOut.objects.count() == 1 and Notification.objects.filter(channel=Channel.SUBSCRIBER).count() == 3


def test_one_language_only_goes_with_a_note_in_the_readers_language(
    people, incident, django_capture_on_commit_callbacks
):
    zh = update(people, incident, "zh-hans", ZH)  # no English statement of this kind at all
    with django_capture_on_commit_callbacks(execute=True):
        publication = publish(people, zh)
    job = FanOut.objects.get(publication=publication)
    assert job.hold_until is None  # nothing to wait for
    assert fanout.run(job.pk) == 3
    mails = sent_mail()
    english = mails["en@example.com"]
    assert ZH in english.body
    assert "It is not published in your language yet" in english.body
    assert "not published in your language" not in mails["zh@example.com"].body
    assert (
        "It is not published in your language yet" not in webhook_json(told()["https://hooks.example.com/zh"])["text"]
    )


def test_a_fan_out_waits_only_so_long_for_the_other_language(people, incident, django_capture_on_commit_callbacks):
    zh = update(people, incident, "zh-hans", ZH)
    en = update(people, incident, "en", EN, approve=False)  # still a draft
    with django_capture_on_commit_callbacks(execute=True):
        publication = publish(people, zh)
    job = FanOut.objects.get(publication=publication)
    assert job.hold_until == T0 + WINDOW
    assert fanout.due(T0 + WINDOW - timedelta(seconds=1), 10) == []
    # The wait is over: the sweep queues it, and it goes with the Chinese version.
    assert [row[0] for row in fanout.due(T0 + WINDOW, 10)] == [job.pk]
    with time_machine.travel(T0 + WINDOW, tick=False):
        assert fanout.run(job.pk) == 3
    assert "It is not published in your language yet" in sent_mail()["en@example.com"].body

    # The English one, published later within the window, is the same publication:
    # nobody hears of it twice (the notice page shows it).
    with time_machine.travel(T0 + WINDOW, tick=False):
        approve_all(people, en)
    with django_capture_on_commit_callbacks(execute=True):
        publish(people, en, T0 + WINDOW + timedelta(seconds=30))
    assert FanOut.objects.count() == 1
    assert Notification.objects.filter(channel=Channel.SUBSCRIBER).count() == 3

    # A later update in English alone is a new publication: everyone hears of it once.
    later = update(people, incident, "en", EN + " Refunds are complete.")
    with django_capture_on_commit_callbacks(execute=True):
        third = publish(people, later, T0 + 2 * WINDOW)
    assert fanout.run(FanOut.objects.get(publication=third).pk) == 3
