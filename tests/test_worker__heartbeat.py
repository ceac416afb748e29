"""A real Celery worker and beat, as `scripts/run` starts them, keep the heartbeat moving.

Runs on whichever broker the tests were given: Redis when REDIS_URL is set, otherwise a
file-system broker in a folder of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from crisisflow.incidents.models import Heartbeat
from crisisflow.incidents.tasks import WORKER_HEARTBEAT

REPO = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60


def database_url_of_test_database() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            pytest.fail("the SQLite test database is in memory; a worker process cannot open it")
        return f"sqlite:///{Path(name).resolve()}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "localhost"
        port = f":{db['PORT']}" if db["PORT"] else ""
        return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"
    pytest.fail(f"no DATABASE_URL form for {db['ENGINE']}")


def worker_environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="crisisflow.settings",
        DATABASE_URL=database_url_of_test_database(),
        CRISISFLOW_HEARTBEAT_SECONDS="1",
        CRISISFLOW_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
        env["CRISISFLOW_BROKER_DIR"] = str(tmp_path / "broker")
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "crisisflow", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else "(no output)"
    return "\n".join(text.splitlines()[-lines:])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_and_beat_keep_the_heartbeat_moving(tmp_path):
    env = worker_environment(tmp_path)
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    # A node name of its own, so a worker of `scripts/run` on the same Redis is no clash.
    worker = start(
        ["worker", "--pool=solo", "-l", "info", "-n", f"heartbeat-test-{os.getpid()}@%h"],
        env,
        worker_log,
    )
    beat = start(["beat", "-l", "info", "-s", str(tmp_path / "celerybeat-schedule")], env, beat_log)
    seen: list = []
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(seen) < 2 and time.monotonic() < deadline:
            for name, process in (("worker", worker), ("beat", beat)):
                if process.poll() is not None:
                    pytest.fail(
                        f"celery {name} exited with {process.returncode}:\n"
                        f"{tail(worker_log if name == 'worker' else beat_log)}"
                    )
            row = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
            if row and row.last_seen not in seen:
                seen.append(row.last_seen)
            time.sleep(0.25)
    finally:
        stop(beat)
        stop(worker)

    assert len(seen) >= 2, (
        f"heartbeat seen {seen} within {WAIT_SECONDS}s\n"
        f"--- worker ---\n{tail(worker_log)}\n--- beat ---\n{tail(beat_log)}"
    )
    assert seen[1] > seen[0]
    # On a shared Redis an old message could move the heartbeat too; beat must have sent.
    assert "Sending due task heartbeat" in beat_log.read_text(errors="replace")
