"""Notifications about a restricted incident reach only people who may see it.

The matrix, like the page-access one in test_incidents__permissions.py: every persona,
on a restricted incident and on an open one, on every channel (in the app, e-mail, team
webhooks). Whoever gets 404 on the incident's page must not find its title, its
reference or any of its task titles in anything sent to them.

The situations the personas stand for (cs reported the incident):
- on the team: prlead (PR lead), legal (Legal lead), observer;
- removed from the team: prmember, who owned "Exec letter" and was reminded of it, then
  had it taken over by the PR lead and left the team;
- roster fallback: exec, the executive sponsor on the roster, never on the team, whom
  the two-hour escalations are addressed to;
- the commander;
- an outsider, signed in, on no roster and no team.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crisisflow.alerts import delivery, inbox, messages, recipients
from crisisflow.alerts.models import Channel, Notification, WebhookEndpoint
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents import actions
from crisisflow.incidents.models import Task
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to
from tests.receivers import http_receiver_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)

PERSONAS = ["commander", "pr_lead", "pr_member", "legal", "cs", "executive", "observer", "outsider"]
TITLE = "Quiet zebra leak"
TASK_TITLES = ["Exec letter", "Legal review", "Holding statement", "Root cause", "Progress update"]
NEUTRAL = "A notification about an incident you can no longer see"


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return sweep()


def deliver_everything(at) -> None:
    with time_machine.travel(at, tick=False):
        for pk in Notification.objects.filter(state="pending").values_list("pk", flat=True):
            delivery.deliver_one(pk)


def scenario(people, restricted: bool, receiver) -> tuple:
    """The incident, alerted on every rung, with everything delivered that may be."""
    for persona in PERSONAS:
        user = getattr(people, persona)
        user.email = f"{user.username}@example.com"
        user.save()
    shared = WebhookEndpoint.objects.create(name="Ops chat", url=receiver.url_for("/shared"))
    trusted = WebhookEndpoint.objects.create(
        name="Crisis cell", url=receiver.url_for("/trusted"), restricted_incidents=True
    )
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people, title=TITLE, restricted=restricted), State.PLAN_ACTIVATED)
        actions.accept_team(people.commander, incident)  # prlead (PR), legal (Legal)
        actions.add_team_member(people.commander, incident, people.pr_member, "pr")
        actions.add_team_member(people.commander, incident, people.observer, "observer")
        incident = actions.assemble_team(people.commander, incident)
        letter = Task.objects.get(incident=incident, key="exec-letter")  # due T0 + 6 h
        actions.assign_task(people.commander, letter, people.pr_member)
    sweep_at(T0 + 3 * H)  # prmember reminded of the letter (in the app and by e-mail)
    assert Notification.objects.filter(recipient=people.pr_member, incident=incident).exists()
    with time_machine.travel(T0 + 3 * H + M, tick=False):
        actions.assign_task(people.commander, letter, people.pr_lead)
        member = incident.team.get(user=people.pr_member)
        actions.remove_team_member(people.commander, member.pk)
    for moment in (T0 + 4 * H, T0 + 6 * H, T0 + 6 * H + 30 * M, T0 + 8 * H):
        sweep_at(moment)
    deliver_everything(T0 + 8 * H)
    return incident, shared, trusted


def words(incident) -> list[str]:
    return [TITLE, incident.reference, *TASK_TITLES]


def everything_sent_to(user, browse) -> str:
    """The person's inbox, dashboard and e-mails, as one text."""
    client = browse(user)
    with time_machine.travel(T0 + 8 * H, tick=False):
        pages = [client.get(reverse("notifications")), client.get(reverse("dashboard"))]
    assert all(page.status_code == 200 for page in pages)
    texts = [page.content.decode() for page in pages]
    for message in mail.outbox:
        if user.email in message.to:
            texts += [message.subject, message.body, *(content for content, _type in message.alternatives)]
            texts += [str(value) for value in message.extra_headers.values()]
    return "\n".join(texts)


