"""The JSON API for tasks: start, finish, block, skip, assign and tick, with the same
refusals as the pages (403 not yours, 409 blocked or stale, 400 bad input)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crisisflow.incidents.models import Event, Incident, Task, TaskStatus
from crisisflow.vocab import State
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan) -> Incident:
    return walk_to(people, report(people), State.TEAM_ASSEMBLED)


def task(incident: Incident, key: str) -> Task:
    return incident.tasks.get(key=key)


def post(client: APIClient, t: Task, action: str, **body):
    return client.post(f"/api/tasks/{t.pk}/{action}/", body, format="json")


def test_finishing_a_task_waits_for_what_it_depends_on_and_its_checklist(api, people, incident):
    statement = task(incident, "holding-statement")
    review = task(incident, "legal-review")
    pr = api(people.pr_lead)

    started = post(pr, statement, "start", expected_version=statement.version)
    assert started.status_code == 200, started.data
    assert started.data["status"] == TaskStatus.IN_PROGRESS
    assert started.data["version"] == statement.version + 1
    assert started.data["assignee"] == {"id": people.pr_lead.pk, "name": "Prlead"}

    waiting = post(pr, statement, "complete")
    assert waiting.status_code == 409
    assert waiting.data["blockers"] == ["waiting for: Legal review"]
    assert waiting.data["detail"] == "Finish the task: waiting for: Legal review"
    assert Task.objects.get(pk=statement.pk).status == TaskStatus.IN_PROGRESS

    legal = api(people.legal)
    assert post(legal, review, "start").status_code == 200
    done = post(legal, review, "complete")
    assert done.status_code == 200 and done.data["status"] == TaskStatus.DONE

    unticked = post(pr, statement, "complete")
    assert unticked.status_code == 409
    assert unticked.data["blockers"] == ["checklist not ticked: Apologise; State the facts; Announce actions"]

    for index in range(3):
        ticked = post(pr, statement, "checklist", index=index, done=True)
        assert ticked.status_code == 200, ticked.data
        assert ticked.data["checklist"][index]["done"] is True
    finished = post(pr, statement, "complete")
    assert finished.status_code == 200, finished.data
    assert finished.data["status"] == TaskStatus.DONE
    assert finished.data["completed_at"] is not None

    again = post(pr, statement, "start")
    assert again.status_code == 409
    assert again.data["detail"] == "Cannot start a task that is Done."

    # The task ticked off by hand is not a statement: publishing waits for a real one.
    steps = api(people.commander).get(f"/api/incidents/{incident.reference}/").data["next_steps"]
    assert steps == [
        {
            "step": "publish",
            "label": "Publish information",
            "ready": False,
            "blockers": ["no approved first public statement (holding or full statement) has been published"],
            "needs_reason": False,
        }
    ]


def test_checklist_input_is_checked(api, people, incident):
    statement = task(incident, "holding-statement")
    pr = api(people.pr_lead)
    for body, field in [
        ({"index": 7, "done": True}, "index"),
        ({"index": -1, "done": True}, "index"),
        ({"done": True}, "index"),
        ({"index": 0}, "done"),
        ({"index": "first", "done": True}, "index"),
        ({"index": 0, "done": "maybe"}, "done"),
    ]:
        response = post(pr, statement, "checklist", **body)
        assert response.status_code == 400, (body, response.data)
        assert response.data["field"] == field
    assert Task.objects.get(pk=statement.pk).version == statement.version


def test_a_stale_task_version_is_409(api, people, incident):
    statement = task(incident, "holding-statement")
    seen = statement.version
    assert post(api(people.pr_lead), statement, "start", expected_version=seen).status_code == 200
    stale = post(api(people.commander), statement, "block", reason="Waiting for legal", expected_version=seen)
    assert stale.status_code == 409
    assert stale.data["detail"] == "This task was changed by Prlead; reload the page and try again."
    assert Task.objects.get(pk=statement.pk).status == TaskStatus.IN_PROGRESS


def test_block_and_unblock(api, people, incident):
    statement = task(incident, "holding-statement")
    pr = api(people.pr_lead)
    post(pr, statement, "start")
    missing = post(pr, statement, "block")
    assert missing.status_code == 400
    assert missing.data == {"detail": "A reason is required.", "field": "reason"}

    blocked = post(pr, statement, "block", reason="Waiting for the CEO")
    assert blocked.status_code == 200
    assert blocked.data["status"] == TaskStatus.BLOCKED
    assert blocked.data["blocked_reason"] == "Waiting for the CEO"
    unblocked = post(pr, statement, "unblock")
    assert unblocked.data["status"] == TaskStatus.IN_PROGRESS
    assert unblocked.data["blocked_reason"] == ""


def test_assigning_a_task(api, people, incident):
    statement = task(incident, "holding-statement")
    boss = api(people.commander)

    outside = post(boss, statement, "assign", assignee=people.outsider.pk)
    assert outside.status_code == 400
    assert outside.data == {"detail": "Outsider is not on this incident's team.", "field": "assignee"}
    for bad in (987654, "someone", True):
        response = post(boss, statement, "assign", assignee=bad)
        assert response.status_code == 400 and response.data["field"] == "assignee", bad
    missing = post(boss, statement, "assign")
    assert missing.status_code == 400 and missing.data["field"] == "assignee"

    moved = post(boss, statement, "assign", assignee=people.legal.pk)
    assert moved.status_code == 200
    assert moved.data["assignee"]["id"] == people.legal.pk
    cleared = post(boss, statement, "assign", assignee=None)
    assert cleared.status_code == 200 and cleared.data["assignee"] is None
    kinds = list(Event.objects.filter(task=statement).values_list("kind", flat=True))
    assert kinds == ["assignment", "assignment"]


def test_only_the_assignee_or_a_manager_works_a_task(api, people, incident):
    statement = task(incident, "holding-statement")
    cs = api(people.cs)  # reported the incident: sees it, works none of its tasks
    refused = post(cs, statement, "start")
    assert refused.status_code == 403
    assert refused.data["detail"] == "Only the person this task is assigned to can update it."

    skip = post(api(people.legal), statement, "skip", reason="Not needed")
    assert skip.status_code == 403
    assert skip.data["detail"] == "Only the commander or the PR lead can do this."
    assign = post(cs, statement, "assign", assignee=people.cs.pk)
    assert assign.status_code == 403

    skipped = post(api(people.pr_lead), statement, "skip", reason="Statement not needed")
    assert skipped.status_code == 200
    assert skipped.data["status"] == TaskStatus.SKIPPED
    assert skipped.data["skip_reason"] == "Statement not needed"


def test_a_task_reads_like_the_incident_page(api, people, incident):
    statement = task(incident, "holding-statement")
    body = api(people.observer).get(f"/api/tasks/{statement.pk}/").data
    assert body["key"] == "holding-statement"
    assert body["title_localized"] == "Holding statement"
    assert body["instructions"] == {"en": "Do holding-statement", "zh": "【Do holding-statement】"}
    assert body["role"] == "pr" and body["stage"] == "publish"
    assert body["depends_on"] == ["legal-review"]
    assert [item["text_localized"] for item in body["checklist"]] == [
        "Apologise",
        "State the facts",
        "Announce actions",
    ]


def test_accept_language_picks_the_playbook_text(people, incident):
    # The playbook carries both languages itself; no translation catalogue is involved.
    client = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_authenticate(people.pr_lead)
    body = client.get(f"/api/tasks/{task(incident, 'holding-statement').pk}/").data
    assert body["title_localized"] == "【Holding statement】"
    assert body["checklist"][0]["text_localized"] == "【Apologise】"
