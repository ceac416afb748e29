"""Celery tasks of the deadline engine. Short and idempotent: a message delivered twice
(Redis redelivers unacknowledged ones) does no harm, because every row is claimed with a
compare-and-set update before anything is sent."""

from __future__ import annotations

import fcntl
import logging
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db import connection

from crisisflow.alerts import delivery
from crisisflow.alerts.sweep import sweep as run_sweep

log = logging.getLogger(__name__)

# Notification ids per delivery message: fewer broker round trips, claims and reads
# under a burst (a worker claims and reads a message's rows with one query each).
DELIVERY_BATCH = 50
# During a long sweep, ids wait at most this long before they go out in a message.
HAND_OVER_SECONDS = 0.25

# PostgreSQL advisory lock held while a Celery sweep runs (any 64-bit number of our own).
SWEEP_LOCK = zlib.crc32(b"crisisflow.alerts.tasks.sweep")


def enqueue(ids: list[int]) -> None:
    for start in range(0, len(ids), DELIVERY_BATCH):
        deliver.delay(ids[start : start + DELIVERY_BATCH])


class _HandOver:
    """Queues delivery while the sweep is still firing: a message per DELIVERY_BATCH
    ids, or sooner if the first of them has waited HAND_OVER_SECONDS. If the broker
    cannot be reached the rest of the sweep goes on without it: the rows are written
    with enqueued_at set, and redrive() queues them again once the broker is back."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.since = 0.0
        self.broken = False
        self.queued = 0
        self.seconds = 0.0  # spent talking to the broker

    def __call__(self, ids: list[int]) -> None:
        if not self.ids:
            self.since = time.monotonic()
        self.ids.extend(ids)
        if len(self.ids) >= DELIVERY_BATCH or time.monotonic() - self.since >= HAND_OVER_SECONDS:
            self.flush()

    def flush(self, more: list[int] | None = None) -> None:
        ids, self.ids = self.ids + (more or []), []
        if self.broken or not ids:
            return
        start = time.monotonic()
        try:
            enqueue(ids)
            self.queued += len(ids)
        except Exception:
            self.broken = True
            log.exception("deadline sweep: could not queue %d deliveries; redrive will", len(ids))
        finally:
            self.seconds += time.monotonic() - start

    def __str__(self) -> str:
        return f"queued {self.queued} in {self.seconds:.2f}s"


@contextmanager
def _only_sweeper() -> Iterator[bool]:
    """True if no other Celery sweep is running, and none will start until this one ends.

    The sweep is correct with any number running at once (every rung is claimed with a
    compare-and-set), but two sweeps over the same due rows take turns on the same
    incident locks and do the work twice, while deliveries wait for a free worker. Beat
    sends a sweep every few seconds whether the last one finished or not, so under a
    burst they would pile up. PostgreSQL: a session advisory lock (released by the
    server if the worker dies). Otherwise, SQLite: a lock on a file beside it.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK])
            got = cursor.fetchone()[0]
        try:
            yield got
        finally:
            if got:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK])
        return
    path = Path(settings.VAR_DIR) / "sweep.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@shared_task(name="crisisflow.alerts.tasks.sweep", ignore_result=True)
def sweep() -> str:
    # The CPU each task spends goes into the worker's log line, where bench/lateness.py
    # reads how the engine's CPU divides between firing deadlines and delivering.
    started = time.process_time()
    with _only_sweeper() as alone:
        if not alone:
            return "another sweep is running"
        hand_over = _HandOver()
        report = run_sweep(on_fired=hand_over)
        hand_over.flush(report.redriven)
    return f"{report}; {hand_over}; cpu {time.process_time() - started:.3f}s"


@shared_task(name="crisisflow.alerts.tasks.deliver", ignore_result=True, acks_late=True)
def deliver(ids: list[int]) -> str:
    started = time.process_time()
    outcomes = Counter(delivery.deliver_many(ids).values())
    said = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    return f"{said}; cpu {time.process_time() - started:.3f}s"
