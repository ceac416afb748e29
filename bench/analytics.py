"""How fast does the analytics page read 10,000 closed incidents?

Builds, in a scratch database, one incident walked from report to close (its review
signed off), then copies it in bulk to 10,000 closed incidents over two years, with
first statements from 1 to 20 hours after the outbreak (some past the golden 4 hours),
several crisis types and severities, and 500 dismissed false alarms beside them. Renders
/analytics/ K times as the commander (DEBUG off). Last line:
analytics_p95_ms=<x>   (goal <= 500 ms)

    .venv/bin/python bench/analytics.py [K]
"""

from __future__ import annotations

import os
import sys
import time

from common import copy_rows, median_ms, percentile_ms, setup

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
K = int(ARGS[0]) if ARGS else 30
CLOSED = 10_000
DISMISSED = 500


def _at(column: str, seconds: str, vendor: str) -> str:
    if vendor == "postgresql":
        return f"(t.{column} + ({seconds}) * INTERVAL '1 second')"
    return f"strftime('%Y-%m-%d %H:%M:%f', t.{column}, ({seconds}) || ' seconds')"


def build(settings):
    from django.db import connection, transaction

    from crisisflow.incidents.models import Incident
    from crisisflow.vocab import State
    from tests.conftest import Personas, install_plan, make_user
    from tests.flows import report, walk_to

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
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
    install_plan()
    template = walk_to(people, report(people, title="Payments down"), State.CLOSED)
    vendor = connection.vendor
    # Spread over two years back (detected_at), statements 1 to 20 h after, closed 2 to 9 days after.
    back = "(- (s.i * 6151) % 63072000)"
    first = "((s.i * 3607) % 72000 + 3600)"
    types = "CASE s.i % 3 WHEN 0 THEN 'service_outage' WHEN 1 THEN 'data_breach' ELSE 'product_quality' END"
    severities = "CASE s.i % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' WHEN 2 THEN 'high' ELSE 'critical' END"
    with transaction.atomic():
        copy_rows(
            "incidents_incident",
            template.pk,
            CLOSED - 1,
            {
                "reference": "'BENCH-' || (s.i)",
                "detected_at": _at("detected_at", back, vendor),
                "reported_at": _at("detected_at", back, vendor),
                "first_statement_at": _at("detected_at", f"{back} + {first}", vendor),
                "statement_due_at": _at("detected_at", f"{back} + 14400", vendor),
                "closed_at": _at("detected_at", f"{back} + 172800 + (s.i % 7) * 86400", vendor),
                "crisis_type": types,
                "severity": severities,
            },
        )
        copy_rows(
            "incidents_incident",
            template.pk,
            DISMISSED,
            {
                "reference": "'FALSE-' || (s.i)",
                "state": "'dismissed'",
                "detected_at": _at("detected_at", back, vendor),
                "first_statement_at": "NULL",
                "closed_at": "NULL",
            },
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    assert Incident.objects.filter(state="closed").count() == CLOSED
    return people


def main() -> None:
    vendor = setup("crisisflow_bench_analytics")
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    settings.DEBUG = False
    people = build(settings)
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        client = Client()
        client.force_login(people.commander)
        for _ in range(3):
            page = client.get("/analytics/")
            assert page.status_code == 200
        samples, cpu = [], []
        for _ in range(K):
            started, started_cpu = time.perf_counter(), time.process_time()
            assert client.get("/analytics/").status_code == 200
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        filtered = []
        for _ in range(K):
            started = time.perf_counter()
            assert client.get("/analytics/?severity=high&crisis_type=data_breach").status_code == 200
            filtered.append(time.perf_counter() - started)
    print(f"database={vendor} K={K} closed={CLOSED} dismissed={DISMISSED}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(
        f"analytics          p50_ms={median_ms(samples):7.2f} p95_ms={percentile_ms(samples, 0.95):7.2f} "
        f"cpu_p50_ms={median_ms(cpu):7.2f} (this process; the database's share is in the wall time only)"
    )
    print(f"analytics filtered p50_ms={median_ms(filtered):7.2f} p95_ms={percentile_ms(filtered, 0.95):7.2f}")
    print(f"analytics_p95_ms={percentile_ms(samples, 0.95):.1f}")


if __name__ == "__main__":
    main()
