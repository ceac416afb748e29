"""Deadlines through real processes: a worker killed in the middle of a burst, the
broker lost while deadlines are pending, two sweepers at once. Nothing is lost and no
rung fires twice. And a Celery sweep steps aside while another one runs.

The workers, beat and sweepers are real subprocesses on the pytest-django test database
(tests/workers.py), with a sweep every half second, leases and redrive after 3 s and
retries after 1 s. Notifications go to a real HTTP receiver (tests/receivers.py).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.db.models import Count

from crisisflow import clock
from crisisflow.alerts.models import Channel, Notification, WebhookEndpoint
from crisisflow.alerts.schedule import plan_task
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents import actions
from crisisflow.incidents.models import Event, Incident, Task
from tests.receivers import Reply
from tests.workers import (
    WAIT_SECONDS,
    DeduplicatingReceiver,
    Processes,
    RedisServer,
    forget_queued_messages,
    worker_environment,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def one_message_per_rung(settings):
    """These tests follow single rungs through delivery; digests are tested apart
    (tests/test_alerts__digest.py)."""
    settings.CRISISFLOW = {**settings.CRISISFLOW, "DIGESTS": False}


FAST = {
    "CRISISFLOW_SWEEP_SECONDS": "0.5",
    "CRISISFLOW_DELIVERY_LEASE_SECONDS": "3",
    "CRISISFLOW_DELIVERY_REDRIVE_AFTER_SECONDS": "3",
    "CRISISFLOW_DELIVERY_RETRY_SECONDS": "1,1,1",
    "CRISISFLOW_WEBHOOK_TIMEOUT_SECONDS": "5",
    "CRISISFLOW_HEARTBEAT_SECONDS": "60",
    "CRISISFLOW_DIGESTS": "0",  # each rung its own message, as the tests count them
}

# Only the "due" rung: one alert per task, one webhook message per alert.
DUE_ONLY = {"remind_at_half": False, "remind_before": [], "escalate_after": {}}


def incidents(people, count: int) -> list[Incident]:
    return [
        actions.report_incident(
            people.cs, title=f"Payments down, region {n}", severity="high", commander=people.commander
        )
        for n in range(count)
    ]


def tasks_due(people, count: int, due_at, *, spread: timedelta = timedelta(0), per_incident: int = 30) -> list[Task]:
    """`count` open tasks of the PR lead, each with one rung ("due"), falling due from
    `due_at` evenly over `spread`; on as many incidents as it takes."""
    now = clock.now()
    tasks = []
    for incident_number, incident in enumerate(incidents(people, -(-count // per_incident))):
        for n in range(min(per_incident, count - incident_number * per_incident)):
            i = incident_number * per_incident + n
            task = Task(
                incident=incident,
                key=f"statement-{i}",
                position=n,
                title={"en": f"Statement {i}", "zh": f"声明 {i}"},
                instructions={"en": "Draft it", "zh": "起草"},
                role="pr",
                stage="publish",
                anchor="detected",
                offset=timedelta(hours=1),
                due_at=due_at + spread * (i / max(1, count - 1)),
                assignee=people.pr_lead,
                ladder=DUE_ONLY,
            )
            plan_task(task, incident, now)
            tasks.append(task)
    Task.objects.bulk_create(tasks)
    return tasks


def team_chat(url: str) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name="Crisis room", url=url, secret="s3cret")


def webhook_rows():
    return Notification.objects.filter(channel=Channel.WEBHOOK)


def all_delivered(expected: int):
    def check() -> bool:
        return webhook_rows().filter(state=Notification.State.DELIVERED).count() == expected

    return check


@pytest.fixture
def clean_broker():
    """Nothing left on the tests' Redis from before, and nothing left after (a killed
    worker's unacknowledged message would come back in an hour, in another run)."""
    forget_queued_messages(settings.REDIS_URL)
    yield
    forget_queued_messages(settings.REDIS_URL)


