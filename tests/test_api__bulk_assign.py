"""Bulk assignment over the API: the board's assign_tasks (each task through
actions.assign_task), all of the tasks or none, and a refusal that names its task."""

from __future__ import annotations

import pytest

from crisisflow.incidents import actions
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.vocab import State
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

URL = "/api/tasks/assign/"


@pytest.fixture
def incident(people, plan) -> Incident:
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    actions.add_team_member(people.commander, incident, people.pr_member, "pr")
    return incident


def pr_tasks(incident: Incident) -> list[Task]:
    return list(incident.tasks.filter(role="pr", status="open").order_by("position"))


def body(assignee, tasks: list[Task], **versions) -> dict:
    return {
        "assignee": assignee.pk if assignee is not None else None,
        "tasks": [{"id": t.pk, "version": versions.get(t.key, t.version)} for t in tasks],
    }


def owners(tasks: list[Task]) -> list[int | None]:
    return [Task.objects.get(pk=t.pk).assignee_id for t in tasks]


def test_the_commander_gives_several_tasks_to_one_person(api, people, incident):
    tasks = pr_tasks(incident)
    assert len(tasks) >= 2
    response = api(people.commander).post(URL, body(people.pr_member, tasks), format="json")
    assert response.status_code == 200, response.data
    assert [t["id"] for t in response.data] == [t.pk for t in tasks]
    assert all(t["assignee"] == {"id": people.pr_member.pk, "name": "Prmember"} for t in response.data)
    assert owners(tasks) == [people.pr_member.pk] * len(tasks)
    # One assignment event per task, as when assigning them one by one.
    assert Event.objects.filter(incident=incident, kind=Event.Kind.ASSIGNMENT, task__in=tasks).count() == len(tasks)


def test_one_stale_task_refuses_them_all(api, people, incident):
    tasks = pr_tasks(incident)
    before = owners(tasks)
    stale = tasks[-1]
    response = api(people.commander).post(
        URL, body(people.pr_member, tasks, **{stale.key: stale.version - 1}), format="json"
    )
    assert response.status_code == 409
    assert response.data["task"] == stale.pk
    assert stale.title_text() in response.data["detail"] and incident.reference in response.data["detail"]
    assert owners(tasks) == before  # nothing half-written


def test_a_refusal_names_the_task_and_keeps_its_status(api, people, incident):
    tasks = pr_tasks(incident)
    before = owners(tasks)
    # Someone not on the team cannot get the tasks.
    response = api(people.commander).post(URL, body(people.cs, tasks), format="json")
    assert response.status_code == 400
    assert response.data["task"] == tasks[0].pk and response.data["field"] == "tasks"
    assert "Cs is not on this incident's team." in response.data["detail"]
    # The legal lead manages no PR task.
    forbidden = api(people.legal).post(URL, body(people.pr_member, tasks), format="json")
    assert forbidden.status_code == 403
    assert forbidden.data["task"] == tasks[0].pk
    assert owners(tasks) == before


def test_bad_input_is_a_400_naming_the_field(api, people, incident):
    tasks = pr_tasks(incident)
    commander = api(people.commander)
    nobody = commander.post(URL, body(None, tasks), format="json")
    assert nobody.status_code == 400
    assert nobody.data == {"detail": "Choose who gets the selected tasks.", "field": "assignee"}
    empty = commander.post(URL, {"assignee": people.pr_member.pk, "tasks": []}, format="json")
    assert empty.status_code == 400
    assert empty.data == {"detail": "Choose at least one task.", "field": "tasks"}
    twice = commander.post(
        URL,
        {
            "assignee": people.pr_member.pk,
            "tasks": [{"id": tasks[0].pk, "version": 1}, {"id": tasks[0].pk, "version": 2}],
        },
        format="json",
    )
    assert twice.status_code == 400 and twice.data["field"] == "tasks"
    no_version = commander.post(URL, {"assignee": people.pr_member.pk, "tasks": [{"id": tasks[0].pk}]}, format="json")
    assert no_version.status_code == 400 and no_version.data["field"] == "tasks"
    assert owners(tasks) == [tasks[0].assignee_id] + [t.assignee_id for t in tasks[1:]]


def test_a_task_of_a_restricted_incident_is_like_one_that_does_not_exist(api, people, incident):
    secret = walk_to(people, report(people, title="Quiet leak", restricted=True), State.TEAM_ASSEMBLED)
    hidden = secret.tasks.filter(role="pr").first()
    visible = pr_tasks(incident)[0]
    # Looked for before anything is checked: the 404 comes before any 403 about the
    # visible task, and reads exactly like an id that was never used.
    reader = api(people.outsider)
    hidden_body = {
        "assignee": people.pr_member.pk,
        "tasks": [{"id": visible.pk, "version": visible.version}, {"id": hidden.pk, "version": hidden.version}],
    }
    missing_body = {
        "assignee": people.pr_member.pk,
        "tasks": [{"id": visible.pk, "version": visible.version}, {"id": 999_999, "version": 1}],
    }
    response = reader.post(URL, hidden_body, format="json")
    nowhere = reader.post(URL, missing_body, format="json")
    assert response.status_code == nowhere.status_code == 404
    assert response.data == nowhere.data == {"detail": "No such task.", "field": "tasks"}
    assert "Quiet" not in str(response.data)
    assert Task.objects.get(pk=visible.pk).assignee_id == visible.assignee_id
    assert Task.objects.get(pk=hidden.pk).assignee_id == hidden.assignee_id
