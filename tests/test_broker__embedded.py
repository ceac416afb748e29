"""The embedded broker (crisisflow/broker/) with several processes on one queue file.

The file-system transport it replaces crashed its consumers with
`json.decoder.JSONDecodeError: Expecting value: line 1 column 1` whenever one read a
message file another process was still writing, which happened within seconds of
producers and consumers running side by side. Here producers and consumers are real
processes using the app's own broker connection (settings, crisisflow/celery.py):
every message arrives exactly once, and no process fails.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter

import pytest

from tests.workers import WAIT_SECONDS, Processes

PRODUCERS = 4
CONSUMERS = 3
EACH = 300  # messages per producer; about 2 kB each, like a delivery batch

SETUP = """
import sys
import django
django.setup()
from crisisflow.celery import app
"""

PRODUCE = (
    SETUP
    + """
who = sys.argv[1]
with app.connection_for_write() as connection:
    queue = connection.SimpleQueue("broker-regression")
    for n in range(int(sys.argv[2])):
        queue.put({"key": f"{who}-{n}", "padding": "x" * 2000})
print("produced", flush=True)
"""
)

CONSUME = (
    SETUP
    + """
import pathlib
from queue import Empty
out, done = open(sys.argv[1], "w"), pathlib.Path(sys.argv[2])
with app.connection_for_read() as connection:
    queue = connection.SimpleQueue("broker-regression")
    while True:
        finished = done.exists()  # read before looking: nothing can be put after it
        try:
            message = queue.get(timeout=0.5)
        except Empty:
            if finished:
                break
            continue
        out.write(message.payload["key"] + "\\n")
        out.flush()
        message.ack()
print("consumed", flush=True)
"""
)


@pytest.fixture
def embedded_env(tmp_path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="crisisflow.settings",
        CRISISFLOW_VAR_DIR=str(tmp_path / "var"),
        CRISISFLOW_BROKER_DIR=str(tmp_path / "broker"),
        PYTHONUNBUFFERED="1",
    )
    return env


def test_concurrent_producers_and_consumers_lose_nothing_and_crash_nothing(tmp_path, embedded_env):
    done = tmp_path / "producers-done"
    with Processes(tmp_path, embedded_env) as processes:
        consumers = [
            processes.python(f"consumer-{n}", CONSUME, str(tmp_path / f"consumed-{n}"), str(done))
            for n in range(CONSUMERS)
        ]
        producers = [processes.python(f"producer-{n}", PRODUCE, f"p{n}", str(EACH)) for n in range(PRODUCERS)]
        for producer in producers:
            assert producer.wait(WAIT_SECONDS) == 0, producer.output()
        done.touch()
        for consumer in consumers:
            assert consumer.wait(WAIT_SECONDS) == 0, consumer.output()

    for process in producers + consumers:
        assert "Traceback" not in process.output(), process.output()
    per_consumer = [(tmp_path / f"consumed-{n}").read_text().split() for n in range(CONSUMERS)]
    got = Counter(key for keys in per_consumer for key in keys)
    expected = {f"p{p}-{n}" for p in range(PRODUCERS) for n in range(EACH)}
    assert set(got) == expected, f"lost: {len(expected - set(got))}"
    assert [key for key, times in got.items() if times > 1] == []
    # They really shared the work (not one consumer draining the queue alone).
    assert sum(1 for keys in per_consumer if keys) >= 2, [len(keys) for keys in per_consumer]


def test_a_delivered_message_leaves_the_queue_file(tmp_path, embedded_env):
    """Messages are deleted once taken, so weeks of heartbeats and sweeps do not grow
    the file or slow every poll."""
    done = tmp_path / "done"
    done.touch()
    with Processes(tmp_path, embedded_env) as processes:
        assert processes.python("producer", PRODUCE, "p", "50").wait(WAIT_SECONDS) == 0
        consumer = processes.python("consumer", CONSUME, str(tmp_path / "consumed"), str(done))
        assert consumer.wait(WAIT_SECONDS) == 0, consumer.output()
    assert len((tmp_path / "consumed").read_text().split()) == 50

    queue_file = tmp_path / "broker" / "queue.sqlite3"
    with sqlite3.connect(queue_file) as db:
        assert db.execute("SELECT count(*) FROM kombu_message").fetchone() == (0,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
