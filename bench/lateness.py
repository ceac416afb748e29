"""How late do escalations arrive when 10,000 deadlines fall due within one minute?

A real Celery worker (prefork, concurrency 2 unless told otherwise) and beat run against a scratch database
with the real broker: Redis when REDIS_URL is set or 127.0.0.1:6379 answers (database
12 of it unless REDIS_URL says otherwise), else the embedded broker (a SQLite queue file,
crisisflow/broker/). 10,000 tasks get
their "due" rung spread evenly over the minute starting 5 s after the worker is ready;
each rung writes one webhook notification (plus in-app rows) for a team webhook pointing
at an HTTP receiver in this process, so delivery is real: sweep, broker, worker, HTTP.

Lateness of a notification = when the receiver first got it - when its rung was due
(Notification.due_at). Prints delivered, duplicates (keys that arrived more than once),
lost (not at the receiver within a bounded wait after the last deadline), lateness
p50/p99/max, where the time went: sweep start - due (waiting for a sweep), receipt
- sweep start (firing, queueing, delivering), and the CPU the worker and beat processes
spent per notification (their user + system time from /proc, children included:
sweeping, firing, queueing and delivering all count). Last line:
p99_late_s=<x> lost=<n> dup=<n> cpu_ms_per_notification=<y>
(targets: 0 lost, 0 duplicates, p99 <= 15 s, at most 2 ms of CPU per notification).
The worker and beat run as in production, with DEBUG off.

Meanwhile a busy-loop process of the benchmark's own keeps one core busy, so the figure
does not depend on how idle the machine happens to be (CRISISFLOW_BENCH_LOAD=0 leaves
it out). It is ended when the run is over.

    .venv/bin/python bench/lateness.py [N] [SWEEP_SECONDS] [CONCURRENCY]
    CRISISFLOW_BENCH_DB=sqlite CRISISFLOW_BENCH_BROKER=embedded .venv/bin/python bench/lateness.py
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

from common import ROOT, World, percentile_ms, setup

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
SWEEP_SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
CONCURRENCY = int(sys.argv[3]) if len(sys.argv) > 3 else 2
SPREAD = 60.0  # the deadlines fall due within this many seconds
LEAD = 5.0  # the first one this long after the worker is ready
WAIT_AFTER = 60.0  # how long after the last deadline a notification may still arrive
REDIS_DB = 12


def broker_url() -> str:
    """Redis if there is one (a database of the benchmark's own), else "" (embedded).
    CRISISFLOW_BENCH_BROKER=embedded forces the embedded broker ("filesystem", the name
    of the one before it, still does)."""
    if os.environ.get("CRISISFLOW_BENCH_BROKER") in ("embedded", "filesystem"):
        return ""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(64).startswith(b"+PONG"):
                return f"redis://127.0.0.1:6379/{REDIS_DB}"
    except OSError:
        pass
    return ""


def cpu_seconds(pids: list[int], *, children: bool = False) -> float:
    """User + system CPU of the processes so far (Linux /proc; 0 elsewhere); with
    `children`, also that of their children that have ended (a prefork worker replaces
    a child now and then)."""
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if children:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(group: int) -> float:
    """CPU of every process in process group `group` (a worker and its pool children,
    or beat), children that ended included."""
    return cpu_seconds(pids_where(lambda pid: os.getpgid(pid) == group), children=True)


BUSY_LOOP = "import time\nwhile True:\n    pass\n"


def start_load() -> subprocess.Popen | None:
    """A process that keeps one core busy until it is ended."""
    if os.environ.get("CRISISFLOW_BENCH_LOAD", "1") == "0":
        return None
    return subprocess.Popen([sys.executable, "-c", BUSY_LOOP], stdin=subprocess.DEVNULL)


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine have used (Linux /proc/stat; 0 elsewhere)."""
    try:
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def pids_where(test) -> list[int]:
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                if test(int(entry)):
                    found.append(int(entry))
            except OSError:
                continue
    return found


def main() -> None:
    redis_url = broker_url()
    os.environ.pop("REDIS_URL", None)  # this process only writes rows; the worker has the broker
    vendor = setup("crisisflow_bench_lateness")

    from crisisflow import clock
    from crisisflow.alerts.models import Channel, Notification
    from tests.receivers import HttpReceiver, Received
    from tests.workers import Processes, forget_queued_messages, worker_environment

    class TimedReceiver(HttpReceiver):
        """Notes when each request arrived (before it answers)."""

        def __init__(self) -> None:
            super().__init__()
            self.arrivals: list[tuple[str | None, float]] = []
            self._arrival_lock = threading.Lock()

        def _record(self, received: Received) -> None:
            at = time.time()
            with self._arrival_lock:
                self.arrivals.append((received.idempotency_key, at))

        def first_arrival(self) -> dict[str, float]:
            with self._arrival_lock:
                arrivals = list(self.arrivals)
            first: dict[str, float] = {}
            for key, at in arrivals:
                if key is not None and key not in first:
                    first[key] = at
            return first

        def counts(self) -> Counter:
            with self._arrival_lock:
                return Counter(key for key, _ in self.arrivals)

    work = ROOT / "var" / "bench" / "lateness"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    forget_queued_messages(redis_url)
    broker = redis_url or "embedded"
    print(
        f"database={vendor} broker={broker} deadlines={N} within {SPREAD:g}s sweep_every={SWEEP_SECONDS:g}s "
        f"worker_concurrency={CONCURRENCY} debug=off load_average={os.getloadavg()[0]:.2f} "
        f"busy_loop={'off' if os.environ.get('CRISISFLOW_BENCH_LOAD', '1') == '0' else 'one core'}"
    )

    receiver = TimedReceiver().start()
    world = World(300, clock.now(), webhook_url=receiver.url_for("/hook"), email=False)
    env = worker_environment(
        work,
        redis_url=redis_url,
        CRISISFLOW_SWEEP_SECONDS=str(SWEEP_SECONDS),
        CRISISFLOW_HEARTBEAT_SECONDS="60",
        # The receiver listens on 127.0.0.1.
        CRISISFLOW_WEBHOOK_ALLOW_PRIVATE="1",
        # Each deadline's own message, so each one's lateness can be measured.
        CRISISFLOW_DIGESTS="0",
        LOG_LEVEL="WARNING",
        # As in production: with DEBUG on, Django keeps every SQL statement the worker
        # runs (and Celery warns never to run a worker so).
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
    )
    processes = Processes(work, env)
    load = None
    try:
        worker = processes.worker("worker", concurrency=CONCURRENCY)
        beat = processes.beat()
        processes.wait_ready(worker)
        load = start_load()

        cpu_before = {
            "worker": group_cpu_seconds(worker.pid),
            "beat": group_cpu_seconds(beat.pid),
            "bench+receiver": cpu_seconds([os.getpid()]),
            "load": cpu_seconds([load.pid]) if load else 0.0,
            "machine": machine_busy_seconds(),
        }
        start = clock.now()
        world.add_tasks(N, due_from=LEAD, due_spread=SPREAD, at_due_rung=True, now=start)
        last_due = start.timestamp() + LEAD + SPREAD
        print(f"loaded {N} tasks in {time.time() - start.timestamp():.1f}s; waiting")
        give_up = last_due + WAIT_AFTER
        while time.time() < give_up and len(receiver.first_arrival()) < N:
            processes.check_alive()
            time.sleep(0.5)
        took = time.time() - start.timestamp()
        cpu = {
            "worker": group_cpu_seconds(worker.pid) - cpu_before["worker"],
            "beat": group_cpu_seconds(beat.pid) - cpu_before["beat"],
            "bench+receiver": cpu_seconds([os.getpid()]) - cpu_before["bench+receiver"],
            "busy-loop load": (cpu_seconds([load.pid]) if load else 0.0) - cpu_before["load"],
        }
        cpu["postgres and the rest"] = machine_busy_seconds() - cpu_before["machine"] - sum(cpu.values())
        # A little longer, so a late repeat of a key shows up as a duplicate.
        time.sleep(min(3.0, max(0.0, give_up - time.time())))
    finally:
        if load is not None:
            load.kill()
            load.wait()
        processes.stop_all()
        receiver.stop()

    rows = {
        f"crisisflow-notification-{pk}": (due_at.timestamp(), created_at.timestamp(), state)
        for pk, due_at, created_at, state in Notification.objects.filter(channel=Channel.WEBHOOK).values_list(
            "pk", "due_at", "created_at", "state"
        )
    }
    first = receiver.first_arrival()
    counts = receiver.counts()
    late = [first[key] - due for key, (due, _, _) in rows.items() if key in first]
    waited = [created - due for key, (due, created, _) in rows.items() if key in first]
    after_sweep = [first[key] - created for key, (_, created, _) in rows.items() if key in first]
    delivered = sum(1 for _, _, state in rows.values() if state == Notification.State.DELIVERED)
    dup = sum(1 for key, n in counts.items() if key in rows and n > 1)
    lost = N - len([key for key in rows if key in first])
    unknown = sum(1 for key in counts if key not in rows)

    log = "\n".join(p.output() for p in processes.started if p.name == "worker")
    sweeps = [float(s) for s in re.findall(r"alerts\.tasks\.sweep\[[^]]*\] succeeded in ([\d.]+)s", log)]
    print(f"webhook notifications written={len(rows)} delivered(db)={delivered} at_receiver={len(first)}")
    print(f"duplicates={dup} lost={lost} unknown_keys={unknown}")
    if late:
        print(
            "lateness_s "
            f"p50={percentile_ms(late, 0.5) / 1000:.2f} p99={percentile_ms(late, 0.99) / 1000:.2f} "
            f"max={max(late):.2f}"
        )
        print(
            "  waiting for a sweep (sweep start - due) "
            f"p50={percentile_ms(waited, 0.5) / 1000:.2f} p99={percentile_ms(waited, 0.99) / 1000:.2f}; "
            "firing+queue+delivery (receipt - sweep start) "
            f"p50={percentile_ms(after_sweep, 0.5) / 1000:.2f} p99={percentile_ms(after_sweep, 0.99) / 1000:.2f}"
        )
    queueing = sum(float(s) for s in re.findall(r"; queued \d+ in ([\d.]+)s", log))
    delivering = [float(s) for s in re.findall(r"alerts\.tasks\.deliver\[[^]]*\] succeeded in ([\d.]+)s", log)]
    print(
        f"  worker time: sweeping {sum(sweeps):.1f}s in {len(sweeps)} sweeps (longest {max(sweeps, default=0):.1f}s; "
        f"{queueing:.1f}s of it queueing deliveries), "
        f"delivering {sum(delivering):.1f}s in {len(delivering)} messages"
    )
    print(
        f"  cpu over {took:.0f}s ({os.cpu_count()} cores = {os.cpu_count() * took:.0f} cpu-s): "
        + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in cpu.items())
    )
    engine_ms = (cpu["worker"] + cpu["beat"]) / max(1, len(first)) * 1000
    # The tasks log their own CPU: how the worker's divides between firing and delivering.
    sweep_cpu = sum(
        float(s) for s in re.findall(r"alerts\.tasks\.sweep\[[^]]*\] succeeded in [^\n]*cpu ([\d.]+)s", log)
    )
    deliver_cpu = sum(
        float(s) for s in re.findall(r"alerts\.tasks\.deliver\[[^]]*\] succeeded in [^\n]*cpu ([\d.]+)s", log)
    )
    per = 1000 / max(1, len(first))
    print(
        f"  cpu in the tasks per notification: sweeping (firing rungs, writing rows) {sweep_cpu * per:.2f} ms, "
        f"delivering {deliver_cpu * per:.2f} ms; the rest is Celery itself"
    )
    print(
        f"  cpu per notification: worker+beat {engine_ms:.2f} ms, "
        f"everything but the busy loop {(sum(cpu.values()) - cpu['busy-loop load']) / max(1, len(first)) * 1000:.2f} ms"
    )
    p99 = percentile_ms(late, 0.99) / 1000 if late else float("nan")
    print(f"p99_late_s={p99:.2f} lost={lost} dup={dup} cpu_ms_per_notification={engine_ms:.2f}")


if __name__ == "__main__":
    main()
