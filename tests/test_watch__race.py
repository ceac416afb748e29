"""Several workers evaluating at once, on real PostgreSQL connections: one rule fired by
two workers fires once; two rules of one brand and crisis type firing at the same moment
open one incident between them, and the other adds its evidence to it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection, connections

from crisisflow import clock
from crisisflow.incidents.models import Incident
from crisisflow.watch import ingest
from crisisflow.watch.accounts import service_account
from crisisflow.watch.firing import fire
from crisisflow.watch.models import Firing, Rule
from crisisflow.watch.rules import condition, evaluate_changed
from tests.watch_world import rule, series

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def race(*calls):
    """Run the calls at once, each in its own thread with its own database connection."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            results[i] = err
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_one_rule_evaluated_by_two_workers_fires_once(people):
    complaints = series()
    watched = rule("threshold", {"op": "above", "value": 50}, on=complaints)
    for round_ in range(5):
        now = clock.now() + timedelta(hours=2 * round_)
        ingest.receive(points=[(complaints.pk, now - timedelta(minutes=1), 80 + round_)])
        verdict = condition(Rule.objects.select_related("series").get(pk=watched.pk), now)
        results = race(*[partial(fire, watched.pk, verdict.detail, now)] * 2)
        assert not any(isinstance(r, Exception) for r in results), results
        assert sum(isinstance(r, Firing) for r in results) == 1, results
    assert Firing.objects.filter(rule=watched).count() == 5


@pytest.fixture
def slow_evidence(monkeypatch):
    """Gathering the evidence takes a while (as on a loaded server), between the brand's
    lock and the look for an open incident: without the lock both workers would look,
    find none, and open one each."""
    from crisisflow.watch import firing

    freeze = firing.freeze

    def slowly(*args, **kwargs):
        time.sleep(0.3)
        return freeze(*args, **kwargs)

    monkeypatch.setattr(firing, "freeze", slowly)


def test_two_rules_of_one_brand_firing_at_once_open_one_incident(people, slow_evidence):
    service_account()  # made beforehand: its creation would serialise the workers by itself
    complaints = series()
    mentions = series("acme-mentions", kind="mentions_per_hour", platform="weibo")
    # A crisis type per round, so that every round has to open an incident.
    for crisis_type in ("service_outage", "data_breach", "product_quality"):
        a = rule("threshold", {"op": "above", "value": 50}, on=complaints, crisis_type=crisis_type, name="a")
        b = rule("threshold", {"op": "above", "value": 500}, on=mentions, crisis_type=crisis_type, name="b")
        now = clock.now()
        ingest.receive(points=[(complaints.pk, now, 80), (mentions.pk, now, 900)])
        verdicts = [condition(Rule.objects.select_related("series").get(pk=r.pk), now).detail for r in (a, b)]
        results = race(partial(fire, a.pk, verdicts[0], now), partial(fire, b.pk, verdicts[1], now))
        assert all(isinstance(r, Firing) for r in results), results
        assert len({r.incident_id for r in results}) == 1, "two incidents opened for one brand and type"
        assert sorted(r.opened for r in results) == [False, True]
        assert Incident.objects.filter(crisis_type=crisis_type).count() == 1


def test_the_periodic_job_on_several_workers_opens_one_incident(people, slow_evidence):
    service_account()
    complaints = series()
    rule("threshold", {"op": "above", "value": 50}, on=complaints, name="a")
    rule("spike", {"z": 0.5}, on=complaints, name="b")
    rule("threshold", {"op": "above", "value": 60}, on=complaints, name="c")
    start = clock.now() - timedelta(weeks=3)
    ingest.receive(points=[(complaints.pk, start + timedelta(weeks=w), 10.0 + w) for w in range(3)])
    ingest.receive(points=[(complaints.pk, clock.now(), 90)])
    results = race(*[evaluate_changed] * 4)
    assert not any(isinstance(r, Exception) for r in results), results
    assert Incident.objects.count() == 1
    assert Firing.objects.count() == 3  # each rule once, all into the one incident
    assert Firing.objects.filter(opened=True).count() == 1


def test_two_commanders_saving_one_series_at_the_same_moment_one_is_refused(people, monkeypatch):
    """Both opened the form at version 1 and press save together. Checking the fields
    takes a while (between reading the row and writing it): without the row lock both
    would read version 1 and the later write would silently replace the earlier."""
    from crisisflow.incidents.errors import Conflict
    from crisisflow.watch import configure
    from crisisflow.watch.models import Series

    one = series(name="Complaints")
    check = Series.full_clean

    def slowly(self, *args, **kwargs):
        time.sleep(0.3)
        return check(self, *args, **kwargs)

    monkeypatch.setattr(Series, "full_clean", slowly)
    save = partial(
        configure.save_series, people.commander, one.pk, kind="complaints_per_hour", scope="brand", brand=one.brand
    )
    results = race(
        partial(save, name="Complaints per hour", expected_version=1),
        partial(save, name="Complaints (Weibo)", platform="weibo", expected_version=1),
    )
    saved = [r for r in results if isinstance(r, Series)]
    assert len(saved) == 1 and sum(isinstance(r, Conflict) for r in results) == 1, results
    one.refresh_from_db()
    assert (one.name, one.platform, one.version) == (saved[0].name, saved[0].platform, 2)
