"""Deadline sources: what the sweep looks at, registered by the apps that own them.

A source is a deadline column with an escalation ladder — tasks' `next_alert_at`, the
golden clock's, triage's, and later statement approvals, commitments and review action
items. An app registers its sources in its AppConfig.ready(); the sweep never names them:

    from crisisflow.alerts.sources import DeadlineSource, register

    register(DeadlineSource(
        name="commitment",
        due=lambda now, limit: list(Commitment.objects.filter(next_alert_at__lte=now)
                                    .order_by("next_alert_at").values_list(...)[:limit]),
        fire=fire_commitment_rung,      # (row, now) -> (what, notification ids) | None
        back_off=back_off_commitment,   # (row, now) -> None: push a failing row later
    ))

`due` returns the due rows (tuples whose first item is the object's id), soonest first,
at most `limit`, through a partial index on the column. `fire` fires one row in its own
transaction, claiming it with a compare-and-set update, and returns a line for the
report and the notification ids to deliver (None if another sweeper got it first or it
moved). When `fire` raises, the sweep logs it and calls `back_off`, which moves the
row's next alert later (`backoff_delay`) so a broken row does not head every sweep.
`fire_many`, if given, fires a list of rows at once (a faster path); on failure the
sweep falls back to `fire` row by row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crisisflow.conf import setting

Row = tuple[Any, ...]
Fired = tuple[str, list[int]] | None


@dataclass(frozen=True)
class DeadlineSource:
    name: str
    due: Callable[[datetime, int], list[Row]]
    fire: Callable[[Row, datetime], Fired]
    back_off: Callable[[Row, datetime], None]
    # (rows, now) -> [(what, ids)] for the rows that fired; all or nothing.
    fire_many: Callable[[list[Row], datetime], list[tuple[str, list[int]]]] | None = None
    chunk: int = 20


_sources: dict[str, DeadlineSource] = {}


def register(source: DeadlineSource) -> DeadlineSource:
    """Add (or replace, by name) a deadline source; the sweep goes through them in the
    order they were first registered."""
    _sources[source.name] = source
    return source


def unregister(name: str) -> None:
    _sources.pop(name, None)


def registered() -> list[DeadlineSource]:
    return list(_sources.values())


def backoff_delay(failures: int) -> timedelta:
    """How long a row that has failed `failures` times in a row waits before the next
    try: SWEEP_BACKOFF_SECONDS, doubled each time, at most SWEEP_BACKOFF_MAX_SECONDS."""
    first = float(setting("SWEEP_BACKOFF_SECONDS"))
    cap = float(setting("SWEEP_BACKOFF_MAX_SECONDS"))
    return timedelta(seconds=min(cap, first * 2 ** max(0, min(failures, 30))))