def test_a_worker_killed_mid_burst_loses_nothing_and_sends_nothing_twice(
    people, tmp_path, record_property, clean_broker
):
    """SIGKILL reaches a worker while it works through a burst of 120 escalations to a
    slow team webhook (50 ms an answer); a new worker finishes the job.

    Every notification ends delivered, none stays "sending", and the receiver got every
    idempotency key. What a kill can cost: a message the dead worker was sending when
    it died (the receiver had it, or even answered, but "delivered" was never written)
    is sent again by the next worker once the lease lapses. Exactly-once *delivery*
    over HTTP cannot be had; exactly-once *effect* can, because every message carries
    its idempotency key and the receiver acts on each key once. So the test counts
    those repeats separately and asserts that: they are only rows the dead worker had
    claimed, there is at most one (the worker runs one task at a time), and the
    de-duplicating receiver acted on every key exactly once.
    """
    burst = 120
    with DeduplicatingReceiver(then=Reply(delay=0.05)) as receiver:
        team_chat(receiver.url_for("/hooks/crisis"))
        tasks_due(people, burst, clock.now() - timedelta(seconds=1))
        with Processes(tmp_path, worker_environment(tmp_path, **FAST)) as processes:
            first = processes.worker("worker-1")
            processes.beat()
            processes.wait_for(lambda: len(receiver.requests) >= 25, "the burst under way")
            processes.kill(first)
            seen_at_kill = len(receiver.requests)
            claimed_at_kill = set(webhook_rows().filter(state=Notification.State.SENDING).values_list("pk", flat=True))
            assert seen_at_kill < burst, "the kill came after the burst; make the receiver slower"

            processes.worker("worker-2")
            processes.wait_for(all_delivered(burst), f"all {burst} webhook notifications delivered")
            time.sleep(1)  # a late repeat would show up now

    rows = list(webhook_rows())
    assert len(rows) == burst
    assert {row.state for row in rows} == {Notification.State.DELIVERED}
    assert not Notification.objects.filter(state=Notification.State.SENDING).exists()
    keys = {row.idempotency_key for row in rows}
    assert receiver.keys_seen() == keys
    assert set(receiver.acted_on) == keys  # each key acted on, once

    repeated = receiver.repeated_keys()
    record_property("requests_at_kill", seen_at_kill)
    record_property("repeats_after_kill", len(receiver.repeats))
    print(f"kill after {seen_at_kill} requests; {len(receiver.repeats)} sent again: {sorted(repeated)}")
    assert len(receiver.repeats) <= 1
    assert repeated <= {f"crisisflow-notification-{pk}" for pk in claimed_at_kill}
    for row in rows:
        if row.idempotency_key in repeated:
            assert row.attempts == 2  # the dead worker's claim, then the next one's


def test_b_redis_lost_and_restarted_while_deadlines_are_pending(people, tmp_path):
    """The broker (a redis-server of the test's own, without persistence) is killed
    with -9 while deadlines fall due, and comes back empty on the same port: the
    messages in it are gone. Deadlines are rows, not messages, and every notification
    written is queued again by the sweep's redrive, so each one arrives, exactly once."""
    count = 40
    with DeduplicatingReceiver() as receiver, Processes(tmp_path, {}) as processes:
        redis = RedisServer(processes).start()
        env = worker_environment(tmp_path, redis_url=redis.url, **FAST)
        team_chat(receiver.url_for("/hooks/crisis"))
        worker = processes.worker(env=env)
        processes.beat(env=env)
        processes.wait_ready(worker)

        # Due over the next 2 to 10 s. The broker dies once the first has arrived, and
        # stays away for 3 s while the others fall due.
        tasks_due(people, count, clock.now() + timedelta(seconds=2), spread=timedelta(seconds=8))
        processes.wait_for(lambda: receiver.requests, "the first deadline delivered")
        redis.kill()
        written_while_away = webhook_rows().count()
        time.sleep(3)
        redis.start()
        took = processes.wait_for(all_delivered(count), f"all {count} webhook notifications delivered")
        print(f"{written_while_away} of {count} written before the broker died; all delivered {took:.1f}s after")
        time.sleep(1)  # a late repeat would show up now

    assert written_while_away < count, "the broker was not lost while deadlines were pending"
    keys = {row.idempotency_key for row in webhook_rows()}
    assert len(keys) == count
    assert dict(receiver.by_key()) == {key: 1 for key in keys}
    assert not Notification.objects.filter(state=Notification.State.SENDING).exists()


SWEEPER = """
import pathlib, sys, time
import django
django.setup()
from django.core.management import call_command
pathlib.Path(sys.argv[1]).touch()
go, deadline = pathlib.Path(sys.argv[2]), time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.002)
print(f"sweep from {time.time()!r}", flush=True)
call_command("sweep_deadlines", "--once")
print(f"sweep until {time.time()!r}", flush=True)
"""