@pytest.mark.parametrize("restricted", [True, False], ids=["restricted", "open"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_nobody_who_gets_404_on_the_page_is_told_what_the_incident_is(
    browse, people, plan, http_receiver, persona, restricted
):
    incident, _shared, _trusted = scenario(people, restricted, http_receiver)
    user = getattr(people, persona)
    with time_machine.travel(T0 + 8 * H, tick=False):
        page = browse(user).get(reverse("incident-detail", args=[incident.reference]))
    sent = everything_sent_to(user, browse)
    if page.status_code == 404:
        for word in words(incident):
            assert word not in sent, f"{persona} may not see the incident but was told “{word}”"
    else:
        assert page.status_code == 200
    # Who was told at all, so the assertions above are not vacuous.
    told = Notification.objects.filter(incident=incident, recipient=user).exists()
    expected_told = {
        "commander": True,
        "pr_lead": True,
        "legal": True,
        "pr_member": True,  # reminded while on the team
        "executive": not restricted,  # the roster fallback, only where they may see it
        "cs": False,
        "observer": False,
        "outsider": False,
    }
    assert told == expected_told[persona]
    if persona in ("commander", "pr_lead", "legal"):
        assert TITLE in sent


@pytest.mark.parametrize("restricted", [True, False], ids=["restricted", "open"])
def test_team_chat_groups_hear_of_a_restricted_incident_only_when_allowed(people, plan, http_receiver, restricted):
    incident, shared, trusted = scenario(people, restricted, http_receiver)
    by_path: dict[str, str] = {"/shared": "", "/trusted": ""}
    for request in http_receiver.requests:
        by_path[request.path] += request.body.decode()
    assert TITLE in by_path["/trusted"]
    if restricted:
        for word in words(incident):
            assert word not in by_path["/shared"]
        assert not Notification.objects.filter(endpoint=shared).exists()
    else:
        assert TITLE in by_path["/shared"]


def test_the_roster_fallback_outside_a_restricted_team_tells_the_commander_instead(people, plan, http_receiver):
    incident, *_ = scenario(people, True, http_receiver)
    letter = incident.tasks.get(key="exec-letter")
    rows = Notification.objects.filter(task=letter, rung="after_7200s_executive", channel=Channel.IN_APP)
    assert [row.recipient for row in rows] == [people.commander]


def test_someone_removed_from_the_team_sees_only_that_there_was_a_notification(browse, people, plan, http_receiver):
    incident, *_ = scenario(people, True, http_receiver)
    html = everything_sent_to(people.pr_member, browse)
    assert NEUTRAL in html
    assert reverse("incident-detail", args=[incident.reference]) not in html
    # What was still waiting to be e-mailed to them when they left was not sent.
    email = Notification.objects.get(recipient=people.pr_member, channel=Channel.EMAIL)
    assert email.state == "failed" and "may no longer see" in email.last_error
    assert not [m for m in mail.outbox if people.pr_member.email in m.to]


def test_the_inbox_checks_who_may_see_what_in_a_fixed_number_of_queries(people, plan):
    """One query for a page of rows about restricted incidents, however many rows."""
    with time_machine.travel(T0, tick=False):
        incidents = [
            walk_to(people, report(people, title=f"{TITLE} {i}", restricted=True), State.TEAM_ASSEMBLED)
            for i in range(2)
        ]

    def shown(count_incidents):
        with CaptureQueriesContext(connection) as queries:
            rows = inbox.inbox(people.legal)
            for row in rows:
                messages.render(row, "en")
        return len(queries), rows

    sweep_at(T0 + 3 * H)
    few, rows = shown(1)
    sweep_at(T0 + 3 * H + 30 * M)
    sweep_at(T0 + 4 * H)
    many, more_rows = shown(2)
    assert len(more_rows) > len(rows)
    assert many == few
    assert all(not messages.render(row, "en").hidden for row in more_rows)

    # Off the team of one of them: its rows turn neutral, at no extra cost.
    legal = incidents[0].team.get(user=people.legal, role="legal")
    for task in incidents[0].tasks.filter(assignee=people.legal):
        with time_machine.travel(T0 + 4 * H, tick=False):
            actions.assign_task(people.commander, task, people.commander)
    with time_machine.travel(T0 + 4 * H, tick=False):
        actions.remove_team_member(people.commander, legal.pk)
    after, rows = shown(2)
    assert after == few
    texts = [messages.render(row, "en") for row in rows]
    # Digests here span both incidents: the first one's alerts turn neutral, no link.
    assert f"{TITLE} 0" not in "".join(t.text + t.html + t.subject + t.title for t in texts)
    assert f"{TITLE} 1" in "".join(t.text for t in texts)
    lines = [item for t in texts for item in t.items]
    assert any(item.hidden and item.line == NEUTRAL and item.url == "" for item in lines)
    assert not any(incidents[0].reference in item.line for item in lines)


def test_without_a_commander_the_duty_commanders_who_may_see_it_stand_in(people):
    secret = report(people, title=TITLE, restricted=True)  # not confirmed: nobody commands it
    assert secret.commander is None
    # The executive is on the roster, not on the (empty) team: the duty commanders hear.
    assert recipients.resolve(("executive",), secret) == [people.commander]
    open_one = report(people, title="Loud outage")
    assert recipients.resolve(("executive",), open_one) == [people.executive]
