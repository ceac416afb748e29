"""The embedded Celery broker: a queue in a SQLite file of its own, for when no Redis is
configured (`scripts/run` on a laptop, the tests' default without Redis).

kombu's SQLAlchemy transport with a Channel that makes it safe for the several processes
`scripts/run` starts (the web server, a prefork worker and its children, beat), all
reading and writing the one file at once:

- a message is claimed inside `BEGIN IMMEDIATE`, SQLite's write lock, so two consumers
  can never take the same one, and no consumer ever reads a half-written message (the
  file-system transport read message files other processes were still writing and
  crashed the worker);
- a claimed message is deleted, not kept as an invisible row, so the file stays small
  over weeks of heartbeats and sweeps, and every poll stays cheap;
- queues are created with `INSERT OR IGNORE` and the tables under the write lock, so a
  worker and beat starting in the same instant do not trip over each other;
- write-ahead logging: readers never block the writer, and a poll of an empty queue
  takes no lock at all;
- a process forked from one that had the file open (the prefork pool's children) opens
  its own connections instead of sharing its parent's, as SQLite requires;
- kombu's own options (`polling_interval`) are not handed to SQLAlchemy, which refuses
  them.

What it does not have, like every kombu transport without fanout: broadcast. Remote
control (`celery inspect`, `celery control`) does not reach the worker; the worker's
health is the heartbeat row (crisisflow.incidents.tasks), which needs none of it. A
message a worker had taken when it was killed with SIGKILL is lost, as with the file
transport; deadlines are rows, and lost deliveries are queued again by the sweep.

Selected in settings with the URL `url_for_file(path)`; crisisflow/celery.py registers
the name with kombu. The transport itself is in transport.py, imported only by a process
that uses it (it brings in SQLAlchemy).
"""

from __future__ import annotations

from pathlib import Path

# The name the broker URL uses for this transport: `crisisflow-sqlite+sqlite:///…`.
TRANSPORT_NAME = "crisisflow-sqlite"
TRANSPORT_PATH = "crisisflow.broker.transport:Transport"
URL_PREFIX = f"{TRANSPORT_NAME}+sqlite:///"


def url_for_file(path: str | Path) -> str:
    """The broker URL of the SQLite file at `path` (made absolute)."""
    return URL_PREFIX + str(Path(path).resolve())


def file_of_url(url: str) -> Path | None:
    """The SQLite file of an embedded-broker URL; None for any other broker."""
    return Path(url.removeprefix(URL_PREFIX)) if url.startswith(URL_PREFIX) else None
