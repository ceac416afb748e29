"""Task rungs fired a chunk at a time: a few statements per chunk however many rungs it
holds, and still every guarantee of firing them one by one: one event per rung on an
intact hash chain, nobody told twice, a failing rung backed off while the rest of its
chunk fires, a rung claimed by someone else meanwhile left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db.models import Count, F

from crisisflow.alerts import memo, outbox
from crisisflow.alerts import sweep as sweep_module
from crisisflow.alerts.models import Channel, Notification, WebhookEndpoint
from crisisflow.alerts.schedule import plan_task
from crisisflow.alerts.sweep import due_tasks, fire_task_chunk, sweep
from crisisflow.incidents import actions
from crisisflow.incidents.models import Event, Task, TimelineHead
from crisisflow.incidents.timeline import verify
from tests.conftest import T0

pytestmark = pytest.mark.django_db

DUE_ONLY = {"remind_at_half": False, "remind_before": [], "escalate_after": {}}


def tasks_due(people, counts: list[int]) -> list[Task]:
    """Open tasks of the PR lead with one rung ("due"), a minute overdue at T0: counts[i]
    on incident i, the incidents taking turns in the order the rungs fall due."""
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        incidents = [
            actions.report_incident(
                people.cs, title=f"Payments down, region {n}", severity="high", commander=people.commander
            )
            for n in range(len(counts))
        ]
    tasks = []
    left = list(counts)
    i = 0
    while any(left):
        for n, incident in enumerate(incidents):
            if not left[n]:
                continue
            left[n] -= 1
            task = Task(
                incident=incident,
                key=f"statement-{i}",
                position=i,
                title={"en": f"Statement {i}", "zh": f"声明 {i}"},
                instructions={"en": "Draft it", "zh": "起草"},
                role="pr",
                stage="publish",
                anchor="detected",
                offset=timedelta(hours=1),
                due_at=T0 - timedelta(minutes=30) + timedelta(seconds=i),
                assignee=people.pr_lead,
                ladder=DUE_ONLY,
            )
            plan_task(task, incident, T0 - timedelta(hours=1))
            tasks.append(task)
            i += 1
    Task.objects.bulk_create(tasks)
    return tasks


@pytest.fixture
def team_chat(db):
    return WebhookEndpoint.objects.create(name="Crisis room", url="http://127.0.0.1:9/never-called", secret="s3cret")


def fire_chunk(rows):
    with time_machine.travel(T0, tick=False), memo.one_sweep():
        return fire_task_chunk(rows, T0)


def task_rungs(report_) -> list[str]:
    """What the report says was fired for tasks (the incidents' triage clocks fire too)."""
    return [line for line in report_.fired if " task " in line]


def sweep_at_t0():
    with time_machine.travel(T0, tick=False):
        return sweep()


def test_a_chunk_of_twenty_rungs_costs_no_more_queries_than_a_chunk_of_five(
    people, team_chat, django_assert_max_num_queries
):
    """The same statements whatever the number of rungs, and of incidents, in a chunk:
    lock the incidents, read the tasks and the teams, claim, insert the notifications,
    read the timeline heads, insert the events, move the heads."""
    tasks_due(people, [5, 10, 10])
    with time_machine.travel(T0, tick=False):
        rows = due_tasks(T0, 100)
    small = [row for row in rows if row[3] == rows[0][3]]
    large = [row for row in rows if row[3] != rows[0][3]]
    assert (len(small), len(large), len({row[3] for row in large})) == (5, 20, 2)
    with django_assert_max_num_queries(16) as few:
        fired = fire_chunk(small)
    assert len(fired) == 5
    with django_assert_max_num_queries(len(few.captured_queries)):
        fired = fire_chunk(large)
    assert len(fired) == 20 and all(ids for _, ids in fired)
    # Everything was written all the same: a webhook row and an in-app row per rung.
    assert Notification.objects.filter(task__isnull=False, channel=Channel.WEBHOOK).count() == 25
    assert Notification.objects.filter(task__isnull=False, channel=Channel.IN_APP).count() == 25
    assert Event.objects.filter(kind=Event.Kind.ALERT, task__isnull=False).count() == 25


def test_each_rung_of_a_chunk_writes_one_event_on_an_intact_chain(people, team_chat):
    tasks = tasks_due(people, [13, 12])
    report_ = sweep_at_t0()
    assert len(task_rungs(report_)) == 25 and not report_.errors
    per_task = Event.objects.filter(kind=Event.Kind.ALERT, task__isnull=False).values("task").annotate(n=Count("id"))
    assert sorted((row["task"], row["n"]) for row in per_task) == sorted((task.pk, 1) for task in tasks)
    for incident in {task.incident for task in tasks}:
        assert verify(incident) is None
        events = list(incident.events.order_by("seq").values_list("seq", "kind"))
        assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
        assert TimelineHead.objects.get(incident=incident).seq == len(events)
    # Swept again: nothing more (every rung moved on).
    assert task_rungs(sweep_at_t0()) == []
    assert Event.objects.filter(kind=Event.Kind.ALERT, task__isnull=False).count() == 25


@pytest.mark.parametrize("where", ["working it out", "putting it into words"])
def test_a_failing_rung_is_backed_off_while_the_rest_of_its_chunk_fires(people, team_chat, monkeypatch, where):
    tasks = tasks_due(people, [10, 10])
    broken = tasks[7]
    if where == "working it out":
        real = sweep_module.fire_task_rung

        def flaky(task_id, *args):
            if task_id == broken.pk:
                raise RuntimeError("cannot render")
            return real(task_id, *args)

        monkeypatch.setattr(sweep_module, "fire_task_rung", flaky)
    else:
        real = outbox.payload_for

        def flaky(kind, rung, incident, task=None, **kwargs):
            if task is not None and task.pk == broken.pk:
                raise RuntimeError("cannot render")
            return real(kind, rung, incident, task, **kwargs)

        monkeypatch.setattr(outbox, "payload_for", flaky)
    report_ = sweep_at_t0()
    assert report_.errors == [f"task {broken.pk}: cannot render"]
    assert len(task_rungs(report_)) == 19
    broken.refresh_from_db()
    assert broken.alert_failures == 1
    assert broken.next_alert_at == T0 + timedelta(seconds=60)
    assert not Notification.objects.filter(task=broken).exists()
    assert not Event.objects.filter(task=broken).exists()
    others = [task.pk for task in tasks if task.pk != broken.pk]
    assert Event.objects.filter(kind=Event.Kind.ALERT, task__in=others).count() == 19
    assert all(verify(incident) is None for incident in {task.incident for task in tasks})


def test_a_rung_moved_by_someone_else_meanwhile_is_left_alone_and_the_rest_fire_once(people, team_chat, monkeypatch):
    """Between reading the chunk and claiming it, one task's ladder moves on (another
    sweeper, a new plan): the chunk's single claim updates fewer rows than asked, and
    each rung is then claimed alone."""
    tasks = tasks_due(people, [20])
    moved = tasks[4]
    real = sweep_module.fire_task_rung

    def meanwhile(task_id, *args):
        result = real(task_id, *args)
        if task_id == moved.pk:
            Task.objects.filter(pk=moved.pk).update(alert_generation=F("alert_generation") + 1)
        return result

    monkeypatch.setattr(sweep_module, "fire_task_rung", meanwhile)
    report_ = sweep_at_t0()
    assert len(task_rungs(report_)) == 19 and not report_.errors
    assert not Notification.objects.filter(task=moved).exists()
    assert not Event.objects.filter(task=moved).exists()
    duplicates = Notification.objects.values("source", "channel", "target").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()
    assert Event.objects.filter(kind=Event.Kind.ALERT, task__isnull=False).count() == 19
    assert verify(tasks[0].incident) is None


def test_a_chunk_whose_writing_fails_is_fired_one_by_one(people, team_chat, monkeypatch):
    tasks = tasks_due(people, [10, 10])

    def broken(entries):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(sweep_module, "record_many", broken)
    report_ = sweep_at_t0()
    assert len(task_rungs(report_)) == 20 and not report_.errors
    per_task = Event.objects.filter(kind=Event.Kind.ALERT, task__isnull=False).values("task").annotate(n=Count("id"))
    assert sorted((row["task"], row["n"]) for row in per_task) == sorted((task.pk, 1) for task in tasks)
    assert Notification.objects.filter(task__isnull=False, channel=Channel.WEBHOOK).count() == 20
    assert all(verify(incident) is None for incident in {task.incident for task in tasks})


def test_nobody_hears_a_rung_twice_from_a_rebuilt_ladder_in_a_chunk(people, team_chat):
    """told_before, asked once for the chunk: a rung heard under an earlier ladder is
    not said again to the same people when the rebuilt ladder fires it."""
    tasks = tasks_due(people, [6])
    assert len(task_rungs(sweep_at_t0())) == 6
    heard = Notification.objects.filter(task__isnull=False).count()
    # Rebuilt later with the due rung still in the window: it is due again, at the same moment.
    for task in tasks:
        task.refresh_from_db()
        task.alert_generation += 1
        task.alert_window_start = T0 + timedelta(minutes=1)
        task.alert_step = 0
        task.next_alert_at = task.due_at
        task.save(update_fields=["alert_generation", "alert_window_start", "alert_step", "next_alert_at"])
    report_ = sweep_at_t0()
    assert not report_.errors
    assert Notification.objects.filter(task__isnull=False).count() == heard
    assert Event.objects.filter(kind=Event.Kind.ALERT, task__isnull=False).count() == 6
