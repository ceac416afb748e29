"""The zh-Hans and English versions of one publication go out as one: each subscriber
gets the version in their language, once. The readers of the published language are told
at once; the others wait a while for their version only when it is on its way (being
written or approved, not a template draft nobody touched), and get the published one
with a short note in their language when it does not come in time."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from crisisflow.alerts.delivery import deliver_many
from crisisflow.alerts.models import Channel, Notification
from crisisflow.incidents.models import Event
from crisisflow.incidents.timeline import describe
from crisisflow.statements import drafting
from crisisflow.subscribers import fanout, sending
from crisisflow.subscribers.models import FanOut, Subscriber
from tests.conftest import T0
from tests.flows import report, walk_to
from tests.statements_helpers import approve_all, edit, publish_approved, write
from tests.subscribers_helpers import confirmed, open_notice

pytestmark = pytest.mark.django_db

ZH = "华东地区的支付已于今天上午恢复。我们向受影响的用户诚恳致歉。"
EN = "Payments in East China work again since this morning. We apologise to everyone affected."
NOTE = "It is not published in your language yet"
HOOK = "https://hooks.example.com/zh"
EVERYONE = {"en@example.com", "zh@example.com", HOOK}
CHINESE_READERS = {"zh@example.com", HOOK}
WINDOW = timedelta(seconds=300)  # SUBSCRIBER_PAIRING_SECONDS


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people, detected_at=T0), "team_assembled")
        open_notice(people.commander, incident)
    confirmed(incident=incident, address="en@example.com", language="en")
    confirmed(incident=incident, address="zh@example.com", language="zh-hans")
    confirmed("webhook", HOOK, incident=incident, language="zh-hans", secret="s" * 20)
    return incident


@pytest.fixture
def queued(monkeypatch):
    """The fan-outs queued for a worker, in order (the worker's function is then called
    directly, at a frozen time)."""
    ids: list[int] = []
    monkeypatch.setattr(fanout, "queue", ids.append)
    return ids


def update(people, incident, language, body, *, approve=True):
    with time_machine.travel(T0, tick=False):
        statement = write(people.commander, incident, "progress_update", language=language, body=body)
        if approve:
            approve_all(people, statement)
    return statement


def from_template(people, incident, language):
    """The draft the message set makes: the template's text, nobody has written it."""
    with time_machine.travel(T0, tick=False):
        return drafting.draft_statement(people.commander, incident, "progress_update", language)


def publish(people, statement, at=T0, capture=None):
    with time_machine.travel(at, tick=False):
        if capture is None:
            return publish_approved(people, statement)
        with capture(execute=True):
            return publish_approved(people, statement)


def run(job: FanOut, at, **chunks) -> int:
    with time_machine.travel(at, tick=False):
        return fanout.run(job.pk, **chunks)


def jobs(publication) -> dict[str, FanOut]:
    """The publication's fan-outs by their readers ("" everyone, or a language)."""
    return {job.readers: job for job in FanOut.objects.filter(publication=publication)}


def run_due(at) -> int:
    """What the sweep queues at `at`, run by a worker then."""
    return sum(run(FanOut.objects.get(pk=row[0]), at) for row in fanout.due(at, 10))


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


def notified(incident) -> list[str]:
    return [describe(e) for e in Event.objects.filter(incident=incident, kind=fanout.NOTIFIED).order_by("seq")]


def test_readers_of_the_published_language_hear_at_once_the_others_get_theirs_when_it_comes(
    people, incident, queued, django_capture_on_commit_callbacks
):
    zh = update(people, incident, "zh-hans", ZH)
    # The message set's English draft, which someone is writing: it is on its way.
    en = from_template(people, incident, "en")
    with time_machine.travel(T0, tick=False):
        edit(people.commander, en, EN)
    first = publish(people, zh, capture=django_capture_on_commit_callbacks)
    at_once, waiting = jobs(first)["zh-hans"], jobs(first)["en"]
    assert queued == [at_once.pk]  # the English readers' fan-out waits
    assert at_once.hold_until is None and waiting.hold_until == T0 + WINDOW
    # A worker dies after its first chunk; the next one takes over when its lease lapses.
    assert run(at_once, T0, chunk=1, stop_after=1) == 1
    assert run(at_once, T0 + timedelta(seconds=10)) == 0  # the lease still holds
    assert run(at_once, T0 + timedelta(minutes=1)) == 1
    assert set(told()) == CHINESE_READERS
    assert run(waiting, T0 + timedelta(minutes=1)) == 0  # a worker that got it early leaves it be
    assert run_due(T0 + WINDOW - timedelta(seconds=1)) == 0  # the English readers hear nothing yet

    # The English version is approved and published within the window: its readers get it.
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        approve_all(people, en)
    second = publish(people, en, T0 + timedelta(minutes=3), capture=django_capture_on_commit_callbacks)
    assert queued == [at_once.pk, waiting.pk]
    assert FanOut.objects.count() == 2  # one publication, two languages
    waiting.refresh_from_db()
    assert waiting.paired == second and waiting.hold_until is None
    assert run(waiting, T0 + timedelta(minutes=3)) == 1

    rows = told()  # nobody twice
    assert set(rows) == EVERYONE
    mails = sent_mail()
    assert EN in mails["en@example.com"].body and ZH not in mails["en@example.com"].body
    assert ZH in mails["zh@example.com"].body and EN not in mails["zh@example.com"].body
    assert NOTE not in mails["en@example.com"].body and NOTE not in mails["zh@example.com"].body
    hook = webhook_json(rows[HOOK])
    assert hook["language"] == "zh-hans" and hook["statement"]["body"] == ZH
    assert notified(incident) == [
        "Public subscribers who read Chinese told of the publication: 2",
        "Public subscribers who read English told of the publication: 1",
    ]

    # Published again on another channel, and every later sweep: nobody is told twice.
    with time_machine.travel(T0 + timedelta(minutes=4), tick=False):
        publish_approved(people, en, "weibo", "weibo-1")
    assert run_due(T0 + 2 * WINDOW) == 0
    assert FanOut.objects.count() == 2 and Notification.objects.filter(channel=Channel.SUBSCRIBER).count() == 3


