"""Task comments over the API: listing a task's comments and adding one, through the same
use case as the incident page (add_task_comment), with its refusals."""

from __future__ import annotations

import pytest

from crisisflow.incidents import actions
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.vocab import State
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan) -> Incident:
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    actions.add_team_member(people.commander, incident, people.observer, "observer")
    return incident


def comments_url(task: Task) -> str:
    return f"/api/tasks/{task.pk}/comments/"


def test_the_team_comments_on_a_task_and_reads_the_comments_back(api, people, incident):
    statement = incident.tasks.get(key="holding-statement")
    version = statement.version
    assert api(people.pr_lead).get(comments_url(statement)).data == []

    first = api(people.pr_lead).post(
        comments_url(statement), {"text": "  Draft is in the shared folder "}, format="json"
    )
    assert first.status_code == 201, first.data
    assert first.data["text"] == "Draft is in the shared folder"  # stripped, as on the page
    assert first.data["actor"] == {"id": people.pr_lead.pk, "name": "Prlead"}
    assert first.data["task"] == statement.pk
    api(people.legal).post(comments_url(statement), {"text": "Legal has read it"}, format="json")

    listed = api(people.cs).get(comments_url(statement))
    assert listed.status_code == 200
    assert [c["text"] for c in listed.data] == ["Draft is in the shared folder", "Legal has read it"]
    assert listed.data[0]["seq"] < listed.data[1]["seq"]
    # Only this task's comments, and on the timeline as comments on the task.
    other = incident.tasks.get(key="legal-review")
    assert api(people.cs).get(comments_url(other)).data == []
    assert Event.objects.filter(task=statement, kind=Event.Kind.COMMENT).count() == 2
    # A comment changes nothing on the task: no version bump, no conflict with its worker.
    statement.refresh_from_db()
    assert statement.version == version


def test_comments_are_refused_like_on_the_page(api, people, incident):
    statement = incident.tasks.get(key="holding-statement")
    events = Event.objects.filter(incident=incident).count()

    observer = api(people.observer).post(comments_url(statement), {"text": "Looks fine"}, format="json")
    assert observer.status_code == 403
    assert observer.data == {"detail": "Only the team can comment on tasks.", "field": None}

    blank = api(people.pr_lead).post(comments_url(statement), {"text": "   "}, format="json")
    assert blank.status_code == 400
    assert blank.data == {"detail": "Write something first.", "field": "text"}

    long = api(people.pr_lead).post(comments_url(statement), {"text": "x" * 10_001}, format="json")
    assert long.status_code == 400 and long.data["field"] == "text"

    wrong_type = api(people.pr_lead).post(comments_url(statement), {"text": ["a"]}, format="json")
    assert wrong_type.status_code == 400 and wrong_type.data["field"] == "text"

    missing = api(people.pr_lead).get("/api/tasks/999999/comments/")
    assert missing.status_code == 404 and missing.data["detail"] == "No such task."
    assert Event.objects.filter(incident=incident).count() == events


def test_comments_on_a_restricted_incident_do_not_exist_for_outsiders(api, people, plan):
    secret = walk_to(people, report(people, restricted=True), State.TEAM_ASSEMBLED)
    statement = secret.tasks.get(key="holding-statement")
    actions.add_task_comment(people.pr_lead, statement, "Quiet draft")
    outsider = api(people.outsider)
    for response in (
        outsider.get(comments_url(statement)),
        outsider.post(comments_url(statement), {"text": "Let me in"}, format="json"),
    ):
        assert response.status_code == 404
        assert response.data == {"detail": "No such task.", "field": None}
    assert Event.objects.filter(task=statement, kind=Event.Kind.COMMENT).count() == 1
    # The team still reads them.
    assert [c["text"] for c in api(people.legal).get(comments_url(statement)).data] == ["Quiet draft"]
