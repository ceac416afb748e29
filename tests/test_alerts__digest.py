"""Quieter escalation: one message per person (and team webhook) per channel per sweep.

The walkthrough that asked for it: an incident activated five hours after its outbreak
sent one message per overdue task per person, about 45 e-mails and 44 in-app messages
within a minute, each escalation twice. Now every rung already due fires in the same
sweep, each person gets one digest listing them, and no rung reaches anyone twice — not
even when handing the overdue tasks to their role leads rebuilds every ladder.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from crisisflow.alerts import delivery, inbox, messages
from crisisflow.alerts.models import Channel, Notification, WebhookEndpoint
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents import actions
from crisisflow.incidents.models import Event
from crisisflow.vocab import State
from tests.conftest import SMALL_PLAN, T0, install_plan, task_def, text
from tests.flows import report, walk_to
from tests.receivers import http_receiver_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)
LATE = T0 + 5 * H  # the plan is activated five hours after the outbreak

# Ten tasks due 1 to 2.5 hours after detection: at activation every one is past its
# due time, its commander escalation and its executive escalation.
OVERDUE = [
    {
        **task_def(f"overdue-{n}", "pr" if n % 2 else "legal", "publish", "detected", 3600 + 900 * (n % 7)),
        "title": text(f"Overdue task {n}", f"逾期任务{n}"),
    }
    for n in range(1, 11)
]
LATE_PLAN = {**copy.deepcopy(SMALL_PLAN), "key": "late-outage", "tasks": OVERDUE}
EVERYONE = ["commander", "pr_lead", "legal", "executive"]


@pytest.fixture
def late(people, http_receiver):
    for persona in EVERYONE:
        user = getattr(people, persona)
        user.email = f"{user.username}@example.com"
        user.save()
    people.executive.language = "zh-hans"
    people.executive.save()
    WebhookEndpoint.objects.create(name="Crisis room", url=http_receiver.url_for("/room"))
    install_plan(LATE_PLAN)
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.CONFIRMED)
    with time_machine.travel(LATE, tick=False):
        return actions.activate_plan(people.commander, incident)


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return sweep()


def test_each_person_gets_one_message_per_channel_listing_every_overdue_task(late, people, http_receiver):
    swept = sweep_at(LATE)
    # Every rung of every task fired in this one sweep: due, +30 min, +2 h.
    assert len(swept.fired) == 1 + len(OVERDUE)  # the golden clock, then each task
    assert all(", after_1800s_commander, after_7200s_executive" in line for line in swept.fired[1:])

    sent = Notification.objects.filter(pk__in=swept.notifications)
    for persona in EVERYONE:
        user = getattr(people, persona)
        assert len(inbox.inbox(user)) == 1, persona
        [email] = [row for row in sent if row.recipient_id == user.pk]
        assert email.channel == Channel.EMAIL and email.kind == "digest"
    [hook] = [row for row in sent if row.channel == Channel.WEBHOOK]
    assert hook.kind == "digest"
    # The team chat: every rung of every task and the clock, in one card of ten lines.
    card = messages.render(hook, "en", card="text")
    assert len(card.items) == 1 + 3 * len(OVERDUE)
    assert len(card.facts) == messages.CARD_ITEMS + 1
    assert card.facts[-1][1] == f"{len(card.items) - messages.CARD_ITEMS} more"

    # What each digest carries: the commander every task's escalation and the clock.
    [commander] = inbox.inbox(people.commander)
    listed = messages.render(commander, "en")
    assert len(listed.items) == len(OVERDUE) + 1
    assert listed.items[0].line.startswith(f"{late.reference} Payments down in East China · Golden clock expired")
    assert all("Overdue" in item.line for item in listed.items[1:])
    # The rung rows stay, bundled, for the timeline and the incident's delivery log.
    parts = commander.parts.all()
    assert parts.count() == len(OVERDUE) + 1 and {p.state for p in parts} == {"bundled"}
    assert late.events.filter(kind=Event.Kind.ALERT).count() == 1 + 3 * len(OVERDUE)

    with time_machine.travel(LATE, tick=False):
        for pk in swept.notifications:
            assert delivery.deliver_one(pk) == "delivered"
    assert sorted(m.to[0] for m in mail.outbox) == sorted(getattr(people, p).email for p in EVERYONE)
    assert len(http_receiver.requests) == 1

    # The executive's e-mail: in Chinese, each task with its link.
    [executive] = [m for m in mail.outbox if m.to == [people.executive.email]]
    html = executive.alternatives[0][0]
    for task in late.tasks.all():
        assert task.title["zh"] in executive.body
        assert f"/incidents/{late.reference}/#task-{task.pk}" in executive.body
        assert f"/incidents/{late.reference}/#task-{task.pk}" in html
    assert "逾期" in executive.subject and executive.extra_headers["Content-Language"] == "zh-hans"

    # The next sweep has nothing left to say.
    again = sweep_at(LATE + 5 * timedelta(seconds=1))
    assert again.fired == [] and again.notifications == []
    assert Notification.objects.filter(created_at__gt=LATE).count() == 0


def test_handing_overdue_tasks_to_their_role_leads_repeats_no_rung(late, people):
    sweep_at(LATE)
    written = Notification.objects.count()
    alerts = late.events.filter(kind=Event.Kind.ALERT).count()
    # Assembling gives every task to its role's lead: every ladder starts again.
    with time_machine.travel(LATE + M, tick=False):
        actions.accept_team(people.commander, late)
        actions.assemble_team(people.commander, late)
    swept = sweep_at(LATE + M)
    assert swept.fired  # the rebuilt ladders' past rungs came due again …
    assert Notification.objects.count() == written  # … and told nobody twice
    assert late.events.filter(kind=Event.Kind.ALERT).count() == alerts

    # A new owner has not heard of the task yet: they are told; nobody else again.
    task = late.tasks.get(key="overdue-1")
    with time_machine.travel(LATE + 2 * M, tick=False):
        actions.add_team_member(people.commander, late, people.pr_member, "pr")
        actions.assign_task(people.commander, task, people.pr_member)
    sweep_at(LATE + 2 * M)
    new = Notification.objects.filter(created_at=LATE + 2 * M)
    assert {(row.recipient, row.rung) for row in new} == {(people.pr_member, "due")}


def test_one_alert_stays_a_message_of_its_own(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    sweep_at(T0 + 2 * H)  # the commander: the golden clock's first warning, nothing else
    rows = Notification.objects.filter(incident=incident, recipient=people.commander)
    assert [(row.kind, row.state) for row in rows] == [("clock_warning", "delivered")]
    # Legal also had a reminder due in that sweep: the two went as one.
    legal = Notification.objects.filter(incident=incident, recipient=people.legal).exclude(state="bundled")
    assert [row.kind for row in legal] == ["digest"]