def test_c_two_sweepers_at_once_fire_each_rung_once(people, tmp_path):
    """Two `sweep_deadlines --once` processes, released at the same instant over 300 due
    rungs: each rung is claimed by exactly one of them."""
    due = 300
    team_chat("http://127.0.0.1:9/never-called")
    tasks = tasks_due(people, due, clock.now() - timedelta(minutes=1), per_incident=25)
    # Their deliveries go to an embedded broker nobody reads: this is about the claims.
    env = worker_environment(tmp_path, redis_url="", CRISISFLOW_DIGESTS="0")
    go = tmp_path / "go"
    with Processes(tmp_path, env) as processes:
        sweepers = [processes.python(f"sweeper-{n}", SWEEPER, str(tmp_path / f"ready-{n}"), str(go)) for n in (1, 2)]
        processes.wait_for(
            lambda: all((tmp_path / f"ready-{n}").exists() for n in (1, 2)), "both sweepers ready to start"
        )
        go.touch()
        for sweeper in sweepers:
            assert sweeper.wait(WAIT_SECONDS) == 0, sweeper.output()

    fired = [_claimed(sweeper.output()) for sweeper in sweepers]
    errors = [line for sweeper in sweepers for line in sweeper.output().splitlines() if line.startswith("error ")]
    # SQLite takes one writer at a time: a sweeper that finds the database locked leaves
    # the rung for the next sweep, as with any error. One more sweep picks those up.
    leftover = sweep().fired if errors else []
    print(f"rungs fired by each sweeper: {fired}; {len(errors)} errors, fired by one more sweep: {len(leftover)}")
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        assert not errors, errors
    # They really swept at the same time. (On PostgreSQL one of them usually wins every
    # rung: it is always a step ahead, and the other waits for the incident lock, then
    # finds the rung claimed.)
    spans = [_span(sweeper.output()) for sweeper in sweepers]
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    assert sum(fired) + len(leftover) == due

    ids = [task.pk for task in tasks]
    alerts = Event.objects.filter(kind=Event.Kind.ALERT)
    assert alerts.count() == due
    assert set(alerts.values_list("task_id", flat=True)) == set(ids)
    duplicates = Notification.objects.values("source", "channel", "target").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()
    assert webhook_rows().count() == due
    assert Notification.objects.filter(channel=Channel.IN_APP).count() == due  # the PR lead, once per rung
    assert set(Task.objects.filter(pk__in=ids).values_list("alert_step", flat=True)) == {1}


def _claimed(output: str) -> int:
    found = re.search(r"^fired (\d+) rungs, wrote", output, re.MULTILINE)
    assert found, output
    return int(found.group(1))


def _span(output: str) -> tuple[float, float]:
    start = re.search(r"^sweep from ([\d.]+)$", output, re.MULTILINE)
    end = re.search(r"^sweep until ([\d.]+)$", output, re.MULTILINE)
    assert start and end, output
    return float(start.group(1)), float(end.group(1))


def test_d_a_celery_sweep_steps_aside_while_another_runs(people, monkeypatch):
    """Beat sends a sweep every half second whether the last one has finished or not.
    While one runs, the next returns at once instead of queueing up behind the same
    incident locks (the claims would keep it correct, but slow)."""
    from crisisflow.alerts import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks, "enqueue", queued.extend)
    team_chat("http://127.0.0.1:9/never-called")
    tasks_due(people, 3, clock.now() - timedelta(seconds=1))
    holding, done = threading.Event(), threading.Event()

    def other_sweep() -> None:
        try:
            with tasks._only_sweeper() as alone:
                assert alone
                holding.set()
                done.wait(timeout=WAIT_SECONDS)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_sweep)
    other.start()
    try:
        assert holding.wait(timeout=WAIT_SECONDS)
        assert tasks.sweep() == "another sweep is running"
        assert not Event.objects.filter(kind=Event.Kind.ALERT).exists()
    finally:
        done.set()
        other.join(timeout=WAIT_SECONDS)

    assert tasks.sweep().startswith("fired 3 rungs, wrote 3 notifications")
    assert sorted(queued) == sorted(webhook_rows().values_list("pk", flat=True))
