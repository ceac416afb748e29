"""Telling 100,000 subscribers of one publication, with a worker killed midway.

A scratch database gets N confirmed e-mail subscribers (a third to all notices, the rest
to the incident's notice; half read Chinese, half English) and one approved holding
statement. Publishing it (the real use case) writes the fan-out and queues its task; a
real Celery worker (prefork, concurrency 2) writes the outbox rows in chunks and
delivers them to a local SMTP sink in this process (loopback only), with beat running
the sweep. When half the rows are written the worker is SIGKILLed and a new one started:
the sweep hands the fan-out to it once its lease lapses, and redrive re-queues the
deliveries the dead worker held.

Prints the time from the publication to the last outbox row written (enqueue), the
delivery rate (messages a second from the first to the last arrival), lost (subscribers
whose key never arrived), duplicates (keys that arrived more than once: only sends in
flight at the kill may, and each carries the same idempotency key), and the load.
Last line: subscribers=<n> enqueue_s=<x> deliver_per_s=<y> lost=<n> dup=<n>
(goal: enqueue <= 30 s, lost 0, duplicates only for sends in flight at the kill).

    .venv/bin/python bench/fanout.py [N] [CONCURRENCY]
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import sys
import threading
import time
from collections import Counter

from common import ROOT, setup

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
CONCURRENCY = int(sys.argv[2]) if len(sys.argv) > 2 else 2
GIVE_UP_SECONDS = float(os.environ.get("CRISISFLOW_BENCH_GIVE_UP", "1800"))
KEY_HEADER = b"x-crisisflow-idempotency-key:"


class FastSmtpSink:
    """An SMTP server that accepts everything and notes each message's idempotency key
    and when it arrived. Just enough SMTP for Django's client, answering at once
    (TCP_NODELAY), so the sink is not what is measured."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.write(b"220 sink ESMTP\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go on\r\n")
                    await writer.drain()
                    key = None
                    while True:
                        data_line = await reader.readline()
                        if not data_line or data_line == b".\r\n":
                            break
                        if key is None and data_line[: len(KEY_HEADER)].lower() == KEY_HEADER:
                            key = data_line[len(KEY_HEADER) :].strip().decode()
                    with self.lock:
                        self.arrivals.append((key or "", time.time()))
                    writer.write(b"250 queued\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    return
                else:  # MAIL, RCPT, RSET, NOOP
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    def counts(self) -> Counter:
        with self.lock:
            return Counter(key for key, _ in self.arrivals)

    def times(self) -> list[float]:
        with self.lock:
            return [at for _, at in self.arrivals]


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return f.read().strip()


def main() -> None:
    redis_url = os.environ.get("CRISISFLOW_BENCH_REDIS", "redis://127.0.0.1:6379/9")
    os.environ["REDIS_URL"] = redis_url  # this process queues the fan-out when it publishes
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    vendor = setup("crisisflow_bench_fanout")

    import time_machine
    from django.db import connection

    from crisisflow.alerts.models import Channel, Notification
    from crisisflow.subscribers.models import FanOut, Subscriber
    from crisisflow.vocab import State
    from tests.conftest import T0, Personas, install_plan, make_user
    from tests.flows import report, walk_to
    from tests.statements_helpers import approve_all, publish_approved, write
    from tests.subscribers_helpers import forget_low_priority_messages, open_notice
    from tests.workers import Processes, forget_queued_messages, worker_environment

    sink = FastSmtpSink()
    work = ROOT / "var" / "bench" / "fanout"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    forget_queued_messages(redis_url)
    forget_low_priority_messages(redis_url)

    with time_machine.travel(T0, tick=False):
        install_plan()
        people = Personas(
            commander=make_user("commander", "commander"),
            pr_lead=make_user("prlead", "pr"),
            pr_member=make_user("prmember", "pr", rank="backup"),
            legal=make_user("legal", "legal"),
            cs=make_user("cs", "customer_service"),
            executive=make_user("exec", "executive"),
            observer=make_user("observer", "observer"),
            outsider=make_user("outsider"),
        )
        incident = walk_to(people, report(people, detected_at=T0), State.TEAM_ASSEMBLED)
        open_notice(people.commander, incident)
        statement = approve_all(people, write(people.commander, incident, "holding_statement"))

    started = time.time()
    table = Subscriber._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (kind, address, scope, incident_id, language, state, secret,
                                     created_at, confirmed_at, version)
                SELECT 'email', 'reader' || n || '@example.com',
                       CASE WHEN n %% 3 = 0 THEN 'all' ELSE 'incident:' || %s END,
                       CASE WHEN n %% 3 = 0 THEN NULL ELSE %s END,
                       CASE WHEN n %% 2 = 0 THEN 'en' ELSE 'zh-hans' END,
                       'confirmed', '', now(), now(), 1
                FROM generate_series(1, %s) AS n""",
            [incident.pk, incident.pk, N],
        )
        cursor.execute(f"ANALYZE {table}")
    print(f"database={vendor} subscribers={N} loaded in {time.time() - started:.1f}s; loadavg {loadavg()}")

    env = worker_environment(
        work,
        redis_url=redis_url,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(sink.port),
        CRISISFLOW_SWEEP_SECONDS="1",
        CRISISFLOW_HEARTBEAT_SECONDS="60",
        CRISISFLOW_DELIVERY_LEASE_SECONDS="10",
        CRISISFLOW_DELIVERY_REDRIVE_AFTER_SECONDS="10",
        CRISISFLOW_SUBSCRIBER_FANOUT_LEASE_SECONDS="3",
        LOG_LEVEL="WARNING",
        DEBUG="0",
        SECRET_KEY=os.environ["SECRET_KEY"],
    )
    processes = Processes(work, env)
    rows = Notification.objects.filter(channel=Channel.SUBSCRIBER)
    killed_at = None
    in_flight_at_kill: set[str] = set()
    try:
        worker = processes.worker("worker-1", concurrency=CONCURRENCY)
        processes.beat()
        processes.wait_ready(worker)
        published_at = time.time()
        publication = publish_approved(people, statement)
        fanout = FanOut.objects.get(publication=publication)
        enqueued_at = None
        give_up = published_at + GIVE_UP_SECONDS
        while time.time() < give_up:
            processes.check_alive()
            state = FanOut.objects.filter(pk=fanout.pk).values_list("written", "finished_at").get()
            if killed_at is None and state[0] >= N // 2:
                killed_at = time.time()
                processes.kill(worker)
                in_flight_at_kill = {
                    f"crisisflow-notification-{pk}"
                    for pk in rows.filter(state=Notification.State.SENDING).values_list("pk", flat=True)
                }
                print(
                    f"killed worker-1 at {killed_at - published_at:.1f}s with {state[0]} rows written, "
                    f"{len(sink.counts())} delivered, {len(in_flight_at_kill)} claimed; loadavg {loadavg()}"
                )
                worker = processes.worker("worker-2", concurrency=CONCURRENCY)
            if enqueued_at is None and state[1] is not None:
                enqueued_at = time.time()
                print(f"all {state[0]} rows written {enqueued_at - published_at:.1f}s after publishing")
            if enqueued_at is not None and len(sink.counts()) >= N:
                break
            time.sleep(0.25)
        time.sleep(3)  # a late repeat would show up now
    finally:
        processes.stop_all()

    counts = sink.counts()
    keys = {f"crisisflow-notification-{pk}" for pk in rows.values_list("pk", flat=True)}
    times = sorted(sink.times())
    delivered = len([k for k in counts if k in keys])
    lost = N - delivered
    dup_keys = {k for k, n in counts.items() if n > 1}
    dup = sum(counts[k] - 1 for k in dup_keys)
    span = (times[-1] - times[0]) if len(times) > 1 else 0.0
    rate = len(times) / span if span else 0.0
    enqueue_s = (enqueued_at - published_at) if enqueued_at else float("nan")
    states = Counter(rows.values_list("state", flat=True))
    print(
        f"outbox rows={rows.count()} states={dict(states)} distinct targets={rows.values('target').distinct().count()}"
    )
    print(
        f"delivered={delivered} in {span:.1f}s; duplicates={dup} "
        f"(of them sends in flight at the kill: {len(dup_keys & in_flight_at_kill)}); "
        f"unknown keys={len([k for k in counts if k not in keys])}"
    )
    print(f"loadavg {loadavg()} (2 cores, shared)")
    print(f"subscribers={N} enqueue_s={enqueue_s:.1f} deliver_per_s={rate:.0f} lost={lost} dup={dup}")


if __name__ == "__main__":
    main()
