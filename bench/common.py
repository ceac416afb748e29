"""Setting up a scratch database for a benchmark run.

Benchmarks print figures; they never assert timings. Each run uses its own database
(PostgreSQL when it answers on 127.0.0.1:5432, else a SQLite file under var/bench;
CRISISFLOW_BENCH_DB=sqlite forces SQLite), created fresh and migrated, so figures are not
skewed by leftovers.
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def setup(name: str) -> str:
    """Point Django at a fresh database called `name`, migrate it, return its kind."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
    elif os.environ.get("CRISISFLOW_BENCH_DB") != "sqlite" and _postgres_answers():
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        path = ROOT / "var" / "bench" / f"{name}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crisisflow.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    return connection.vendor


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def percentile_ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index] * 1000


# --- Bulk loading for the deadline benchmarks ------------------------------------------
# Rows are copied from one template incident and one template task made through the use
# cases, so every column holds what the application itself would write; the copies differ
# only in the columns the benchmark sets. INSERT … SELECT over a generated series keeps a
# million rows to seconds, on PostgreSQL (generate_series) and SQLite (a recursive CTE).


def _series(n: int, vendor: str) -> str:
    if vendor == "postgresql":
        return f"generate_series(1, {int(n)}) AS s(i)"
    return f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {int(n)}) SELECT i FROM s) AS s"


def _at(base, seconds_sql: str, vendor: str) -> str:
    """SQL for `base` + `seconds_sql` seconds, as the column type wants it."""
    from datetime import UTC

    if vendor == "postgresql":
        return f"(TIMESTAMPTZ '{base.astimezone(UTC).isoformat()}' + ({seconds_sql}) * INTERVAL '1 second')"
    naive = base.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return f"strftime('%Y-%m-%d %H:%M:%f', '{naive}', ({seconds_sql}) || ' seconds')"


def _copy_rows(table: str, template_id: int, n: int, overrides: dict[str, str]) -> int:
    """INSERT n copies of row `template_id` of `table`, some columns computed from the
    series number `i`. Returns how many rows were written."""
    from django.db import connection

    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, table) if c.name != "id"]
        select = ", ".join(overrides.get(c, f"t.{connection.ops.quote_name(c)}") for c in columns)
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {select} "
            f"FROM {table} t CROSS JOIN {_series(n, connection.vendor)} WHERE t.id = {int(template_id)}"
        )
        return cursor.rowcount


class World:
    """A few hundred open incidents with a team each, and one team webhook."""

    def __init__(self, incidents: int, now, *, webhook_url: str, email: bool = True):
        from django.db import connection, transaction

        from crisisflow.alerts.models import WebhookEndpoint
        from crisisflow.incidents import actions
        from crisisflow.incidents.models import Incident, Task, TeamMember
        from crisisflow.people.models import RosterEntry, User

        self.vendor = connection.vendor
        self.now = now

        def person(name: str, role: str) -> User:
            user = User.objects.create_user(
                f"bench-{name}", email=f"{name}@bench.invalid" if email else "", password=None, alert_email=email
            )
            RosterEntry.objects.create(role=role, user=user)
            return user

        self.commander = person("commander", "commander")
        self.pr = person("pr", "pr")
        self.legal = person("legal", "legal")
        reporter = User.objects.create_user("bench-reporter", password=None)
        WebhookEndpoint.objects.create(name="bench team", url=webhook_url)
        with transaction.atomic():
            template = actions.report_incident(
                reporter, title="Payments down in East China", severity="high", commander=self.commander
            )
            # Straight to an open, staffed state: the sweep does not look at the stage.
            Incident.objects.filter(pk=template.pk).update(state="team_assembled", team_assembled_at=now)
            for user, role in ((self.pr, "pr"), (self.legal, "legal")):
                TeamMember.objects.create(incident=template, user=user, role=role, is_lead=True, added_at=now)
            self.template_task = Task.objects.create(
                incident=template,
                key="template",
                title={"en": "Holding statement", "zh": "声明"},
                instructions={"en": "Draft, review, publish.", "zh": "起草、审核、发布。"},
                role="pr",
                stage="publish",
                anchor="detected",
                offset=timedelta(hours=4),
                assignee=self.pr,
            )
            before = Incident.objects.count()
            _copy_rows("incidents_incident", template.pk, incidents - 1, {"reference": "'BENCH-' || (s.i)"})
            self.incident_ids = [template.pk, *Incident.objects.order_by("pk").values_list("pk", flat=True)[before:]]
            for member in TeamMember.objects.filter(incident=template):
                _copy_rows(
                    "incidents_teammember",
                    member.pk,
                    incidents - 1,
                    {"incident_id": "(SELECT id FROM incidents_incident WHERE reference = 'BENCH-' || (s.i))"},
                )
        self.tasks = 0

    def add_tasks(self, n: int, *, due_from: float, due_spread: float, at_due_rung: bool, now=None) -> None:
        """n tasks over the incidents. With at_due_rung their next alert is the "due" rung
        at due_at (now + due_from … + due_spread seconds); without, it is the half-window
        reminder of a deadline hours ahead, the state of most open tasks. Times count
        from `now`, by default the world's."""
        from django.db import connection

        first, count = self.incident_ids[0], len(self.incident_ids)
        if self.incident_ids[-1] - first + 1 != count:
            raise RuntimeError("the copied incidents do not have consecutive ids")
        v, base = self.vendor, now or self.now
        start = self.tasks
        i = f"(s.i + {start})"
        if at_due_rung:
            due = f"({due_from} + ({i} % 10000) * {due_spread / 10000.0})"
            # Window opened 2 h before due: half window and "15 min before" are past, so
            # the next rung is step 2, "due" (task_rungs: half_window, before_900s, due, …).
            window, step, next_alert = f"({due} - 7200)", 2, due
        else:
            half = f"(600 + ({i} % 86400))"  # ten minutes to a day away
            due = f"(2 * {half} + 3600)"
            window, step, next_alert = "(-3600)", 0, half
        role = f"CASE WHEN {i} % 2 = 0 THEN 'pr' ELSE 'legal' END"
        assignee = f"CASE WHEN {i} % 2 = 0 THEN {self.pr.pk} ELSE {self.legal.pk} END"
        _copy_rows(
            "incidents_task",
            self.template_task.pk,
            n,
            {
                "incident_id": f"({first} + {i} % {count})",
                "key": f"'bench-' || {i}",
                "position": i,
                "role": role,
                "assignee_id": assignee,
                "due_at": _at(base, due, v),
                "alert_window_start": _at(base, window, v),
                "next_alert_at": _at(base, next_alert, v),
                "alert_step": str(step),
                "alert_generation": "1",
            },
        )
        self.tasks += n
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def copy_rows(table: str, template_id: int, n: int, overrides: dict[str, str]) -> int:
    """The bulk copy above, for benchmarks that build their own worlds (bench/analytics.py)."""
    return _copy_rows(table, template_id, n, overrides)
