"""Real Celery workers, beat, management commands and a Redis server, started by a test
as subprocesses against the pytest-django test database, the way `scripts/run` starts
them.

    with Processes(tmp_path, worker_environment(tmp_path, CRISISFLOW_SWEEP_SECONDS="0.5")) as procs:
        worker = procs.worker()
        procs.beat()
        procs.wait_for(lambda: …, "every notification delivered")
        procs.kill(worker)          # SIGKILL, the whole process group

Every process gets a process group of its own, so a kill reaches a prefork worker's
children too, and every one still running is ended when the block is left (SIGTERM,
then SIGKILL). Every wait is bounded; a wait that runs out fails the test with the tail
of each process's log.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.receivers import HttpReceiver, Received

REPO = Path(__file__).resolve().parent.parent
# The longest any single wait in these tests may take.
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


def worker_environment(tmp_path: Path, *, redis_url: str | None = None, **variables: str) -> dict[str, str]:
    """The environment of a worker, beat or command on the test database.

    The broker is the one the tests were given (Redis when REDIS_URL is set, otherwise
    an embedded broker of this test's own: a SQLite queue file in its own folder), or
    `redis_url` if given, or the embedded broker if `redis_url` is "". `variables` are
    added as they are.
    """
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="crisisflow.settings",
        DATABASE_URL=database_url_of_test_database(),
        CRISISFLOW_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        # The receivers the tests post to listen on 127.0.0.1.
        CRISISFLOW_WEBHOOK_ALLOW_PRIVATE="1",
    )
    broker = settings.REDIS_URL if redis_url is None else redis_url
    if broker:
        env["REDIS_URL"] = broker
        env.pop("CRISISFLOW_BROKER_DIR", None)
    else:
        env.pop("REDIS_URL", None)
        env["CRISISFLOW_BROKER_DIR"] = str(tmp_path / "broker")
    env.update(variables)
    return env


# Celery's own keys on a Redis database: the default queue and the messages a worker
# took but had not acknowledged when it died.
CELERY_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")


def forget_queued_messages(redis_url: str) -> None:
    """Drop messages left on the tests' Redis database by an earlier test (a killed
    worker's unacknowledged ones, deliveries nobody consumed), so they cannot reach this
    test's worker. Only Celery's keys: the database may hold other things."""
    if not redis_url:
        return
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        client.delete(*CELERY_KEYS)
    finally:
        client.close()


def tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else "(no output)"
    return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """One subprocess in a process group of its own, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self.argv = argv
        self.expected_exit = False  # killed on purpose, or a command that finishes
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                argv,
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.popen.pid, signum)  # the group's id is the leader's pid
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL, to the whole group: a prefork worker's children die with it."""
        self.expected_exit = True
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=WAIT_SECONDS)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (a worker's warm shutdown), then SIGKILL if it does not go."""
        self.expected_exit = True
        if self.running():
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (a prefork child slow to follow) goes too.
        self.signal_group(signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait(timeout=10)

    def wait(self, timeout: float = WAIT_SECONDS) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} still running after {timeout:g}s:\n{tail(self.log)}")


class Processes:
    """The subprocesses of one test; all are ended when the `with` block is left."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.started: list[Process] = []
        self._count = 0

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        self._count += 1
        log = self.tmp_path / f"{self._count:02d}-{name}.log"
        process = Process(name, argv, env or self.env, log)
        self.started.append(process)
        return process

    def celery(self, name: str, *args: str, env: dict[str, str] | None = None) -> Process:
        return self.start(name, [sys.executable, "-m", "celery", "-A", "crisisflow", *args], env)

    def worker(self, name: str = "worker", *, concurrency: int = 1, env: dict[str, str] | None = None) -> Process:
        """A worker with its own node name (no clash with a `scripts/run` worker on the
        same Redis). One process (solo pool) unless concurrency > 1 (prefork)."""
        pool = ["--pool=solo"] if concurrency == 1 else ["--pool=prefork", f"--concurrency={concurrency}"]
        return self.celery(
            name,
            "worker",
            *pool,
            "-l",
            "info",
            "-n",
            f"{name}-{os.getpid()}-{self._count + 1}@%h",
            # Nothing to wait for from other nodes: start faster, talk less.
            "--without-mingle",
            "--without-gossip",
            env=env,
        )

    def beat(self, name: str = "beat", env: dict[str, str] | None = None) -> Process:
        schedule = self.tmp_path / f"celerybeat-schedule-{self._count + 1}"
        return self.celery(name, "beat", "-l", "info", "-s", str(schedule), env=env)

    def manage(self, name: str, *args: str, env: dict[str, str] | None = None) -> Process:
        process = self.start(name, [sys.executable, "manage.py", *args], env)
        process.expected_exit = True
        return process

    def python(self, name: str, code: str, *args: str, env: dict[str, str] | None = None) -> Process:
        process = self.start(name, [sys.executable, "-c", code, *args], env)
        process.expected_exit = True
        return process

    def kill(self, process: Process) -> None:
        process.kill()

    def logs(self, lines: int = 30) -> str:
        return "\n".join(f"--- {p.name} (pid {p.pid}) ---\n{tail(p.log, lines)}" for p in self.started)

    def check_alive(self) -> None:
        for process in self.started:
            if not process.expected_exit and not process.running():
                pytest.fail(f"{process.name} exited with {process.popen.returncode}:\n{tail(process.log)}")

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float = WAIT_SECONDS) -> float:
        """Poll `condition` until it holds; fail with the logs if it has not within
        `timeout` seconds or a process died. Returns the seconds it took."""
        timeout = min(timeout, WAIT_SECONDS)
        start = time.monotonic()
        while True:
            if condition():
                return time.monotonic() - start
            self.check_alive()
            if time.monotonic() - start > timeout:
                pytest.fail(f"not within {timeout:g}s: {what}\n{self.logs()}")
            time.sleep(0.1)

    def wait_ready(self, worker: Process) -> None:
        """Until the worker says it is consuming."""
        self.wait_for(lambda: " ready." in worker.output(), f"{worker.name} ready")


# --- Redis ------------------------------------------------------------------------------

REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    """A redis-server of the test's own on a free port, without persistence: a kill -9
    loses everything in it, as a crashed broker without a disk would."""

    def __init__(self, processes: Processes) -> None:
        if REDIS_SERVER is None:
            pytest.skip("redis-server is not installed")
        self.processes = processes
        self.port = free_port()
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = self.processes.start(
            "redis-server",
            [REDIS_SERVER, "--port", str(self.port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
            dict(os.environ),
        )
        self.processes.wait_for(self.answers, f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()


# --- A receiver that de-duplicates ------------------------------------------------------


class DeduplicatingReceiver(HttpReceiver):
    """An HttpReceiver that acts on each idempotency key once, as the receivers our
    webhooks are documented for should: the first request with a key is accepted (acted
    on), a later one with the same key is answered but ignored as a repeat."""

    def __init__(self, *replies, then=200) -> None:
        super().__init__(*replies, then=then)
        self.acted_on: dict[str, Received] = {}
        self.repeats: list[Received] = []

    def _record(self, received: Received) -> None:
        with self._lock:
            key = received.idempotency_key
            if key is not None and 200 <= received.status < 300:
                if key in self.acted_on:
                    self.repeats.append(received)
                else:
                    self.acted_on[key] = received
        super()._record(received)

    def keys_seen(self) -> set[str]:
        return {k for k in self.by_key() if k}

    def repeated_keys(self) -> set[str]:
        with self._lock:
            return {r.idempotency_key for r in self.repeats if r.idempotency_key}
