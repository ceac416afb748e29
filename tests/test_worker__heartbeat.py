"""A real Celery worker and beat, as `scripts/run` starts them, keep the heartbeat moving.

Runs on whichever broker the tests were given: Redis when REDIS_URL is set, otherwise an
embedded broker (a SQLite queue file) of its own.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from crisisflow.incidents.models import Heartbeat
from crisisflow.incidents.tasks import WORKER_HEARTBEAT
from tests.workers import WAIT_SECONDS, Processes, forget_queued_messages, worker_environment


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_and_beat_keep_the_heartbeat_moving(tmp_path):
    env = worker_environment(tmp_path, CRISISFLOW_HEARTBEAT_SECONDS="1")
    forget_queued_messages(settings.REDIS_URL)
    seen: list = []

    def moved_twice() -> bool:
        row = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
        if row and row.last_seen not in seen:
            seen.append(row.last_seen)
        return len(seen) >= 2

    with Processes(tmp_path, env) as processes:
        processes.worker("heartbeat-test")
        beat = processes.beat()
        processes.wait_for(moved_twice, f"the heartbeat moving twice (seen {seen})", timeout=WAIT_SECONDS)

    assert seen[1] > seen[0]
    # On a shared Redis an old message could move the heartbeat too; beat must have sent.
    assert "Sending due task heartbeat" in beat.output()
