"""My tasks at /my/tasks/: everything assigned to me and not finished, earliest due first,
worked in place — the buttons post to the task views with HTMX and get the task's card
back (refusals written in it); without JavaScript they come back to My tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident, Task, TaskStatus
from crisisflow.statements import approvals, versions
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import walk_to

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def assembled(people, title="Payments failing", **fields) -> Incident:
    """Team assembled at T0 (high severity): legal review (legal) due T0 + 3 h, the holding
    statement (PR lead) T0 + 4 h, the executive letter T0 + 6 h; progress update and
    follow-up wait for their starting point (no due time yet)."""
    with time_machine.travel(T0, tick=False):
        incident = actions.report_incident(
            people.cs, title=title, crisis_type="service_outage", severity="high", **fields
        )
        return walk_to(people, incident, State.TEAM_ASSEMBLED)


def keys(response) -> list[str]:
    return [row["task"].key for row in response.context["region"]["rows"]]


def text_of(response) -> str:
    return response.content.decode()


def press(client, task: Task, action: str, *, htmx=True, version=None, **data):
    """A button on a task card, in place (HTMX targeting the card) or as a plain form."""
    task.refresh_from_db()
    url = reverse(f"task-{action}", args=[task.incident.reference, task.pk])
    headers = {"HX-Request": "true", "HX-Target": f"my-task-{task.pk}"} if htmx else {}
    payload = {"version": task.version if version is None else version, **data}
    return client.post(url, payload, headers=headers)


# --- the list -------------------------------------------------------------------------------------


def test_my_unfinished_tasks_by_due_time_those_without_one_last(browse, people, plan):
    incident = assembled(people)
    with time_machine.travel(T0 + H, tick=False):
        response = browse(people.pr_lead).get(reverse("my-tasks"))
    assert response.status_code == 200
    assert keys(response) == ["holding-statement", "exec-letter", "progress-update", "follow-up"]
    html = text_of(response)
    assert incident.reference in html and "Payments failing" in html
    assert "Publish information" in html  # the stage
    assert "PR" in html  # the role
    assert "when its starting point happens" in html
    assert 'data-deadline="2026-03-02T21:00:00+08:00"' in html  # holding statement, counting down
    assert "3\xa0hours left" in html


def test_only_my_own_open_tasks_across_incidents(browse, people, plan):
    first = assembled(people, "First")
    second = assembled(people, "Second")
    done = first.tasks.get(key="legal-review")
    with time_machine.travel(T0 + H, tick=False):
        actions.start_task(people.legal, done.pk)
        actions.complete_task(people.legal, done.pk)
        response = browse(people.legal).get(reverse("my-tasks"))
    rows = response.context["region"]["rows"]
    assert [(r["incident"].title, r["task"].key) for r in rows] == [
        ("Second", "legal-review"),
        ("First", "root-cause"),
        ("Second", "root-cause"),
    ]
    assert all(r["task"].assignee == people.legal for r in rows)
    assert second.reference in text_of(response)


def test_overdue_and_due_soon_are_marked(browse, people, plan):
    assembled(people)
    with time_machine.travel(T0 + 3 * H + 30 * MINUTE, tick=False):
        html = text_of(browse(people.legal).get(reverse("my-tasks")))
        pr = browse(people.pr_lead).get(reverse("my-tasks"))
    assert "⚠ Overdue" in html and "Overdue by 30\xa0minutes" in html  # legal review, due T0 + 3 h
    assert pr.context["region"]["rows"][0]["due_soon"] is True  # the holding statement, in 30 min
    assert "Due soon" in text_of(pr)


def test_nothing_assigned(browse, people):
    html = text_of(browse(people.outsider).get(reverse("my-tasks")))
    assert "Nothing assigned to you is open." in html


def in_review(people, incident) -> None:
    """A holding statement waiting for legal's approval."""
    statement = versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="We apologise.")
    approvals.request_approval(people.pr_lead, statement, expected_version=statement.version)


def test_the_list_takes_a_fixed_number_of_queries(browse, people, plan):
    client = browse(people.legal)
    in_review(people, assembled(people, "One"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("my-tasks"))
    for i in range(5):
        in_review(people, assembled(people, f"More {i}"))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("my-tasks"))
    assert len(response.context["region"]["rows"]) == 12
    assert response.content.decode().count("#approval") == 6  # the statements waiting for legal
    # The page's 6, 5 for the statements waiting for the person's approval, and 1 for
    # whether the navigation shows Analytics.
    assert len(many) == len(few) <= 12


# --- the buttons, in place -----------------------------------------------------------------------------


def test_start_in_place_returns_the_card_with_the_new_version(browse, people, plan):
    task = assembled(people).tasks.get(key="legal-review")
    response = press(browse(people.legal), task, "start")

    assert response.status_code == 200
    html = text_of(response)
    assert html.lstrip().startswith("<article") and html.rstrip().endswith("</article>")  # the card alone
    assert f'id="my-task-{task.pk}"' in html
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS
    assert "In progress" in html
    assert f'name="version" value="{task.version}"' in html  # the next button carries the new version
    assert reverse("task-done", args=[task.incident.reference, task.pk]) in html


