"""The incident list, the report form and the incident page, as a person uses them."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident, Task, TaskStatus
from crisisflow.vocab import State
from tests.conftest import T0

pytestmark = pytest.mark.django_db


def report(people, **fields) -> Incident:
    fields = {"title": "Payments failing in app", "crisis_type": "service_outage", "severity": "high", **fields}
    return actions.report_incident(people.commander, **fields)


def page(incident: Incident) -> str:
    return reverse("incident-detail", args=[incident.reference])


def assembled(people, incident: Incident) -> Incident:
    """Walk an incident up to "team assembled" through the use cases."""
    c = people.commander
    actions.confirm_incident(c, incident.pk)
    actions.activate_plan(c, incident.pk)
    actions.accept_team(c, incident.pk)
    actions.assemble_team(c, incident.pk)
    return Incident.objects.get(pk=incident.pk)


def text_of(response) -> str:
    return response.content.decode()


# --- who sees what --------------------------------------------------------------------------


def test_pages_need_sign_in(client, people):
    incident = report(people)
    for url in (reverse("incident-list"), reverse("incident-report"), page(incident)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_list_hides_restricted_incidents_from_outsiders(browse, people):
    report(people, title="Open outage")
    secret = report(people, title="Quiet data leak", restricted=True)

    outsider = browse(people.outsider)
    listing = text_of(outsider.get(reverse("incident-list")))
    assert "Open outage" in listing
    assert "Quiet data leak" not in listing
    assert outsider.get(page(secret)).status_code == 404

    reporter = browse(people.commander)
    assert "Quiet data leak" in text_of(reporter.get(reverse("incident-list")))
    assert reporter.get(page(secret)).status_code == 200


def test_list_shows_the_golden_clock(browse, people, plan):
    incident = report(people)
    actions.confirm_incident(people.commander, incident.pk)
    actions.activate_plan(people.commander, incident.pk)
    incident.refresh_from_db()

    listing = text_of(browse(people.outsider).get(reverse("incident-list")))
    assert incident.reference in listing
    assert "High" in listing and "Plan activated" in listing
    assert "left" in listing  # four hours from detection, still running


def test_list_warns_when_the_background_worker_is_silent(browse, people):
    from crisisflow.incidents.tasks import heartbeat

    listing = text_of(browse(people.cs).get(reverse("incident-list")))
    assert "Background worker has not reported yet: deadlines are not being watched." in listing
    with time_machine.travel(T0, tick=False):
        heartbeat()  # what the worker runs when beat asks
    with time_machine.travel(T0 + timedelta(seconds=20), tick=False):
        listing = text_of(browse(people.cs).get(reverse("incident-list")))
    assert "Background worker running (last seen 0" in listing
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        listing = text_of(browse(people.cs).get(reverse("incident-list")))
    assert "Background worker silent since 5\xa0minutes ago" in listing


# --- reporting --------------------------------------------------------------------------------


@time_machine.travel(T0, tick=False)
def test_report_form_creates_the_incident_in_the_reporters_time_zone(browse, people):
    client = browse(people.outsider)  # anyone signed in may report; their zone is Asia/Shanghai
    response = client.post(
        reverse("incident-report"),
        {
            "title": "Refund page shows other users' orders",
            "summary": "Screenshots on Weibo",
            "crisis_type": "data_breach",
            "severity": "critical",
            "detected_at": "2026-03-02T16:30",  # 08:30 UTC
            "affected_users": "1200",
            "regions": "Shanghai, Beijing",
            "platforms": "Weibo",
            "personal_data": "on",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page(incident)
    assert incident.detected_at == T0 - timedelta(minutes=30)
    assert incident.reporter == people.outsider
    assert incident.crisis_type == "data_breach"
    assert (incident.severity, incident.affected_users) == ("critical", 1200)
    assert incident.regions == ["Shanghai", "Beijing"]
    assert incident.personal_data and not incident.injuries


@time_machine.travel(T0, tick=False)
def test_report_form_shows_the_problem_next_to_the_field(browse, people):
    client = browse(people.outsider)
    empty_title = client.post(reverse("incident-report"), {"title": "  ", "detected_at": "2026-03-02T16:30"})
    assert empty_title.status_code == 400
    assert "A title is required." in text_of(empty_title)

    future = client.post(reverse("incident-report"), {"title": "Outage", "detected_at": "2026-03-03T17:00"})
    assert future.status_code == 400
    html = text_of(future)
    assert "Outbreak time: this time is in the future; give when it happened." in html
    # The message sits in the outbreak-time field's block, and what was typed is kept.
    field = html[html.index('for="id_detected_at"') :]
    assert field.index("this time is in the future") < field.index("</div>")
    assert 'value="Outage"' in html
    assert not Incident.objects.exists()


# --- moving the incident on ----------------------------------------------------------------------


def test_commander_confirms_and_activates_the_plan_from_the_page(browse, people, plan):
    incident = report(people, crisis_type="", severity="")
    client = browse(people.commander)
    html = text_of(client.get(page(incident)))
    assert "crisis type and severity are required" in html  # the blocker, before choosing

    response = client.post(
        reverse("incident-advance", args=[incident.reference]),
        {"step": "confirm", "version": incident.version, "crisis_type": "service_outage", "severity": "high"},
    )
    assert response.status_code == 302
    assert response["Location"] == page(incident) + "#next-step"
    incident.refresh_from_db()
    assert incident.state == State.CONFIRMED
    assert incident.commander == people.commander

    client.post(
        reverse("incident-advance", args=[incident.reference]),
        {"step": "activate", "version": incident.version, "playbook": "small-outage"},
    )
    incident.refresh_from_db()
    assert incident.state == State.PLAN_ACTIVATED
    html = text_of(client.get(page(incident)))
    assert "Legal review" in html and "Holding statement" in html
    assert "Accept proposed team" in html
    # Each task with a due time counts down live (clock.js), in the viewer's time zone.
    due = incident.tasks.get(key="legal-review").due_at.astimezone(zoneinfo.ZoneInfo(people.commander.time_zone))
    assert f'class="clock due-clock" role="timer" data-deadline="{due.isoformat()}"' in html
    assert 'data-left="{t} left"' in html


def test_people_who_do_not_command_get_no_buttons_and_a_403(browse, people, plan):
    incident = report(people)
    actions.confirm_incident(people.commander, incident.pk)
    incident.refresh_from_db()
    client = browse(people.legal)

    assert 'data-step="activate"' not in text_of(client.get(page(incident)))
    response = client.post(
        reverse("incident-advance", args=[incident.reference]),
        {"step": "activate", "version": incident.version},
    )
    assert response.status_code == 403
    assert "Only the incident commander can do this." in text_of(response)
    incident.refresh_from_db()
    assert incident.state == State.CONFIRMED


def test_dismissing_needs_a_reason(browse, people):
    incident = report(people)
    client = browse(people.commander)
    response = client.post(
        reverse("incident-advance", args=[incident.reference]),
        {"step": "dismiss", "version": incident.version, "reason": ""},
    )
    assert response.status_code == 400
    assert "A reason is required." in text_of(response)
    incident.refresh_from_db()
    assert incident.state == State.REPORTED


def test_a_stale_form_is_refused_and_changes_nothing(browse, people, plan):
    incident = report(people)
    client = browse(people.commander)
    client.get(page(incident))
    seen_version = incident.version

    # Meanwhile the commander, in another tab, raises the severity.
    actions.change_severity(people.commander, incident.pk, "critical", "Trending on Weibo")

    response = client.post(
        reverse("incident-advance", args=[incident.reference]),
        {"step": "confirm", "version": seen_version, "crisis_type": "service_outage", "severity": "low"},
    )
    assert response.status_code == 409
    assert "Someone else changed this incident; reload the page and try again." in text_of(response)
    incident.refresh_from_db()
    assert (incident.state, incident.severity) == (State.REPORTED, "critical")
    # The re-rendered page carries the current version, so trying again works.
    assert f'name="version" value="{incident.version}"' in text_of(response)


def test_a_blocked_step_lists_what_is_missing(browse, people, plan):
    incident = assembled(people, report(people))
    response = browse(people.commander).post(
        reverse("incident-advance", args=[incident.reference]),
        {"step": "publish", "version": incident.version},
    )
    assert response.status_code == 409
    assert "Holding statement" in text_of(response) and "still open" in text_of(response)
    incident.refresh_from_db()
    assert incident.state == State.TEAM_ASSEMBLED


def test_commander_changes_severity_with_a_reason(browse, people, plan):
    incident = report(people)
    client = browse(people.commander)
    url = reverse("incident-severity", args=[incident.reference])

    refused = client.post(url, {"severity": "critical", "reason": "", "version": incident.version})
    assert refused.status_code == 400 and "A reason is required." in text_of(refused)

    client.post(url, {"severity": "critical", "reason": "Media picked it up", "version": incident.version})
    incident.refresh_from_db()
    assert incident.severity == "critical"
    assert "Media picked it up" in text_of(client.get(page(incident)))


def test_commander_corrects_the_scope(browse, people):
    incident = report(people)
    client = browse(people.commander)
    data = {
        "version": incident.version,
        "title": "Payments failing in app",
        "affected_users": "30000",
        "regions": "Shanghai, Shenzhen",
        "platforms": "Weibo",
        "financial_loss": "on",
    }
    response = client.post(reverse("incident-scope", args=[incident.reference]), data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.affected_users == 30000
    assert incident.regions == ["Shanghai", "Shenzhen"]
    assert incident.financial_loss

    negative = client.post(
        reverse("incident-scope", args=[incident.reference]),
        {**data, "version": incident.version, "affected_users": "-5"},
    )
    assert negative.status_code == 400
    assert "Affected users cannot be negative." in text_of(negative)


# --- the team and the tasks ---------------------------------------------------------------------------


def test_commander_accepts_the_proposed_team(browse, people, plan):
    incident = report(people)
    actions.confirm_incident(people.commander, incident.pk)
    actions.activate_plan(people.commander, incident.pk)
    incident.refresh_from_db()
    client = browse(people.commander)
    assert "Prlead" in text_of(client.get(page(incident)))  # proposed from the PR roster

    client.post(reverse("team-accept", args=[incident.reference]), {"version": incident.version})
    roles = set(incident.team.values_list("user__username", "role"))
    assert {("prlead", "pr"), ("legal", "legal"), ("commander", "commander")} <= roles


def test_assignee_works_a_task_through_the_page(browse, people, plan):
    incident = assembled(people, report(people))
    task = incident.tasks.get(key="legal-review")
    assert task.assignee == people.legal
    client = browse(people.legal)

    def press(action, **data):
        task.refresh_from_db()
        return client.post(
            reverse(f"task-{action}", args=[incident.reference, task.pk]), {"version": task.version, **data}
        )

    response = press("start")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#task-{task.pk}")
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS

    no_reason = press("block", reason="")
    assert no_reason.status_code == 400 and "A reason is required." in text_of(no_reason)

    press("block", reason="Waiting for the DPO")
    task.refresh_from_db()
    assert (task.status, task.blocked_reason) == (TaskStatus.BLOCKED, "Waiting for the DPO")
    assert "Waiting for the DPO" in text_of(client.get(page(incident)))

    press("unblock")
    press("done")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_checklist_must_be_ticked_before_done(browse, people, plan):
    incident = assembled(people, report(people))
    legal = incident.tasks.get(key="legal-review")
    actions.start_task(people.legal, legal.pk)
    actions.complete_task(people.legal, legal.pk)
    task = incident.tasks.get(key="holding-statement")
    actions.start_task(people.pr_lead, task.pk)
    client = browse(people.pr_lead)

    task.refresh_from_db()
    refused = client.post(reverse("task-done", args=[incident.reference, task.pk]), {"version": task.version})
    assert refused.status_code == 409
    assert "checklist not ticked" in text_of(refused)

    for index in range(3):
        task.refresh_from_db()
        client.post(
            reverse("task-tick", args=[incident.reference, task.pk]),
            {"version": task.version, "index": index, "done": "1"},
        )
    task.refresh_from_db()
    assert all(item["done"] for item in task.checklist)
    client.post(reverse("task-done", args=[incident.reference, task.pk]), {"version": task.version})
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_stale_task_form_is_refused(browse, people, plan):
    incident = assembled(people, report(people))
    task = incident.tasks.get(key="legal-review")
    seen = task.version
    actions.start_task(people.commander, task.pk)

    response = browse(people.legal).post(
        reverse("task-block", args=[incident.reference, task.pk]), {"version": seen, "reason": "late"}
    )
    assert response.status_code == 409
    assert "This task was changed by Commander" in text_of(response)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_PROGRESS


def test_only_managers_may_skip_or_assign(browse, people, plan):
    incident = assembled(people, report(people))
    task = incident.tasks.get(key="legal-review")
    member = browse(people.pr_member)
    response = member.post(
        reverse("task-skip", args=[incident.reference, task.pk]), {"version": task.version, "reason": "n/a"}
    )
    assert response.status_code == 403

    commander = browse(people.commander)
    commander.post(
        reverse("task-assign", args=[incident.reference, task.pk]),
        {"version": task.version, "assignee": people.commander.pk},
    )
    task.refresh_from_db()
    assert task.assignee == people.commander


# --- text people type is shown, never run ----------------------------------------------------------


def test_user_text_is_escaped(browse, people):
    incident = report(people, title="<script>alert('t')</script>")
    client = browse(people.commander)
    note = '<img src=x onerror="alert(1)">'
    client.post(reverse("incident-note", args=[incident.reference]), {"text": note})

    for html in (text_of(client.get(page(incident))), text_of(client.get(reverse("incident-list")))):
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    html = text_of(client.get(page(incident)))
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_notes_are_added_to_the_timeline_newest_first(browse, people):
    incident = report(people)
    client = browse(people.commander)
    client.post(reverse("incident-note", args=[incident.reference]), {"text": "First call with the vendor"})
    html = text_of(client.get(page(incident)))
    assert html.index("First call with the vendor") < html.index("Reported “Payments failing in app”")

    empty = client.post(reverse("incident-note", args=[incident.reference]), {"text": "  "})
    assert empty.status_code == 400 and "Write something first." in text_of(empty)


# --- languages ----------------------------------------------------------------------------------------


def test_the_page_reads_in_simplified_chinese(browse, people):
    incident = report(people)
    html = text_of(browse(people.commander, language="zh-hans").get(page(incident)))
    assert "确认危机" in html  # the stage "Confirm the crisis"
    assert "下一步" in html  # "Next step"
    assert "Next step" not in html


def test_the_language_switch_changes_the_language(client, people):
    client.force_login(people.commander)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    assert "Report an incident" in text_of(response)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}, follow=True)
    assert "上报事件" in text_of(response)
