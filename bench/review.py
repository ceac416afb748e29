"""How fast does the review page of a long crisis render, and how long does its PDF take?

Builds, in a scratch database, one incident in review with 200 tasks and 5,000 timeline
events (the builder of bench/pages.py), a written review and two sign-offs, then renders
its review page K times through Django's test Client as the signed-in commander (DEBUG
off), counts its queries (the same however long the timeline), and exports the PDF.
Last line:
review_p95_ms=<x> pdf_s=<y>   (goals: p95 <= 200 ms on PostgreSQL, PDF <= 5 s)

    .venv/bin/python bench/review.py [K]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from common import median_ms, percentile_ms, setup

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
K = int(ARGS[0]) if ARGS else 50
WARM_UP = 5


def build(settings):
    from django.db import connection

    from crisisflow.reviews import use_cases
    from crisisflow.vocab import State
    from tests.conftest import Personas, install_plan, make_user
    from tests.flows import report, walk_to
    from tests.test_web__room_performance import BIG_EVENTS, BIG_TASKS, grow

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
    incident = walk_to(people, report(people, title="A long crisis: data leak rumours"), State.IN_REVIEW)
    grow(incident, people, tasks=BIG_TASKS, events=BIG_EVENTS)
    review = use_cases.review_of(people.commander, incident)
    review = use_cases.save_review(
        people.commander,
        incident,
        {
            "ratings": {"speed": {"rating": 4, "evidence": "Holding statement at 2 h 40 min", "comment": "Fast"}},
            "went_well": "Legal reviewed the holding statement in 25 minutes.",
            "went_badly": "Customer service scripts lagged the public statement by 3 hours.",
            "root_cause": "支付网关证书过期，监控没有覆盖证书有效期。",
            "root_cause_origin": "internal",
            "five_whys": ["Payments failed", "The certificate expired", "Nobody renewed it", "No owner", "No alert"],
        },
        expected_version=review.version,
    )
    use_cases.sign_off(people.commander, incident, "commander", expected_version=review.version)
    use_cases.sign_off(people.legal, incident, "legal", expected_version=review.version)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return people, incident, review


def main() -> None:
    vendor = setup("crisisflow_bench_review")
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import translation

    settings.DEBUG = False
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="crisisflow-bench-media-")
    people, incident, review = build(settings)
    from crisisflow.incidents.models import Event
    from crisisflow.reviews import export

    url = f"/incidents/{incident.reference}/review/"
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        client = Client()
        client.force_login(people.commander)
        client.cookies["django_language"] = "zh-hans"
        for _ in range(WARM_UP):
            assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            size = len(client.get(url).content)
        queries = len(ctx.captured_queries)
        samples, cpu = [], []
        for _ in range(K):
            started, started_cpu = time.perf_counter(), time.process_time()
            assert client.get(url).status_code == 200
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        # Cold: the figures computed anew, as for the first reader after a change.
        from django.core.cache import cache

        cold = []
        for _ in range(max(5, K // 5)):
            cache.clear()
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            cold.append(time.perf_counter() - started)
    review.refresh_from_db()
    started = time.perf_counter()
    with translation.override("zh-hans"):
        pdf = export.export(review, "pdf", language="zh-hans")
    pdf_s = time.perf_counter() - started
    events = Event.objects.filter(incident=incident).count()
    tasks = incident.tasks.count()
    print(f"database={vendor} K={K} incident={incident.reference} tasks={tasks} events={events}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(
        f"review  p50_ms={median_ms(samples):7.2f} p95_ms={percentile_ms(samples, 0.95):7.2f} "
        f"cpu_p50_ms={median_ms(cpu):7.2f} cpu_p95_ms={percentile_ms(cpu, 0.95):7.2f} queries={queries} bytes={size}"
    )
    print(f"review_cold p50_ms={median_ms(cold):7.2f} p95_ms={percentile_ms(cold, 0.95):7.2f} (figures recomputed)")
    print(f"pdf bytes={len(pdf)}")
    print(f"review_p95_ms={percentile_ms(samples, 0.95):.1f} pdf_s={pdf_s:.2f}")


if __name__ == "__main__":
    main()
