"""The dashboard at "/": the open incidents, most urgent first, with their golden clock and
task counts; the person's open tasks; their recent notifications; the worker's state."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crisisflow.alerts.models import Channel, Notification
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import walk_to

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)


def report(people, title, *, severity="high", detected_at=T0, **fields) -> Incident:
    with time_machine.travel(T0, tick=False):
        return actions.report_incident(
            people.cs, title=title, crisis_type="service_outage", severity=severity, detected_at=detected_at, **fields
        )


def activated(people, incident: Incident) -> Incident:
    """Confirmed and the plan activated at T0: the golden clock runs from detection."""
    with time_machine.travel(T0, tick=False):
        actions.confirm_incident(people.commander, incident.pk)
        return actions.activate_plan(people.commander, incident.pk)


def finish(people, incident: Incident, key: str) -> None:
    task = incident.tasks.get(key=key)
    with time_machine.travel(T0 + M, tick=False):
        actions.start_task(people.commander, task.pk)
        actions.complete_task(people.commander, task.pk)


def shown(response) -> list[str]:
    return [incident.title for incident in response.context["incidents"]["incidents"]]


def text_of(response) -> str:
    return response.content.decode()


# --- the incidents, most urgent first ----------------------------------------------------------------


def test_incidents_come_most_urgent_first(browse, people, plan):
    low = report(people, "Low: app rating dips", severity="low")
    no_severity = report(people, "Not judged yet", severity="")
    critical = activated(people, report(people, "Critical: data leak", severity="critical"))
    unconfirmed = report(people, "High: not confirmed yet")
    # Golden clocks of the high ones: 4 h from detection.
    soonest = activated(people, report(people, "High: clock ends first", detected_at=T0 - 3 * H))
    sooner = activated(people, report(people, "High: clock ends second", detected_at=T0 - H))
    overdue = activated(people, report(people, "High: clock third, a task overdue"))
    on_time = activated(people, report(people, "High: clock third, nothing overdue"))
    finish(people, on_time, "legal-review")  # due T0 + 3 h: done in time here, overdue in `overdue`
    closed = report(people, "Dismissed long ago")
    with time_machine.travel(T0, tick=False):
        actions.dismiss_incident(people.commander, closed.pk, "false alarm")

    with time_machine.travel(T0 + 3 * H + M, tick=False):
        response = browse(people.outsider).get(reverse("dashboard"))

    assert response.status_code == 200
    assert shown(response) == [
        unconfirmed.title,  # reports waiting for triage first (its golden clock runs: high)
        low.title,  # then by severity; not judged yet last among them
        no_severity.title,
        critical.title,  # then severity
        soonest.title,  # then the golden clock still running, soonest first (even past due)
        sooner.title,
        overdue.title,  # the same clock: more overdue tasks first
        on_time.title,
    ]
    assert closed.title not in text_of(response)


def test_a_published_statement_stops_the_clock_for_the_ordering(browse, people, plan):
    with time_machine.travel(T0, tick=False):
        published = walk_to(people, report(people, "High: statement out"), State.INFO_PUBLISHED)
    running = activated(people, report(people, "High: statement still due", detected_at=T0 - H))
    with time_machine.travel(T0 + H, tick=False):
        response = browse(people.outsider).get(reverse("dashboard"))
    assert shown(response) == [running.title, published.title]
    assert "✓ Met" in text_of(response)


def test_each_incident_shows_its_stage_commander_clock_and_task_counts(browse, people, plan):
    incident = activated(people, report(people, "Payments failing"))
    with time_machine.travel(T0 + 3 * H + M, tick=False):
        response = browse(people.outsider).get(reverse("dashboard"))

    (row,) = response.context["incidents"]["incidents"]
    # Legal review was due at T0 + 3 h; the holding statement is due at T0 + 4 h.
    assert (row.overdue, row.due_soon) == (1, 1)
    html = text_of(response)
    card = html[html.index(f'href="{reverse("incident-detail", args=[incident.reference])}"') :]
    card = card[: card.index("</li>")]
    assert incident.reference in card and "Payments failing" in card
    assert "High" in card
    assert "Stage: Assemble the team" in card  # plan activated: assembling the team is next
    assert "Commander" in card
    assert 'data-deadline="2026-03-02T21:00:00+08:00"' in card  # the golden clock, live: T0 + 4 h in Shanghai
    assert "1 overdue" in card and "1 due within 2 h" in card


def test_restricted_incidents_are_absent_for_outsiders(browse, people):
    report(people, "Public outage")
    secret = report(people, "Quiet data leak", restricted=True)

    outsider = browse(people.outsider).get(reverse("dashboard"))
    assert "Public outage" in text_of(outsider)
    assert "Quiet data leak" not in text_of(outsider)
    assert secret.reference not in text_of(outsider)

    reporter = browse(people.cs).get(reverse("dashboard"))
    assert "Quiet data leak" in text_of(reporter)


# --- the person's own: open tasks and notifications ----------------------------------------------------


def test_my_open_tasks_by_due_time(browse, people, plan):
    with time_machine.travel(T0, tick=False):
        first = walk_to(people, report(people, "First"), State.TEAM_ASSEMBLED)
        second = walk_to(people, report(people, "Second", detected_at=T0 - 2 * H), State.TEAM_ASSEMBLED)
    with time_machine.travel(T0 + H, tick=False):
        response = browse(people.legal).get(reverse("dashboard"))

    rows = response.context["tasks"]["rows"]
    # Legal's: legal review (detection + 3 h) in both, root cause (assembly + 48 h) in both.
    assert [(r["incident"].title, r["task"].key) for r in rows] == [
        ("Second", "legal-review"),  # T0 + 1 h
        ("First", "legal-review"),  # T0 + 3 h
        ("First", "root-cause"),  # T0 + 48 h, both: then by incident
        ("Second", "root-cause"),
    ]
    dues = [r["task"].due_at for r in rows]
    assert dues == sorted(dues)
    assert response.context["tasks"]["total"] == 4
    assert first.reference in text_of(response) and second.reference in text_of(response)
    assert reverse("my-tasks") in text_of(response)

    # The outsider has none.
    assert "Nothing assigned to you is open." in text_of(browse(people.outsider).get(reverse("dashboard")))


def test_recent_notifications_are_the_persons_own(browse, people, plan):
    with time_machine.travel(T0, tick=False):
        walk_to(people, report(people, "Payments failing"), State.TEAM_ASSEMBLED)
    for moment in (T0 + 3 * H, T0 + 3 * H + 31 * M):  # legal review due, then overdue
        with time_machine.travel(moment, tick=False):
            sweep()
    # What a digest carried is in the inbox as the digest.
    mine = Notification.objects.filter(recipient=people.legal, channel=Channel.IN_APP).exclude(state="bundled")
    assert mine.exists()

    with time_machine.travel(T0 + 4 * H, tick=False):
        response = browse(people.legal).get(reverse("dashboard"))
    items = response.context["notifications"]["items"]
    assert [n.pk for n in items] == list(mine.order_by("-created_at", "-id").values_list("pk", flat=True)[:10])
    assert response.context["notifications"]["unread"] == mine.count()
    assert "unread" in text_of(response)

    other = browse(people.outsider).get(reverse("dashboard"))
    assert other.context["notifications"]["items"] == []


def test_the_worker_status_line_is_shown(browse, people):
    from crisisflow.incidents.tasks import heartbeat

    html = text_of(browse(people.cs).get(reverse("dashboard")))
    assert "Background worker has not reported yet" in html
    with time_machine.travel(T0, tick=False):
        heartbeat()
    with time_machine.travel(T0 + 10 * M, tick=False):
        html = text_of(browse(people.cs).get(reverse("dashboard")))
    assert "Background worker silent since 10\xa0minutes ago" in html


# --- getting there ----------------------------------------------------------------------------------------


def test_signing_in_leads_to_the_dashboard_and_the_list_moved(client, people):
    client.cookies["django_language"] = "en"
    response = client.post(reverse("login"), {"username": "cs", "password": "pw-cs"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard") == "/"
    assert reverse("incident-list") == "/incidents/"
    html = text_of(response)
    for name in ("dashboard", "my-tasks", "incident-list"):
        assert f'href="{reverse(name)}"' in html


def test_the_dashboard_needs_sign_in(client):
    for url in (reverse("dashboard"), reverse("my-tasks")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_dashboard_reads_in_chinese(browse, people, plan):
    activated(people, report(people, "Payments failing"))
    with time_machine.travel(T0 + H, tick=False):
        html = text_of(browse(people.cs, "zh-hans").get(reverse("dashboard")))
    assert '<html lang="zh-hans">' in html
    assert "Payments failing" in html


# --- a fixed number of queries ------------------------------------------------------------------------------


def _many(people, n: int) -> None:
    for i in range(n):
        incident = report(people, f"Incident {i}", severity=["low", "medium", "high", "critical"][i % 4])
        if i % 3 == 0:
            activated(people, incident)


def _queries(client) -> int:
    with time_machine.travel(T0 + 3 * H + M, tick=False):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return len(queries)


def test_the_dashboard_takes_a_fixed_number_of_queries(browse, people, plan):
    client = browse(people.commander)
    _many(people, 3)
    few = _queries(client)
    _many(people, 27)
    assert len(client.get(reverse("dashboard")).context["incidents"]["incidents"]) == 30
    many = _queries(client)
    assert many == few
    # session, user, heartbeat, incidents, my tasks, inbox, unread count (+ the header's),
    # the worker banner's one query; two for the statements waiting for the person's approval;
    # one for whether the navigation shows Analytics.
    assert many <= 14
