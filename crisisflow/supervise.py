"""Keep the processes of `scripts/run` running: the web server, the Celery worker, beat.

    python -m crisisflow.supervise [--first-delay S] [--max-delay S] [--stable-after S] \\
        web="python manage.py runserver 127.0.0.1:8000 --noreload" \\
        worker="celery -A crisisflow worker -l info --concurrency 2" \\
        beat="celery -A crisisflow beat -l info"

Each child runs in a process group of its own. One that exits, for whatever reason, is
logged with its exit status and started again after a pause that doubles with each
failure in a row (1 s, 2 s, 4 s … at most 60 s), and starts again at 1 s once the child
has stayed up for a while (60 s): a worker crashing in a loop does not spin the CPU,
and one crash a day is retried at once. The others are left alone: the web server keeps
serving while the worker is restarted, and commanders see that the worker is down (its
heartbeat stops; see crisisflow/incidents/worker.py).

When the leader of a child's group exits, whatever is left of the group (a prefork
worker's pool processes) is killed before the child starts again, so two pools never
run side by side.

SIGINT or SIGTERM stops every child (SIGTERM to it: Celery's warm shutdown, then SIGKILL
to what is left of its group after --stop-timeout) and ends the supervisor with status 0.
Only the standard library, so it can run before Django is set up and be tested alone.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
STABLE_AFTER = 60.0
STOP_TIMEOUT = 20.0
POLL_SECONDS = 0.2


def describe_exit(returncode: int) -> str:
    """'status 1' or 'signal 9 (SIGKILL)', as Popen reports a child's end."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown"
        return f"signal {-returncode} ({name})"
    return f"status {returncode}"


def backoff(failures: int, first: float = FIRST_DELAY, most: float = MAX_DELAY) -> float:
    """The pause before starting a child again after `failures` exits in a row (1, 2, …)."""
    return min(first * 2 ** max(0, failures - 1), most)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0  # exits in a row, each after less than `stable_after` up
    restart_at: float | None = None
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


@dataclass
class Supervisor:
    children: list[Child]
    first_delay: float = FIRST_DELAY
    max_delay: float = MAX_DELAY
    stable_after: float = STABLE_AFTER
    stop_timeout: float = STOP_TIMEOUT
    log: Callable[[str], None] = field(default=lambda line: print(f"supervise: {line}", file=sys.stderr, flush=True))
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self, child: Child) -> None:
        try:
            child.process = subprocess.Popen(child.argv, start_new_session=True)
        except OSError as err:
            # A command that cannot even start is retried like one that exits.
            self.log(f"{child.name} could not start: {err}")
            child.process = None
            self._schedule_restart(child, time.monotonic())
            return
        child.started_at = time.monotonic()
        child.restart_at = None
        child.starts += 1
        again = " again" if child.starts > 1 else ""
        self.log(f"{child.name} started{again} (pid {child.process.pid})")

    def _schedule_restart(self, child: Child, now: float) -> None:
        if child.process is not None and now - child.started_at >= self.stable_after:
            child.failures = 0  # it had been fine for a while: this is a new failure
        child.failures += 1
        delay = backoff(child.failures, self.first_delay, self.max_delay)
        child.restart_at = now + delay
        self.log(f"{child.name}: starting it again in {delay:g} s (failure {child.failures} in a row)")

    def check(self, now: float | None = None) -> None:
        """One round: note children that exited, start those whose pause is over."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at and not self.stopping.is_set():
                    self.start(child)
                continue
            process = child.process
            if process is None or process.poll() is None:
                continue
            _kill_group(process.pid, signal.SIGKILL)  # its pool processes, if any are left
            status = describe_exit(process.returncode)
            self.log(f"{child.name} (pid {process.pid}) exited with {status} after {now - child.started_at:.0f} s")
            self._schedule_restart(child, now)

    def stop(self) -> None:
        """SIGTERM to every running child's group; SIGKILL to what is left after the timeout."""
        self.stopping.set()
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        if running:
            self.log("stopping " + ", ".join(f"{c.name} (pid {c.pid})" for c in running))
        for child in running:
            # To the leader only: a Celery worker then stops its own pool in order.
            _signal(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"{child.name} (pid {child.pid}) did not stop within {self.stop_timeout:g} s; killing it")
        for child in self.children:
            if child.process is not None:
                _kill_group(child.process.pid, signal.SIGKILL)
                child.process.wait()

    def run(self) -> int:
        """Start every child and keep them running until SIGINT or SIGTERM."""

        def on_signal(signum: int, _frame) -> None:
            if not self.stopping.is_set():
                self.log(f"{signal.Signals(signum).name} received")
            self.stopping.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        for child in self.children:
            self.start(child)
        while not self.stopping.wait(POLL_SECONDS):
            self.check()
        self.stop()
        return 0


def _kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def parse_children(specs: Sequence[str]) -> list[Child]:
    children = []
    for spec in specs:
        name, sep, command = spec.partition("=")
        argv = shlex.split(command)
        if not sep or not name or not argv:
            raise ValueError(f"not NAME=COMMAND: {spec!r}")
        children.append(Child(name, argv))
    names = [child.name for child in children]
    if len(set(names)) != len(names):
        raise ValueError(f"a name is given twice: {' '.join(names)}")
    return children


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crisisflow.supervise", description=__doc__.split("\n\n")[0])
    parser.add_argument("--first-delay", type=float, default=FIRST_DELAY, help="first pause before a restart (s)")
    parser.add_argument("--max-delay", type=float, default=MAX_DELAY, help="longest pause before a restart (s)")
    parser.add_argument(
        "--stable-after", type=float, default=STABLE_AFTER, help="up this long, a child's next exit counts as a first"
    )
    parser.add_argument("--stop-timeout", type=float, default=STOP_TIMEOUT, help="wait this long for children to stop")
    parser.add_argument("children", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args(argv)
    try:
        children = parse_children(args.children)
    except ValueError as err:
        parser.error(str(err))
    supervisor = Supervisor(
        children,
        first_delay=args.first_delay,
        max_delay=args.max_delay,
        stable_after=args.stable_after,
        stop_timeout=args.stop_timeout,
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
