"""Delivering the outbox: each notification reaches its receiver once per idempotency
key, retries wait for their backoff, failures end on the timeline and in the
commander's inbox. Notifications come from really fired rungs; receivers are real
local HTTP and SMTP servers (tests/receivers.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from crisisflow.alerts import channels, delivery, tasks
from crisisflow.alerts.models import Notification, WebhookEndpoint
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents import timeline
from crisisflow.incidents.models import Incident
from tests.conftest import T0
from tests.flows import report, walk_to
from tests.receivers import HttpReceiver, Reply, http_receiver_fixture, smtp_sink_fixture  # noqa: F401

# The plan's "legal-review" is due 3 hours after detection (T0); its owner is the legal
# lead, and the commander hears of it 30 minutes later.
DUE = T0 + timedelta(hours=3)
ESCALATED = DUE + timedelta(minutes=30)
WAITS = [10, 30, 120, 600]  # DELIVERY_RETRY_SECONDS's default


@pytest.fixture(autouse=True)
def one_message_per_rung(settings):
    """These tests follow single rungs through delivery; digests are tested apart
    (tests/test_alerts__digest.py)."""
    settings.CRISISFLOW = {**settings.CRISISFLOW, "DIGESTS": False}


@pytest.fixture
def incident(people, plan) -> Incident:
    with time_machine.travel(T0, tick=False):
        return walk_to(people, report(people), "team_assembled")


def fire(at) -> list[int]:
    """Sweep at `at` until no more rungs are due; the ids the sweep wrote to send."""
    ids: list[int] = []
    with time_machine.travel(at, tick=False):
        while True:
            swept = sweep()
            ids += swept.notifications
            if not swept.fired:
                return ids


def deliver(pk: int, at) -> str:
    with time_machine.travel(at, tick=False):
        return delivery.deliver_one(pk)


def crisis_room(receiver: HttpReceiver, **fields) -> WebhookEndpoint:
    defaults = dict(name="Crisis room", url=receiver.url_for("/hooks/crisis"), escalations_only=True)
    return WebhookEndpoint.objects.create(**{**defaults, **fields})


def due_webhook() -> Notification:
    return Notification.objects.get(channel="webhook", kind="due")


def test_a_500_is_retried_after_its_backoff_and_delivered_once(incident, http_receiver):
    http_receiver.reply_with(500, 500, then=200)
    crisis_room(http_receiver)
    fire(DUE)
    row = due_webhook()
    key = row.idempotency_key

    assert deliver(row.pk, DUE) == "retry"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == DUE + timedelta(seconds=10)
    assert row.enqueued_at is None  # no broker countdown: the sweep re-queues it when due
    assert row.last_error.startswith("HTTP 500 from http://127.0.0.1:")

    # Before the backoff is over nobody may send it, and the sweep leaves it alone.
    assert deliver(row.pk, DUE + timedelta(seconds=9)) == "skipped"
    with time_machine.travel(DUE + timedelta(seconds=9), tick=False):
        assert row.pk not in sweep().redriven

    with time_machine.travel(DUE + timedelta(seconds=10), tick=False):
        assert row.pk in sweep().redriven
    assert deliver(row.pk, DUE + timedelta(seconds=10)) == "retry"
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at == DUE + timedelta(seconds=10 + 30)

    assert deliver(row.pk, DUE + timedelta(seconds=39)) == "skipped"
    with time_machine.travel(DUE + timedelta(seconds=40), tick=False):
        assert row.pk in sweep().redriven
    assert deliver(row.pk, DUE + timedelta(seconds=40)) == "delivered"

    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == ("delivered", 3, "")
    assert row.delivered_at == DUE + timedelta(seconds=40)
    assert http_receiver.by_key() == {key: 3}
    assert http_receiver.by_key(accepted_only=True) == {key: 1}

    # Delivered is final: later calls and sweeps do not send it again.
    assert deliver(row.pk, DUE + timedelta(hours=1)) == "skipped"
    with time_machine.travel(DUE + timedelta(hours=1), tick=False):
        assert row.pk not in sweep().redriven
    assert len(http_receiver.requests) == 3


def test_always_500_fails_after_the_last_retry_on_the_timeline_and_to_the_commander(people, incident, http_receiver):
    http_receiver.reply_with(then=500)
    crisis_room(http_receiver)
    fire(DUE)
    row = due_webhook()

    at = DUE
    for wait in WAITS:
        assert delivery.deliver_one(row.pk, now=at) == "retry"
        at += timedelta(seconds=wait)
    assert delivery.deliver_one(row.pk, now=at) == "failed"

    row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", 5)
    url = http_receiver.url
    assert row.last_error == f"HTTP 500 from {url}/…: status 500 from the receiver (gave up after 5 attempts)"
    assert len(http_receiver.requests) == 5
    assert delivery.deliver_one(row.pk, now=at + timedelta(hours=1)) == "skipped"

    event = incident.events.get(kind="delivery")
    assert event.data == {"channel": "webhook", "target": "Crisis room", "attempts": 5, "error": row.last_error}
    assert event.at == at and event.task == row.task
    assert timeline.describe(event) == (
        f"Delivery failed: chat / webhook to Crisis room after 5 attempts — {row.last_error}"
    )
    assert timeline.verify(incident) is None

    notice = Notification.objects.get(kind="delivery_failed")
    assert (notice.channel, notice.recipient, notice.state) == ("in_app", people.commander, "delivered")
    assert (notice.source, notice.target, notice.delivered_at) == (
        f"failed:{row.pk}",
        f"user:{people.commander.pk}",
        at,
    )
    assert notice.payload["failed"] == {
        "notification": row.pk,
        "kind": "due",
        "rung": "due",
        "channel": "webhook",
        "target": "Crisis room",
        "attempts": 5,
        "error": row.last_error,
    }
    assert notice.payload["incident"]["reference"] == incident.reference
    assert delivery.deliver_one(notice.pk, now=at) == "skipped"  # in-app: nothing to send


def test_a_404_fails_at_once(people, incident, http_receiver):
    http_receiver.reply_with(404)
    crisis_room(http_receiver, url=http_receiver.url_for("/moved", token="s3cret"))
    fire(DUE)
    row = due_webhook()

    assert deliver(row.pk, DUE) == "failed"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error == f"HTTP 404 from {http_receiver.url}/…: status 404 from the receiver"
    assert "s3cret" not in row.last_error  # the URL's token never reaches the timeline
    assert incident.events.filter(kind="delivery").count() == 1
    assert Notification.objects.filter(kind="delivery_failed", recipient=people.commander).count() == 1
    assert len(http_receiver.requests) == 1


def test_in_app_rows_are_delivered_when_written_and_skipped_by_workers(incident):
    fire(DUE)
    row = Notification.objects.filter(channel="in_app").first()
    assert row.state == "delivered"
    assert deliver(row.pk, DUE) == "skipped"


def test_e_mail_in_each_recipients_language_and_time_zone(people, incident, smtp_sink):
    people.legal.email, people.legal.language, people.legal.time_zone = "legal@example.com", "zh-hans", "Asia/Shanghai"
    people.legal.save()
    people.commander.email, people.commander.language = "commander@example.com", "en"
    people.commander.time_zone = "America/New_York"
    people.commander.save()
    fire(DUE)
    fire(ESCALATED)
    due = Notification.objects.get(channel="email", kind="due")
    overdue = Notification.objects.get(channel="email", kind="escalation")
    assert (due.recipient, overdue.recipient) == (people.legal, people.commander)

    assert deliver(due.pk, ESCALATED) == "delivered"
    assert deliver(overdue.pk, ESCALATED) == "delivered"
    assert deliver(due.pk, ESCALATED) == "skipped"
    assert smtp_sink.by_key() == {due.idempotency_key: 1, overdue.idempotency_key: 1}
    chinese, english = smtp_sink.messages

    # zh-hans, in Shanghai time (12:00 UTC is 20:00 there).
    assert chinese["To"] == "legal@example.com"
    assert chinese["Message-ID"] == f"<crisisflow-notification-{due.pk}@127.0.0.1>"
    assert chinese["X-CrisisFlow-Idempotency-Key"] == due.idempotency_key
    assert chinese["Content-Language"] == "zh-hans"
    with translation.override("zh-hans"):
        due_now = translation.gettext("Due now")
    # (Python folds a long encoded subject onto a second line; read it without the fold.)
    assert chinese["Subject"].strip() == f"[{incident.reference}] {due_now}: “【Legal review】”"
    text = chinese.get_body(("plain",)).get_content()
    html = chinese.get_body(("html",)).get_content()
    for part in (text, html):
        assert "【Legal review】" in part
        assert "高" in part  # severity "High"
        assert "2026-03-02 20:00 Asia/Shanghai" in part
        assert f"/incidents/{incident.reference}" in part
        assert "Legal review" not in part.replace("【Legal review】", "")

    # English, in New York time (12:00 UTC is 07:00 there).
    assert english["To"] == "commander@example.com"
    assert english["Content-Language"] == "en"
    assert english["Message-ID"] == f"<crisisflow-notification-{overdue.pk}@127.0.0.1>"
    assert english["Subject"].strip() == f"[{incident.reference}] Overdue: “Legal review”"
    text = english.get_body(("plain",)).get_content()
    assert text.splitlines()[0] == (
        "This task is overdue: it was due at 2026-03-02 07:00 America/New_York and is not finished."
    )
    assert f"Incident: {incident.reference} — Payments down in East China" in text
    assert "Severity: High" in text
    assert "Task: Legal review" in text
    assert f"Open in CrisisFlow: http://127.0.0.1:8000/incidents/{incident.reference}/#task-{overdue.task_id}" in text
    assert f"Reference: {overdue.idempotency_key}" in text
    html = english.get_body(("html",)).get_content()
    assert '<html lang="en">' in html
    assert f'href="http://127.0.0.1:8000/incidents/{incident.reference}/#task-{overdue.task_id}"' in html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent connections")
def test_two_workers_racing_for_the_same_rows_send_each_once(people, plan, http_receiver):
    with time_machine.travel(T0, tick=False):
        walk_to(people, report(people), "team_assembled")
    crisis_room(http_receiver, escalations_only=False)
    fire(DUE)
    fire(ESCALATED)
    rows = list(Notification.objects.filter(channel="webhook").values_list("pk", flat=True))
    assert len(rows) >= 5

    for pk in rows:
        barrier = threading.Barrier(2)
        results: list[str] = []

        def worker(pk: int = pk, barrier: threading.Barrier = barrier, results: list[str] = results) -> None:
            try:
                barrier.wait(timeout=10)
                results.append(delivery.deliver_one(pk, now=ESCALATED))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results) == ["delivered", "skipped"], (pk, results)

    assert http_receiver.by_key() == {f"crisisflow-notification-{pk}": 1 for pk in rows}
    assert set(Notification.objects.filter(pk__in=rows).values_list("state", "attempts")) == {("delivered", 1)}


def test_a_worker_dying_mid_send_leaves_a_lease_the_sweep_turns_back(incident, http_receiver):
    crisis_room(http_receiver)
    fire(DUE)
    row = due_webhook()

    # A worker claims the row and dies before sending.
    assert delivery.claim(row.pk, DUE)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.lease_until) == ("sending", 1, DUE + timedelta(seconds=60))

    # While the lease runs nobody else sends it.
    assert deliver(row.pk, DUE + timedelta(seconds=30)) == "skipped"
    with time_machine.travel(DUE + timedelta(seconds=59), tick=False):
        assert row.pk not in sweep().redriven
    assert http_receiver.requests == []

    with time_machine.travel(DUE + timedelta(seconds=60), tick=False):
        assert row.pk in sweep().redriven
    row.refresh_from_db()
    assert row.state == "pending"
    assert deliver(row.pk, DUE + timedelta(seconds=60)) == "delivered"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("delivered", 2)
    assert http_receiver.by_key() == {row.idempotency_key: 1}


def test_a_row_whose_workers_always_die_is_given_up(people, incident, http_receiver):
    crisis_room(http_receiver)
    fire(DUE)
    row = due_webhook()
    at = DUE
    for _ in range(len(WAITS) + 1):
        assert delivery.claim(row.pk, at)  # … and the worker dies
        at += timedelta(seconds=60)
        with time_machine.travel(at, tick=False):
            assert row.pk in sweep().redriven
    assert deliver(row.pk, at) == "failed"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", 6)
    assert row.last_error == "gave up after 5 attempts that never finished"
    assert http_receiver.requests == []
    assert Notification.objects.filter(kind="delivery_failed", recipient=people.commander).exists()


def test_the_celery_task_delivers_through_deliver_one(incident, http_receiver):
    crisis_room(http_receiver)
    ids = fire(DUE)
    row = due_webhook()
    assert row.pk in ids
    with time_machine.travel(DUE, tick=False):
        tasks.deliver.apply(args=[ids])  # in this process, as a worker would run it
    row.refresh_from_db()
    assert row.state == "delivered"
    assert http_receiver.by_key() == {row.idempotency_key: 1}


# --- batches: one claim, one read, outcomes in bulk -------------------------------------


def team_rooms(receiver: HttpReceiver, count: int) -> list[WebhookEndpoint]:
    return [crisis_room(receiver, name=f"Room {n}", url=receiver.url_for(f"/hooks/{n}")) for n in range(count)]


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "row-by-row-claims"])
def test_a_batch_is_claimed_read_and_marked_in_a_few_queries(incident, http_receiver, monkeypatch, returning):
    if not returning:  # SQLite before 3.35 has no UPDATE … RETURNING: one claim per row
        monkeypatch.setattr(delivery, "update_returning_supported", lambda: False)
    monkeypatch.setattr(delivery, "FLUSH_SECONDS", 60.0)  # one write of outcomes, however slow the machine
    team_rooms(http_receiver, 6)
    fire(DUE)
    ids = list(Notification.objects.filter(channel="webhook").values_list("pk", flat=True))
    assert len(ids) == 6

    with CaptureQueriesContext(connection) as queries, time_machine.travel(DUE, tick=False):
        outcomes = delivery.deliver_many(ids)
    assert outcomes == dict.fromkeys(ids, "delivered")
    # Claim, read, mark delivered; without RETURNING, a claim per row and a read of the attempts.
    assert len(queries) == (3 if returning else 6 + 3)
    assert set(Notification.objects.filter(pk__in=ids).values_list("state", "attempts", "delivered_at")) == {
        ("delivered", 1, DUE)
    }
    assert http_receiver.by_key() == {f"crisisflow-notification-{pk}": 1 for pk in ids}

    # Nothing of it is claimed twice.
    with time_machine.travel(DUE, tick=False):
        assert delivery.deliver_many(ids) == dict.fromkeys(ids, "skipped")


def test_a_message_to_many_targets_is_rendered_once_per_language(incident, http_receiver, monkeypatch):
    team_rooms(http_receiver, 5)
    fire(DUE)
    rows = list(Notification.objects.filter(channel="webhook"))
    languages: list[str] = []
    real_render = channels.render

    def counting_render(notification, language, *args, **kwargs):
        languages.append(language)
        return real_render(notification, language, *args, **kwargs)

    monkeypatch.setattr(channels, "render", counting_render)
    with time_machine.travel(DUE, tick=False):
        delivery.deliver_many([row.pk for row in rows])
    assert len(rows) == 5
    assert languages == ["en"]
    # … and each message still carries its own key.
    for got in http_receiver.requests:
        key = got.headers["X-CrisisFlow-Idempotency-Key"]
        assert got.json()["text"].rstrip().endswith(f"Reference: {key}")


def test_e_mails_of_a_batch_share_one_smtp_connection(people, incident, smtp_sink):
    for person in (people.legal, people.commander):
        person.email = f"{person.username}@example.com"
        person.save()
    people.legal.language, people.commander.language = "en", "zh-hans"
    people.legal.save()
    people.commander.save()
    fire(DUE)
    fire(ESCALATED)
    ids = [Notification.objects.get(channel="email", kind=kind).pk for kind in ("due", "escalation")]
    with time_machine.travel(ESCALATED, tick=False):
        assert delivery.deliver_many(ids) == dict.fromkeys(ids, "delivered")
    assert len(smtp_sink.mails) == 2
    assert len({mail.peer for mail in smtp_sink.mails}) == 1
    assert {m["Content-Language"] for m in smtp_sink.messages} == {"en", "zh-hans"}


def test_an_smtp_error_in_a_batch_opens_a_new_connection_for_the_next(people, incident, smtp_sink):
    smtp_sink.reply_with("451 4.3.0 Try again later")
    for person in (people.legal, people.commander):
        person.email = f"{person.username}@example.com"
        person.save()
    fire(DUE)
    fire(ESCALATED)
    first, second = [Notification.objects.get(channel="email", kind=kind).pk for kind in ("due", "escalation")]
    with time_machine.travel(ESCALATED, tick=False):
        assert delivery.deliver_many([first, second]) == {first: "retry", second: "delivered"}
    assert smtp_sink.by_key() == {f"crisisflow-notification-{second}": 1}


def test_a_batch_that_runs_long_hands_back_the_rows_it_did_not_reach(incident, http_receiver, settings):
    """Half the lease is the batch's budget: rows not reached by then go back to pending
    (their attempt not counted) for the next sweep to queue, rather than being sent
    after their lease may have lapsed."""
    settings.CRISISFLOW = {**settings.CRISISFLOW, "DELIVERY_LEASE_SECONDS": 1.0}
    http_receiver.reply_with(Reply(200, delay=0.6))
    team_rooms(http_receiver, 3)
    fire(DUE)
    first, *rest = Notification.objects.filter(channel="webhook").order_by("pk").values_list("pk", flat=True)
    with time_machine.travel(DUE, tick=False):
        outcomes = delivery.deliver_many([first, *rest])
    assert outcomes == {first: "delivered", **dict.fromkeys(rest, "skipped")}
    assert set(Notification.objects.filter(pk__in=rest).values_list("state", "attempts", "enqueued_at")) == {
        ("pending", 0, None)
    }
    with time_machine.travel(DUE, tick=False):
        assert set(rest) <= set(sweep().redriven)
    http_receiver.reply_with(200)
    with time_machine.travel(DUE, tick=False):
        assert delivery.deliver_many(rest) == dict.fromkeys(rest, "delivered")
    assert http_receiver.by_key() == {f"crisisflow-notification-{pk}": 1 for pk in [first, *rest]}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent connections")
def test_two_workers_claiming_the_same_batch_send_each_row_once(people, plan, http_receiver):
    with time_machine.travel(T0, tick=False):
        walk_to(people, report(people), "team_assembled")
    team_rooms(http_receiver, 10)
    fire(DUE)
    ids = list(Notification.objects.filter(channel="webhook").values_list("pk", flat=True))
    barrier = threading.Barrier(2)
    results: list[dict[int, str]] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(delivery.deliver_many(ids, now=DUE))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 2
    for pk in ids:
        assert sorted(r[pk] for r in results) == ["delivered", "skipped"], pk
    assert http_receiver.by_key() == {f"crisisflow-notification-{pk}": 1 for pk in ids}