def test_tick_block_unblock_and_done_in_place(browse, people, plan):
    incident = assembled(people)
    legal = incident.tasks.get(key="legal-review")
    actions.start_task(people.legal, legal.pk)
    actions.complete_task(people.legal, legal.pk)
    task = incident.tasks.get(key="holding-statement")
    client = browse(people.pr_lead)

    assert press(client, task, "start").status_code == 200
    blocked = press(client, task, "block", reason="Waiting for legal's wording")
    assert blocked.status_code == 200
    assert "Blocked because: Waiting for legal&#x27;s wording" in text_of(blocked)  # escaped, as typed
    assert "Unblock" in text_of(blocked)
    assert press(client, task, "unblock").status_code == 200
    for index in range(3):
        ticked = press(client, task, "tick", index=index, done="1")
        assert ticked.status_code == 200
    assert text_of(ticked).count('aria-checked="true"') == 3
    done = press(client, task, "done")
    assert done.status_code == 200 and "it leaves your list" in text_of(done)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_missing_reason_is_shown_in_the_card(browse, people, plan):
    task = assembled(people).tasks.get(key="legal-review")
    response = press(browse(people.legal), task, "block", reason="")
    assert response.status_code == 400
    assert f'id="my-task-{task.pk}"' in text_of(response)
    assert "A reason is required." in text_of(response)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_a_blocked_step_lists_what_is_missing_in_the_card(browse, people, plan):
    task = assembled(people).tasks.get(key="holding-statement")
    client = browse(people.pr_lead)
    press(client, task, "start")
    response = press(client, task, "done")
    assert response.status_code == 409
    html = text_of(response)
    assert f'id="my-task-{task.pk}"' in html
    assert "This cannot be done yet:" in html and "waiting for: Legal review" in html
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_PROGRESS


def test_someone_elses_change_is_a_conflict_in_the_card_showing_the_task_as_it_is(browse, people, plan):
    task = assembled(people).tasks.get(key="legal-review")
    seen = task.version
    actions.start_task(people.commander, task.pk)  # the commander got there first

    response = press(browse(people.legal), task, "block", version=seen, reason="late")
    assert response.status_code == 409
    html = text_of(response)
    assert "This task was changed by Commander; reload the page and try again." in html
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS and "In progress" in html
    assert f'name="version" value="{task.version}"' in html  # pressing again now works


def test_refusals_in_the_card_are_in_the_persons_language(browse, people, plan):
    task = assembled(people).tasks.get(key="legal-review")
    seen = task.version
    actions.start_task(people.commander, task.pk)
    client = browse(people.legal, "zh-hans")
    stale = press(client, task, "block", version=seen, reason="晚了")
    assert "Commander 已修改此任务，请刷新页面后重试。" in text_of(stale)
    no_reason = press(client, task, "block", reason="")
    assert "请填写原因。" in text_of(no_reason)


def test_someone_elses_task_is_refused_not_carded(browse, people, plan):
    task = assembled(people).tasks.get(key="legal-review")
    assert press(browse(people.pr_member), task, "start").status_code == 403
    restricted = assembled(people, "Quiet leak", restricted=True).tasks.get(key="legal-review")
    assert press(browse(people.outsider), restricted, "start").status_code == 404


# --- without JavaScript -------------------------------------------------------------------------------


def test_plain_forms_come_back_to_my_tasks(browse, people, plan):
    task = assembled(people).tasks.get(key="legal-review")
    client = browse(people.legal)
    back = f"{reverse('my-tasks')}#my-task-{task.pk}"
    response = press(client, task, "start", htmx=False, next=back)
    assert response.status_code == 302 and response["Location"] == back
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_PROGRESS

    # Somewhere else is not a place to go back to: the incident page instead.
    response = press(client, task, "block", htmx=False, next="https://elsewhere.example/", reason="x")
    assert response.status_code == 302
    assert response["Location"].endswith(f"{reverse('incident-detail', args=[task.incident.reference])}#task-{task.pk}")


def test_the_my_tasks_page_forms_work_without_javascript(browse, people, plan):
    task = assembled(people).tasks.get(key="legal-review")
    html = text_of(browse(people.legal).get(reverse("my-tasks")))
    start = reverse("task-start", args=[task.incident.reference, task.pk])
    assert f'action="{start}" hx-post="{start}"' in html
    assert f'name="next" value="{reverse("my-tasks")}#my-task-{task.pk}"' in html
    assert f'name="version" value="{task.version}"' in html


def test_the_incident_page_buttons_keep_their_old_answer(browse, people, plan):
    """An HTMX request not aimed at a My tasks card (or none at all) is answered as before."""
    task = assembled(people).tasks.get(key="legal-review")
    response = browse(people.legal).post(
        reverse("task-start", args=[task.incident.reference, task.pk]),
        {"version": task.version},
        headers={"HX-Request": "true", "HX-Target": "tasks"},
    )
    assert response.status_code == 302 and response["Location"].endswith(f"#task-{task.pk}")
