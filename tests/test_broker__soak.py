"""A soak of the embedded broker as `scripts/run` uses it: a real worker at concurrency 2
and beat on the embedded broker (a SQLite queue file), a burst of deadlines falling due
every few seconds, each delivered as a webhook, for CRISISFLOW_SOAK_SECONDS (90 s by
default, so the suite stays within its budget; set it to hours for a manual soak):

    CRISISFLOW_SOAK_SECONDS=3600 bash scripts/test tests/test_broker__soak.py

Nothing crashes, every notification is delivered, none twice, the heartbeat keeps
moving, and the queue file does not fill up with old messages.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import timedelta

import pytest

from crisisflow import clock
from crisisflow.alerts.models import Notification
from crisisflow.incidents.tasks import last_heartbeat
from tests.test_alerts__worker import FAST, all_delivered, tasks_due, team_chat, webhook_rows
from tests.workers import DeduplicatingReceiver, Processes, worker_environment

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SOAK_SECONDS = float(os.environ.get("CRISISFLOW_SOAK_SECONDS", "90"))
BURST = 20  # deadlines per burst
EVERY = 3.0  # seconds between bursts


def test_worker_and_beat_on_the_embedded_broker_survive_a_soak_of_bursts(people, tmp_path, record_property):
    env = worker_environment(tmp_path, redis_url="", **{**FAST, "CRISISFLOW_HEARTBEAT_SECONDS": "1"})
    with DeduplicatingReceiver() as receiver, Processes(tmp_path, env) as processes:
        team_chat(receiver.url_for("/hooks/crisis"))
        worker = processes.worker("soak-worker", concurrency=2)
        beat = processes.beat()
        processes.wait_ready(worker)

        bursts, written, heartbeats = 0, 0, set()
        end = time.monotonic() + SOAK_SECONDS
        while time.monotonic() < end:
            tasks_due(people, BURST, clock.now() + timedelta(seconds=1), spread=timedelta(seconds=1))
            bursts += 1
            written += BURST
            heartbeats.add(last_heartbeat())
            processes.check_alive()  # a crash fails here, with the logs
            time.sleep(EVERY)  # pacing, not waiting for anything
        took = processes.wait_for(all_delivered(written), f"all {written} webhook notifications delivered")
        beat_before = last_heartbeat()
        processes.wait_for(lambda: last_heartbeat() > beat_before, "the heartbeat still moving at the end")
        time.sleep(1)  # a late repeat would show up now
        processes.check_alive()
        worker_log, beat_log = worker.output(), beat.output()

    record_property("soak_seconds", SOAK_SECONDS)
    record_property("deliveries", written)
    print(f"{bursts} bursts, {written} deliveries in {SOAK_SECONDS:g}s; the last delivered {took:.1f}s after")

    # Nothing lost, nothing twice.
    keys = {row.idempotency_key for row in webhook_rows()}
    assert len(keys) == written
    assert dict(receiver.by_key()) == {key: 1 for key in keys}
    assert not Notification.objects.filter(state=Notification.State.SENDING).exists()
    # Nothing crashed or complained on the way.
    for log in (worker_log, beat_log):
        assert "Traceback" not in log, log[-3000:]
        assert "JSONDecodeError" not in log
        assert "Connection to broker lost" not in log
    # The heartbeat moved all along (beat and worker both working through the bursts).
    assert len(heartbeats - {None}) >= bursts // 2, heartbeats
    # Taken messages leave the file: what is left is what was still queued at the end.
    with sqlite3.connect(tmp_path / "broker" / "queue.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM kombu_message").fetchone()[0] < 20
