"""How fast do the start page ("/") and a big incident room render?

Builds, in a scratch database, a dashboard's worth of incidents in several stages and
one long crisis (200 tasks, 5,000 timeline events, 35 evidence files), then renders "/"
and that incident's page K times each through Django's test Client as the signed-in
commander, interleaved with a trivial view (a minimal template, same middleware and
session) measured in the same run. DEBUG is off while timing, as in production.

Prints p50/p95, CPU, queries and bytes per page; the incident page twice: with its live
regions from the renders shared by everyone who sees the same (as the server runs), and
"cold", every region rendered anew. Last line:
incident_p95_ms=<x> ratio=<incident p95 / trivial p95> cold_p95_ms=<z>   (target p95 <= 150 ms on PostgreSQL)

    .venv/bin/python bench/pages.py [K] [--no-freeze]
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
import types

from common import median_ms, percentile_ms, setup  # also puts the project on sys.path (tests.*)

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
K = int(ARGS[0]) if ARGS else 50
# As a server process (crisisflow/wsgi.py) the start-up heap is moved out of the garbage
# collector's way (gc.freeze() once the app is loaded); --no-freeze measures without it,
# when full collections over Django's own objects land on random requests and make the p95.
FREEZE = "--no-freeze" not in sys.argv
DASHBOARD_INCIDENTS = 40
WARM_UP = 5


def build(settings):
    from django.db import connection

    from crisisflow.incidents import actions
    from crisisflow.vocab import State
    from tests.conftest import Personas, install_plan, make_user
    from tests.flows import report, walk_to
    from tests.test_web__room_performance import BIG_EVENTS, BIG_TASKS, build_room, grow

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
    for person, phone in ((people.commander, "+86 138 0000 0001"), (people.pr_lead, "+86 138 0000 0002")):
        person.phone, person.email = phone, f"{person.username}@example.com"
        person.save()
    install_plan()

    stages = [State.REPORTED, State.CONFIRMED, State.TEAM_ASSEMBLED, State.INFO_PUBLISHED, State.REMEDIATING]
    for i in range(DASHBOARD_INCIDENTS):
        incident = report(people, title=f"Incident {i}: complaints spreading on Weibo", severity="high")
        walk_to(people, incident, stages[i % len(stages)])
        actions.add_note(people.commander, incident, f"Status {i}: monitoring")

    big = build_room(people, title="A long crisis: data leak rumours")
    grow(big, people, tasks=BIG_TASKS, events=BIG_EVENTS, attachments=35)
    # Fresh statistics after the bulk load, as autovacuum would gather them; without,
    # PostgreSQL plans the timeline's page as if the incident had a handful of events.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return people, big


def main() -> None:
    vendor = setup("crisisflow_bench_pages")

    from django.conf import settings
    from django.contrib.auth.decorators import login_required
    from django.db import connection
    from django.http import HttpResponse
    from django.template import engines
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import include, path, resolve

    # DEBUG off before any template engine exists: no query log, no template debug info.
    settings.DEBUG = False
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="crisisflow-bench-media-")
    people, big = build(settings)

    # The trivial view exists only here: a urls module made for this run.
    minimal = engines["django"].from_string("<!DOCTYPE html><title>ok</title><p>{{ request.user }}</p>")

    @login_required
    def trivial(request):
        return HttpResponse(minimal.render({}, request))

    urls = types.ModuleType("bench_pages_urls")
    urls.urlpatterns = [path("bench/trivial/", trivial), path("", include("crisisflow.urls"))]
    sys.modules[urls.__name__] = urls

    from crisisflow.web import live

    pages = {
        "trivial": "/bench/trivial/",
        "dashboard": "/",
        "incident": f"/incidents/{big.reference}/",
        # The same page with every live region rendered anew (as for the first reader after
        # a change); "incident" takes them from the renders shared by everyone who sees
        # the same, as the server does.
        "incident_cold": f"/incidents/{big.reference}/",
    }
    cold = {"incident_cold"}
    allowed = [*settings.ALLOWED_HOSTS, "testserver"]
    assert not engines["django"].engine.debug
    with override_settings(ROOT_URLCONF=urls.__name__, ALLOWED_HOSTS=allowed):
        start_view = resolve("/").func
        client = Client()
        client.force_login(people.commander)
        client.cookies["django_language"] = "zh-hans"
        queries = {}
        for name, url in pages.items():
            for _ in range(WARM_UP):
                assert client.get(url).status_code == 200, url
            if name in cold:
                live.shared.clear()
            with CaptureQueriesContext(connection) as ctx:
                size = len(client.get(url).content)
            queries[name] = (len(ctx.captured_queries), size)
        if FREEZE:
            gc.collect()
            gc.freeze()
        samples: dict[str, list[float]] = {name: [] for name in pages}
        cpu: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(K):  # interleaved, so drift hits every page alike
            for name, url in pages.items():
                if name in cold:
                    live.shared.clear()
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                samples[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - started_cpu)
                assert response.status_code == 200

    view = f"{start_view.__module__}.{start_view.__name__}"
    print(f"database={vendor} K={K} dashboard_incidents={DASHBOARD_INCIDENTS} big_incident={big.reference}")
    load = os.getloadavg()[0]
    print(f'"/" is served by {view}; load average {load:.1f} on {os.cpu_count()} CPUs; gc.freeze: {FREEZE}')
    for name in pages:
        n, size = queries[name]
        p50, p95 = median_ms(samples[name]), percentile_ms(samples[name], 0.95)
        # CPU time of this process: what the page costs, whatever else the machine runs.
        cpu50 = median_ms(cpu[name])
        print(f"{name:13s} p50_ms={p50:7.2f} p95_ms={p95:7.2f} cpu_p50_ms={cpu50:7.2f} queries={n:3d} bytes={size}")
    incident_p95 = percentile_ms(samples["incident"], 0.95)
    trivial_p95 = percentile_ms(samples["trivial"], 0.95)
    cold_p95 = percentile_ms(samples["incident_cold"], 0.95)
    print(f"incident_p95_ms={incident_p95:.1f} ratio={incident_p95 / trivial_p95:.1f} cold_p95_ms={cold_p95:.1f}")


if __name__ == "__main__":
    main()
