"""The fan-out through real processes: a worker SIGKILLed while it writes a
publication's outbox rows, a new worker and the sweep finish the job. Every confirmed
subscriber gets the update, and nobody gets it twice beyond a send in flight at the
kill (which carries the same idempotency key)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.utils import timezone

from crisisflow.alerts.models import Channel, Notification
from crisisflow.subscribers.models import FanOut, Subscriber
from tests.receivers import SmtpSink
from tests.subscribers_helpers import forget_low_priority_messages, incident_with_statement, publish
from tests.workers import Processes, forget_queued_messages, worker_environment

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SUBSCRIBERS = 600
FAST = {
    "CRISISFLOW_SWEEP_SECONDS": "0.5",
    "CRISISFLOW_DELIVERY_LEASE_SECONDS": "3",
    "CRISISFLOW_DELIVERY_REDRIVE_AFTER_SECONDS": "3",
    "CRISISFLOW_DELIVERY_RETRY_SECONDS": "1,1,1",
    "CRISISFLOW_HEARTBEAT_SECONDS": "60",
    "CRISISFLOW_SUBSCRIBER_FANOUT_CHUNK": "10",
    "CRISISFLOW_SUBSCRIBER_FANOUT_LEASE_SECONDS": "2",
}


@pytest.fixture
def clean_broker():
    forget_queued_messages(settings.REDIS_URL)
    forget_low_priority_messages(settings.REDIS_URL)
    yield
    forget_queued_messages(settings.REDIS_URL)
    forget_low_priority_messages(settings.REDIS_URL)


def test_a_worker_killed_mid_fan_out_tells_every_subscriber_once(people, plan, tmp_path, clean_broker):
    incident, statement = incident_with_statement(people)
    now = timezone.now()
    Subscriber.objects.bulk_create(
        Subscriber(
            kind="email",
            address=f"reader{n}@example.com",
            scope=f"incident:{incident.pk}" if n % 3 else "all",
            incident=incident if n % 3 else None,
            language="zh-hans" if n % 2 else "en",
            state="confirmed",
            created_at=now,
            confirmed_at=now,
        )
        for n in range(SUBSCRIBERS)
    )
    Subscriber.objects.create(
        kind="email", address="pending@example.com", language="en", state="pending", created_at=now
    )
    rows = Notification.objects.filter(channel=Channel.SUBSCRIBER)
    with SmtpSink() as sink:
        env = worker_environment(tmp_path, EMAIL_HOST=sink.host, EMAIL_PORT=str(sink.port), **FAST)
        with Processes(tmp_path, env) as processes:
            first = processes.worker("worker-1")
            processes.wait_ready(first)
            publication = publish(people, statement)  # commits: the fan-out task is queued
            fanout = FanOut.objects.get(publication=publication)
            processes.wait_for(
                lambda: FanOut.objects.filter(pk=fanout.pk, written__gt=0).exists(), "the fan-out under way"
            )
            processes.kill(first)
            written_at_kill = FanOut.objects.get(pk=fanout.pk).written
            processes.worker("worker-2")
            processes.beat()
            processes.wait_for(
                lambda: rows.filter(state=Notification.State.DELIVERED).count() == SUBSCRIBERS,
                f"all {SUBSCRIBERS} subscribers told",
            )
            time.sleep(1)  # a late repeat would show up now

        by_key = sink.by_key()
    print(f"fan-out killed after {written_at_kill} of {SUBSCRIBERS} rows")
    assert written_at_kill < SUBSCRIBERS, "the kill came after the fan-out; use more subscribers"
    assert rows.count() == SUBSCRIBERS
    assert rows.values("target").distinct().count() == SUBSCRIBERS
    keys = {row.idempotency_key for row in rows}
    assert set(by_key) == keys  # every subscriber, and nobody else (not the pending one)
    repeats = {key: n for key, n in by_key.items() if n > 1}
    assert len(repeats) <= 1  # at most the send in flight at the kill
    fanout.refresh_from_db()
    assert fanout.finished_at is not None and fanout.written == SUBSCRIBERS
