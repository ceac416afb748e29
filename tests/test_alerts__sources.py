"""Deadline sources: an app registers its own deadline and the sweep fires it; a row
whose firing keeps failing backs off instead of heading every sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crisisflow.alerts import sweep as sweep_module
from crisisflow.alerts.sources import DeadlineSource, backoff_delay, register, registered, unregister
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents.models import Task
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def test_a_registered_source_is_swept_and_its_failures_back_off():
    due_rows = {1: T0, 2: T0}  # an app's own deadline column, here a dict
    fired: list[int] = []
    backed_off: list[tuple[int, int]] = []

    def due(now, limit):
        return [(pk,) for pk, at in sorted(due_rows.items()) if at <= now][:limit]

    def fire(row, now):
        if row[0] == 2:
            raise RuntimeError("commitment 2 is broken")
        del due_rows[row[0]]
        fired.append(row[0])
        return f"commitment {row[0]}", []

    def back_off(row, now):
        backed_off.append(row[0])
        due_rows[row[0]] = now + backoff_delay(backed_off.count(row[0]) - 1)

    # A name of its own: the commitments app registers a real "commitment" source.
    register(DeadlineSource(name="test_promise", due=due, fire=fire, back_off=back_off))
    try:
        assert [s.name for s in registered()][:3] == ["golden_clock", "triage", "task"]
        with time_machine.travel(T0, tick=False):
            report_ = sweep()
        assert fired == [1]
        assert "commitment 1" in report_.fired
        assert report_.errors == ["test_promise 2: commitment 2 is broken"]
        assert due_rows[2] == T0 + timedelta(seconds=60)
        with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
            sweep()
        assert backed_off == [2]  # not tried again before its back-off
        with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
            sweep()
        assert backed_off == [2, 2]
        assert due_rows[2] == T0 + timedelta(seconds=61 + 120)  # doubled
    finally:
        unregister("test_promise")


def test_the_backoff_doubles_up_to_its_cap(settings):
    assert [backoff_delay(n).total_seconds() for n in range(4)] == [60, 120, 240, 480]
    assert backoff_delay(20) == timedelta(hours=1)


def test_a_task_rung_that_keeps_failing_moves_out_of_the_way(people, plan, monkeypatch):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    broken = incident.tasks.get(key="legal-review")
    real = sweep_module.fire_task_rung

    def flaky(task_id, *args, **kwargs):
        if task_id == broken.pk:
            raise RuntimeError("cannot render")
        return real(task_id, *args, **kwargs)

    monkeypatch.setattr(sweep_module, "fire_task_rung", flaky)
    moment = T0 + 3 * H  # legal-review is due
    with time_machine.travel(moment, tick=False):
        result = sweep()
    broken.refresh_from_db()
    assert any(error.startswith(f"task {broken.pk}: cannot render") for error in result.errors)
    assert broken.alert_failures == 1
    assert broken.next_alert_at == moment + timedelta(seconds=60)
    # The next sweeps do not see it at their head until the back-off is over.
    with time_machine.travel(moment + timedelta(seconds=5), tick=False):
        assert not any(str(broken.pk) in e for e in sweep().errors)
    monkeypatch.setattr(sweep_module, "fire_task_rung", real)
    with time_machine.travel(moment + timedelta(seconds=61), tick=False):
        result = sweep()
    broken.refresh_from_db()
    assert broken.alert_failures == 0  # fired at last; the count starts again
    assert any(f"task {broken.pk} due" in line for line in result.fired)
    assert Task.objects.get(pk=broken.pk).next_alert_at > moment + timedelta(seconds=61)