def test_after_the_window_the_other_readers_get_the_published_one_with_a_note_once(
    people, incident, queued, django_capture_on_commit_callbacks
):
    zh = update(people, incident, "zh-hans", ZH)
    en = update(people, incident, "en", EN, approve=False)  # a draft someone wrote
    publication = publish(people, zh, capture=django_capture_on_commit_callbacks)
    at_once, waiting = jobs(publication)["zh-hans"], jobs(publication)["en"]
    assert run(at_once, T0) == 2
    assert fanout.due(T0 + WINDOW - timedelta(seconds=1), 10) == []
    # The wait is over: the sweep queues it, and it goes with the Chinese version.
    assert [row[0] for row in fanout.due(T0 + WINDOW, 10)] == [waiting.pk]
    assert run_due(T0 + WINDOW) == 1
    assert set(told()) == EVERYONE
    mails = sent_mail()
    assert ZH in mails["en@example.com"].body and NOTE in mails["en@example.com"].body
    assert NOTE not in mails["zh@example.com"].body

    # The English one, published just after the window, is the same publication: nobody
    # hears of it twice (the notice page shows it).
    with time_machine.travel(T0 + WINDOW, tick=False):
        approve_all(people, en)
    publish(people, en, T0 + WINDOW + timedelta(seconds=30), capture=django_capture_on_commit_callbacks)
    assert run_due(T0 + 2 * WINDOW) == 0
    assert FanOut.objects.count() == 2
    assert Notification.objects.filter(channel=Channel.SUBSCRIBER).count() == 3

    # A later update in English alone is a new publication: everyone hears of it once.
    later = update(people, incident, "en", EN + " Refunds are complete.")
    third = publish(people, later, T0 + 3 * WINDOW, capture=django_capture_on_commit_callbacks)
    assert list(jobs(third)) == [""]  # nothing on its way in Chinese: nobody waits
    assert run(jobs(third)[""], T0 + 3 * WINDOW) == 3


def test_a_template_draft_nobody_touched_is_not_waited_for(
    people, incident, queued, django_capture_on_commit_callbacks
):
    zh = update(people, incident, "zh-hans", ZH)
    from_template(people, incident, "en")  # the message set's English draft, untouched
    publication = publish(people, zh, capture=django_capture_on_commit_callbacks)
    everyone = jobs(publication)
    assert list(everyone) == [""] and everyone[""].hold_until is None
    assert queued == [everyone[""].pk]
    assert run(everyone[""], T0) == 3
    rows = told()
    assert set(rows) == EVERYONE
    mails = sent_mail()
    assert ZH in mails["en@example.com"].body and NOTE in mails["en@example.com"].body
    assert NOTE not in mails["zh@example.com"].body and NOTE not in webhook_json(rows[HOOK])["text"]
    assert notified(incident) == ["Public subscribers told of the publication: 3"]


def test_one_language_only_goes_to_everyone_at_once_with_a_note(
    people, incident, queued, django_capture_on_commit_callbacks
):
    zh = update(people, incident, "zh-hans", ZH)  # no English statement of this kind at all
    publication = publish(people, zh, capture=django_capture_on_commit_callbacks)
    job = FanOut.objects.get(publication=publication)
    assert job.hold_until is None and queued == [job.pk]
    assert run(job, T0) == 3
    mails = sent_mail()
    assert ZH in mails["en@example.com"].body and NOTE in mails["en@example.com"].body
    assert NOTE not in mails["zh@example.com"].body


def test_both_languages_published_each_reader_gets_theirs_at_once(
    people, incident, queued, django_capture_on_commit_callbacks
):
    zh = update(people, incident, "zh-hans", ZH)
    en = update(people, incident, "en", EN)
    first = publish(people, zh, capture=django_capture_on_commit_callbacks)
    second = publish(people, en, capture=django_capture_on_commit_callbacks)
    # Both queued at once, nothing left for the sweep to wait for.
    assert queued == [jobs(first)["zh-hans"].pk, jobs(first)["en"].pk]
    assert not FanOut.objects.filter(publication=second).exists()
    assert sum(run(FanOut.objects.get(pk=pk), T0) for pk in queued) == 3
    assert run_due(T0 + 2 * WINDOW) == 0
    rows = told()
    assert set(rows) == EVERYONE
    mails = sent_mail()
    assert EN in mails["en@example.com"].body and ZH not in mails["en@example.com"].body
    assert ZH in mails["zh@example.com"].body and EN not in mails["zh@example.com"].body
    hook = webhook_json(rows[HOOK])
    assert hook["statement"]["language"] == "zh-hans" and hook["statement"]["body"] == ZH
