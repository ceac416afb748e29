"""Two people acting on one incident at the same moment, on two real PostgreSQL
connections: exactly one wins, the other is told to reload, nothing is half-applied."""

from __future__ import annotations

import threading
from functools import partial

import pytest
from django.db import connection, connections

from crisisflow.incidents import actions
from crisisflow.incidents.errors import Conflict, CrisisFlowError
from crisisflow.incidents.models import Incident, Task
from crisisflow.vocab import State
from tests.flows import report, walk_to

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
        except CrisisFlowError as err:
            results[i] = err
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_confirm_and_dismiss_at_once_one_wins(people, plan):
    for _ in range(10):
        incident = report(people)
        seen = incident.version
        results = race(
            partial(actions.confirm_incident, people.commander, incident.pk, expected_version=seen),
            partial(actions.dismiss_incident, people.commander, incident.pk, "rumour", expected_version=seen),
        )
        losers = [r for r in results if isinstance(r, Conflict)]
        winners = [r for r in results if isinstance(r, Incident)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert str(losers[0]) == "Someone else changed this incident; reload the page and try again."
        incident.refresh_from_db()
        assert incident.state == winners[0].state
        assert incident.events.count() == 2  # reported + the winner's one


def test_the_same_step_fired_twice_writes_one_event(people, plan):
    for _ in range(5):
        incident = walk_to(people, report(people), State.CONFIRMED)
        results = race(
            partial(actions.activate_plan, people.commander, incident.pk),
            partial(actions.activate_plan, people.commander, incident.pk),
        )
        assert sorted(type(r).__name__ for r in results) == ["Conflict", "Incident"], results
        incident.refresh_from_db()
        assert incident.state == State.PLAN_ACTIVATED
        assert incident.events.filter(kind="transition", data__to="plan_activated").count() == 1
        # The plan's tasks were created once, not twice.
        assert incident.tasks.count() == len({t.key for t in incident.tasks.all()}) == 6


def test_two_managers_reassigning_one_task_never_lose_an_edit_silently(people, plan):
    incident = walk_to(people, report(people), State.PLAN_ACTIVATED)
    actions.accept_team(people.commander, incident)
    actions.add_team_member(people.commander, incident, people.pr_member, "pr")
    incident = actions.assemble_team(people.commander, incident)
    task = Task.objects.get(incident=incident, key="exec-letter")
    for _ in range(6):
        task.refresh_from_db()
        seen = task.version
        # Both managers pick someone other than the current assignee, and not the same person.
        first, second = [u for u in (people.pr_lead, people.pr_member, people.commander) if u != task.assignee][:2]
        results = race(
            partial(actions.assign_task, people.commander, task.pk, first, expected_version=seen),
            partial(actions.assign_task, people.pr_lead, task.pk, second, expected_version=seen),
        )
        winners = [r for r in results if isinstance(r, Task)]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert "reload the page" in str(losers[0])
        task.refresh_from_db()
        assert task.assignee == winners[0].assignee
        assert task.version == seen + 1


def test_events_of_concurrent_changes_keep_an_unbroken_chain(people, plan):
    from crisisflow.incidents.timeline import verify

    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    notes = [lambda n=n: actions.add_note(people.commander, incident.pk, f"update {n}") for n in range(8)]
    results = race(*notes)
    assert not [r for r in results if isinstance(r, Exception)]
    assert incident.events.filter(kind="note").count() == 8
    assert verify(incident) is None
