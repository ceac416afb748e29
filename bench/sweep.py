"""Does a sweep cost what is due, or what is open?

One sweep over 10,000 open tasks of which 1,000 are due, then the same after 990,000 more
open (not yet due) tasks were added: a million. The due rows are found through the
partial index task_next_alert (next_alert_at, only rows with an alert still to come), so
the sweep should cost the same in both cases; the open rows only make the index deeper.

Times `sweep(now)` itself, in-process: finding, claiming and firing the due rungs and
writing their notifications and timeline events; delivery is not part of it. Each case
runs once to warm up and then three times on fresh due rows (the same 1,000 tasks put
back on their "due" rung under a new ladder generation); the median counts.
Last line: ratio=<1M time / 10k time> (target <= 1.5).

    .venv/bin/python bench/sweep.py
"""

from __future__ import annotations

import statistics
import time

from common import World, setup

DUE = 1_000
SMALL = 10_000
LARGE = 1_000_000
INCIDENTS = 300
RUNS = 3


def main() -> None:
    vendor = setup("crisisflow_bench_sweep")
    if vendor != "postgresql":
        print("note: not on PostgreSQL (it does not answer, or CRISISFLOW_BENCH_DB=sqlite); measuring on SQLite")

    from django.db import connection

    from crisisflow import clock
    from crisisflow.alerts.models import Notification
    from crisisflow.alerts.sweep import sweep
    from crisisflow.incidents.models import Event, Task

    now = clock.now()
    load = time.perf_counter()
    world = World(INCIDENTS, now, webhook_url="http://127.0.0.1:9/never-called")
    # The due ones first, so their ids (and keys bench-0…999) are known.
    world.add_tasks(DUE, due_from=-660, due_spread=600, at_due_rung=True)
    world.add_tasks(SMALL - DUE, due_from=0, due_spread=0, at_due_rung=False)
    due_ids = list(Task.objects.filter(next_alert_at__lte=now).values_list("pk", flat=True))
    assert len(due_ids) == DUE, len(due_ids)
    print(f"database={vendor} incidents={INCIDENTS} loaded {SMALL} tasks in {time.perf_counter() - load:.1f}s")

    def put_back_due() -> None:
        # A new generation, as a rebuilt ladder would have: the notifications' source
        # key (task:id:generation:step) is new, so nothing collides with the last run.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE incidents_task SET alert_step = 2, alert_generation = alert_generation + 1, "
                f"next_alert_at = due_at WHERE id IN ({', '.join(map(str, due_ids))})"
            )

    def measure(label: str, open_tasks: int) -> float:
        samples = []
        fired = 0
        for run in range(RUNS + 1):
            put_back_due()
            events = Event.objects.filter(kind=Event.Kind.ALERT).count()
            queries = 0

            def count(execute, sql, params, many, context):
                nonlocal queries
                queries += 1
                return execute(sql, params, many, context)

            start = time.perf_counter()
            with connection.execute_wrapper(count):
                report = sweep(now)
            took = time.perf_counter() - start
            fired = len(report.fired)
            assert fired == DUE and not report.errors, report
            assert Event.objects.filter(kind=Event.Kind.ALERT).count() - events == DUE
            if run:  # the first is the warm-up
                samples.append(took)
        median = statistics.median(samples)
        print(
            f"{label}: open_tasks={open_tasks} due={DUE} fired={fired} "
            f"sweep_s={median:.3f} (runs {', '.join(f'{s:.3f}' for s in samples)}) "
            f"statements_per_rung={queries / fired:.1f}"
        )
        return median

    def plan() -> str:
        """How the database finds the due rows: through task_next_alert, we hope."""
        query = (
            "SELECT id, alert_step, alert_generation FROM incidents_task "
            "WHERE next_alert_at <= %s ORDER BY next_alert_at LIMIT 2000"
        )
        explain = "EXPLAIN " if vendor == "postgresql" else "EXPLAIN QUERY PLAN "
        with connection.cursor() as cursor:
            cursor.execute(explain + query, [now])
            rows = [str(row[0] if vendor == "postgresql" else row[-1]) for row in cursor.fetchall()]
        return " | ".join(row.strip().split("  (cost")[0] for row in rows)

    small = measure("small", SMALL)
    print(f"  plan: {plan()}")

    load = time.perf_counter()
    world.add_tasks(LARGE - SMALL, due_from=0, due_spread=0, at_due_rung=False)
    print(f"loaded {LARGE - SMALL} more open tasks in {time.perf_counter() - load:.1f}s")
    large = measure("large", LARGE)
    print(f"  plan: {plan()}")
    print(f"notifications written: {Notification.objects.count()}")
    print(f"small_s={small:.3f} large_s={large:.3f}")
    print(f"ratio={large / small:.2f}")


if __name__ == "__main__":
    main()
