"""The supervisor of `scripts/run` (crisisflow/supervise.py): a child that dies is logged
with its exit status and started again after a pause that doubles, the others are left
alone, SIGINT stops everything. And, with the real processes: a worker killed with
SIGKILL comes back and the heartbeat moves again.

Real subprocesses throughout; every wait is bounded (tests/workers.py).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest

from crisisflow.supervise import backoff, describe_exit, parse_children
from tests.workers import WAIT_SECONDS, Processes, forget_queued_messages, worker_environment

# Each start appends "<pid> <monotonic time>" to the file named in argv[1]; then the
# child exits with status 3 (flaky) or sleeps until it is stopped (steady).
FLAKY = "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()} {time.monotonic()}\\n'); sys.exit(3)"
STEADY = "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()} {time.monotonic()}\\n'); time.sleep(3600)"
# Exits at once on its first three starts, then stays up `argv[2]` seconds before
# exiting, then exits at once again.
RECOVERING = """
import os, sys, time
log = sys.argv[1]
starts = sum(1 for _ in open(log)) if os.path.exists(log) else 0
open(log, "a").write(f"{os.getpid()} {time.monotonic()}\\n")
if starts == 3:
    time.sleep(float(sys.argv[2]))
sys.exit(5)
"""


def starts(path) -> list[tuple[int, float]]:
    if not path.exists():
        return []
    complete = path.read_text().split("\n")[:-1]  # not a line still being written
    return [(int(pid), float(at)) for pid, at in (line.split() for line in complete)]


def supervise(processes: Processes, *children: str, first=0.3, most=1.2, stable=30.0):
    return processes.start(
        "supervise",
        [
            sys.executable,
            "-m",
            "crisisflow.supervise",
            f"--first-delay={first}",
            f"--max-delay={most}",
            f"--stable-after={stable}",
            "--stop-timeout=10",
            *children,
        ],
        dict(os.environ),
    )


def child(name: str, code: str, *args: str) -> str:
    """NAME=COMMAND for the supervisor: `python -c code args…`."""
    return f"{name}=" + shlex.join([sys.executable, "-c", code, *args])


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_backoff_doubles_from_the_first_pause_up_to_the_cap():
    assert [backoff(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(3, first=0.5, most=1.5) == 1.5


def test_exit_statuses_read_as_people_say_them():
    assert describe_exit(1) == "status 1"
    assert describe_exit(-9) == "signal 9 (SIGKILL)"


def test_children_are_named_commands():
    [web, worker] = parse_children(["web=python manage.py runserver", "worker=celery -A 'crisis flow' worker"])
    assert (web.name, web.argv) == ("web", ["python", "manage.py", "runserver"])
    assert worker.argv == ["celery", "-A", "crisis flow", "worker"]
    for bad in (["web"], ["=python"], ["web="], ["a=x", "a=y"]):
        with pytest.raises(ValueError):
            parse_children(bad)


def test_a_child_that_exits_is_restarted_with_backoff_and_logged_and_the_others_untouched(tmp_path):
    flaky_log, steady_log = tmp_path / "flaky.starts", tmp_path / "steady.starts"
    with Processes(tmp_path, {}) as processes:
        supervisor = supervise(
            processes, child("flaky", FLAKY, str(flaky_log)), child("steady", STEADY, str(steady_log))
        )
        processes.wait_for(lambda: len(starts(flaky_log)) >= 6, "the flaky child started six times")
        steady = starts(steady_log)
        output = supervisor.output()

        supervisor.signal_group(signal.SIGINT)
        assert supervisor.wait(WAIT_SECONDS) == 0
        supervisor.expected_exit = True

    flaky = starts(flaky_log)
    # Each exit logged with its pid and status, and the pause before the next start.
    for pid, _ in flaky[:5]:
        assert re.search(rf"^supervise: flaky \(pid {pid}\) exited with status 3 after \d+ s$", output, re.M), output
    pauses = re.findall(r"^supervise: flaky: starting it again in ([\d.]+) s \(failure (\d+) in a row\)$", output, re.M)
    assert pauses[:5] == [("0.3", "1"), ("0.6", "2"), ("1.2", "3"), ("1.2", "4"), ("1.2", "5")]
    # And the pauses really were waited (never shorter, whatever the machine's load).
    gaps = [later - earlier for (_, earlier), (_, later) in zip(flaky, flaky[1:], strict=False)]
    for gap, wanted in zip(gaps, [0.3, 0.6, 1.2, 1.2, 1.2], strict=False):
        assert gap >= wanted - 0.05, gaps
    assert len({pid for pid, _ in flaky}) == len(flaky)  # a new process every time

    # The steady one was started once, never touched until the end, then stopped.
    assert len(steady) == 1
    assert [line for line in output.splitlines() if "steady" in line] == [
        f"supervise: steady started (pid {steady[0][0]})"
    ]
    assert not running(steady[0][0])
    assert "SIGINT received" in supervisor.output()


def test_a_child_that_stayed_up_a_while_starts_again_after_the_first_pause(tmp_path):
    log = tmp_path / "recovering.starts"
    with Processes(tmp_path, {}) as processes:
        supervisor = supervise(processes, child("recovering", RECOVERING, str(log), "1.5"), stable=1.0)
        processes.wait_for(lambda: len(starts(log)) >= 6, "the child started six times")
        supervisor.stop()
    pauses = re.findall(r"starting it again in ([\d.]+) s \(failure (\d+) in a row\)", supervisor.output())
    # Three quick failures (0.3, 0.6, 1.2), then up for 1.5 s (more than --stable-after):
    # its next exit is a first failure again.
    assert pauses[:5] == [("0.3", "1"), ("0.6", "2"), ("1.2", "3"), ("0.3", "1"), ("0.6", "2")], pauses


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_started_again_and_the_heartbeat_resumes(tmp_path, settings):
    """scripts/run's worker and beat under the supervisor: SIGKILL to the worker's main
    process; the supervisor logs it, ends its orphaned pool processes, starts a new
    worker, and the heartbeat moves again. Beat is never restarted."""
    from crisisflow.incidents.tasks import last_heartbeat

    env = worker_environment(tmp_path, CRISISFLOW_HEARTBEAT_SECONDS="1")
    forget_queued_messages(settings.REDIS_URL)
    celery = f"{shlex.quote(sys.executable)} -m celery -A crisisflow"
    schedule = shlex.quote(str(tmp_path / "celerybeat-schedule"))
    with Processes(tmp_path, env) as processes:
        supervisor = processes.start(
            "supervise",
            [
                sys.executable,
                "-m",
                "crisisflow.supervise",
                "--first-delay=0.5",
                "--stop-timeout=15",
                f"worker={celery} worker -l info --concurrency 2 -n supervised-{os.getpid()}@%h",
                f"beat={celery} beat -l info -s {schedule}",
            ],
        )
        seen: list = []

        def moved() -> bool:
            at = last_heartbeat()
            if at is not None and at not in seen:
                seen.append(at)
            return len(seen) >= 2

        processes.wait_for(moved, "the heartbeat moving under the supervisor")
        first = int(re.search(r"worker started \(pid (\d+)\)", supervisor.output()).group(1))
        pool = _children_of(first)
        os.kill(first, signal.SIGKILL)
        processes.wait_for(lambda: "worker started again" in supervisor.output(), "the worker started again")
        killed_at = max(seen)
        processes.wait_for(lambda: (last_heartbeat() or killed_at) > killed_at, "the heartbeat moving again")

        output = supervisor.output()
        second = int(re.search(r"worker started again \(pid (\d+)\)", output).group(1))
        supervisor.signal_group(signal.SIGINT)
        assert supervisor.wait(WAIT_SECONDS) == 0
        supervisor.expected_exit = True

    assert second != first
    assert re.search(rf"^supervise: worker \(pid {first}\) exited with signal 9 \(SIGKILL\)", output, re.M), output
    assert "beat started again" not in output
    assert pool and not any(running(pid) for pid in pool), pool  # no orphaned pool process left
    assert not running(second)


def _children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid` (Linux /proc), waited for up to a few seconds."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        if found:
            return found
        time.sleep(0.1)
    return []
