"""The commitments ledger: a promise must become a commitment before approval (legal may
override in writing), reminders and escalation on the sweep under frozen time, late
and kept on the public page, closing gated, and who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from crisisflow.alerts.models import Notification
from crisisflow.alerts.sweep import sweep
from crisisflow.commitments import actions
from crisisflow.commitments.models import CommitmentStatus
from crisisflow.incidents import actions as incident_actions
from crisisflow.incidents.errors import Blocked, Forbidden
from crisisflow.incidents.models import Event
from crisisflow.notices import actions as notices
from crisisflow.statements import approvals
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import finish_gating, sign_off_review, walk_to
from tests.statements import team_incident
from tests.statements_helpers import on_team, publish_approved, write

pytestmark = pytest.mark.django_db(transaction=True)
D = timedelta(days=1)
PROMISE = "我们将尽快为受影响用户提供免费的身份盗用保险。"


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        return team_incident(people, affected_users=None)


def promise_statement(people, incident):
    statement = write(people.commander, incident, "progress_update", language="zh-hans", body=PROMISE)
    statement.refresh_from_db()
    return statement


def ask(people, statement):
    statement.refresh_from_db()
    return approvals.request_approval(people.commander, statement, expected_version=statement.version)


def approve_as(people, statement, role, reason=""):
    statement.refresh_from_db()
    return approvals.approve(
        on_team(people, statement.incident, role),
        statement,
        role=role,
        expected_version=statement.version,
        override_reason=reason,
    )


def commit(people, incident, statement=None, **kw):
    kw.setdefault("text", "一年免费身份盗用保险，保额每人10万元")
    kw.setdefault("owner", people.legal)
    kw.setdefault("due_at", T0 + 10 * D)
    kw.setdefault("scope", "信息泄露波及的用户")
    if statement is not None:
        statement.refresh_from_db()
        kw.setdefault("statement_version", statement.current_id)
        kw.setdefault("sentence", PROMISE)
    return actions.create_commitment(people.commander, incident, **kw)


def test_a_promise_blocks_approval_until_it_is_a_commitment(people, incident):
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        statement = promise_statement(people, incident)
        ask(people, statement)
        with pytest.raises(Blocked, match="is not a commitment"):
            approve_as(people, statement, "pr")
        commit(people, incident, statement)
        approve_as(people, statement, "pr")
        approve_as(people, statement, "legal")
        statement.refresh_from_db()
        assert statement.state == "approved"


def test_legal_may_approve_a_promise_anyway_with_a_written_reason(people, incident):
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        statement = promise_statement(people, incident)
        ask(people, statement)
        with pytest.raises(Blocked):
            approve_as(people, statement, "pr", reason="PR cannot override this")
        approve_as(people, statement, "legal", reason="Insurance terms are on the linked page")
    assert Event.objects.filter(kind="commitment_check_overridden", data__statement=statement.pk).exists()


def test_internal_kinds_need_no_commitment(people, incident):
    statement = write(people.commander, incident, "internal_notice", language="zh-hans", body=PROMISE, title="内部")
    ask(people, statement)
    approve_as(people, statement, "commander")


def told(rung: str) -> set[str]:
    return set(
        Notification.objects.filter(rung=rung, channel="in_app", source__startswith="commitment:").values_list(
            "recipient__username", flat=True
        )
    )


def test_reminders_before_due_then_late_then_the_executive(people, incident):
    with time_machine.travel(T0, tick=False):
        c = commit(people, incident)
    with time_machine.travel(T0 + 3 * D, tick=False):
        sweep()
    assert told(f"before_{7 * 86400}s") == {"legal"}
    with time_machine.travel(T0 + 9 * D, tick=False):
        sweep()
    assert told("before_86400s") == {"legal"}
    with time_machine.travel(T0 + 10 * D, tick=False):
        sweep()
    c.refresh_from_db()
    assert c.status == CommitmentStatus.LATE
    assert told("due") == {"legal", "commander"}
    assert Event.objects.filter(kind="commitment_late").count() == 1
    with time_machine.travel(T0 + 11 * D, tick=False):
        sweep()
        sweep()
    assert told("late_executive") == {"exec", "commander"}
    assert Notification.objects.filter(rung="late_executive", recipient__username="exec", channel="in_app").count() == 1


def test_a_kept_commitment_stops_reminding(people, incident):
    with time_machine.travel(T0, tick=False):
        c = commit(people, incident)
        actions.mark_kept(people.legal, c, expected_version=c.version, summary="Policies issued to 1,200 users")
    with time_machine.travel(T0 + 20 * D, tick=False):
        sweep()
    assert not Notification.objects.filter(source__startswith="commitment:").exists()


def test_the_public_page_shows_late_and_kept_with_evidence(people, incident):
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        statement = promise_statement(people, incident)
        ask(people, statement)
        commit(people, incident, statement, text="Refund every fee", due_at=T0 + 2 * D)
        kept = commit(people, incident, statement, text="Insurance for a year", due_at=T0 + 30 * D)
        approve_as(people, statement, "pr")
        approve_as(people, statement, "legal")
        publish_approved(people, statement)
        notice = notices.save_notice(people.commander, incident, title_en="Notice", title_zh="公告")
        hidden = actions.create_commitment(
            people.commander, incident, text="UNPUBLISHED promise", owner=people.legal, due_at=T0 + 5 * D
        )
    with time_machine.travel(T0 + 3 * D, tick=False):
        actions.mark_kept(
            people.legal,
            kept,
            expected_version=kept.version,
            summary="Policies issued to every affected user",
            links=["https://example.com/policy"],
            figures=[{"label": "policies", "value": "12,000"}],
        )
        page = Client().get(f"/notice/{notice.slug}/?lang=en").content.decode()
    assert "Refund every fee" in page and 'class="badge late"' in page
    assert "Policies issued to every affected user" in page and "https://example.com/policy" in page
    assert "UNPUBLISHED promise" not in page
    assert hidden.pk


def test_closing_waits_for_every_commitment(people, incident):
    with time_machine.travel(T0, tick=False):
        open_one = commit(people, incident, text="Open one")
        to_withdraw = commit(people, incident, text="Withdrawn one")
        to_carry = commit(people, incident, text="Carried one")
        incident = walk_to(people, incident, State.IN_REVIEW)
        finish_gating(people, incident, State.CLOSED)
        sign_off_review(people, incident)
        for task in incident.tasks.filter(status__in=["open", "in_progress", "blocked"]):
            incident_actions.skip_task(people.commander, task, "not needed")
        incident.refresh_from_db()
        with pytest.raises(Blocked, match="3 commitments"):
            incident_actions.close_incident(people.commander, incident)
        actions.mark_kept(people.legal, open_one, expected_version=open_one.version, summary="Done")
        actions.withdraw(people.commander, to_withdraw, reason="Replaced by a refund", expected_version=0)
        actions.carry_over(people.commander, to_carry, owner=people.pr_lead, expected_version=0)
        incident.refresh_from_db()
        incident = incident_actions.close_incident(people.commander, incident)
    assert incident.state == State.CLOSED
    to_carry.refresh_from_db()
    # Still tracked after the close: its owner is reminded and can keep it.
    with time_machine.travel(T0 + 3 * D, tick=False):
        sweep()
    with time_machine.travel(T0 + 9 * D, tick=False):
        sweep()
        actions.mark_kept(people.pr_lead, to_carry, expected_version=to_carry.version, summary="Kept late")
    assert told("before_86400s") == {"prlead"}


def test_who_may_do_what(people, incident):
    with pytest.raises(Forbidden):
        actions.create_commitment(people.observer, incident, text="x", owner=people.legal, due_at=T0 + D)
    c = commit(people, incident, owner=people.cs)
    with pytest.raises(Forbidden):
        actions.mark_kept(people.observer, c, expected_version=c.version, summary="no")
    c = actions.mark_kept(people.cs, c, expected_version=c.version, summary="Refunds sent")
    with pytest.raises(Forbidden):
        actions.verify(people.cs, c, expected_version=c.version)  # never the owner
    c = actions.verify(people.legal, c, expected_version=c.version)
    assert c.verified_by == people.legal


def test_the_editor_offers_to_make_a_vague_promise_a_commitment(people, incident, browse):
    statement = promise_statement(people, incident)
    client = browse(people.commander)
    page = client.get(f"/incidents/{incident.reference}/statements/{statement.pk}/").content.decode()
    assert "Make this a commitment" in page
    link = f"/incidents/{incident.reference}/commitments/?version={statement.current_id}"
    assert link in page
    form = client.get(link + "&start=3").content.decode()
    assert PROMISE in form  # the sentence, ready to be made measurable
    response = client.post(
        f"/incidents/{incident.reference}/commitments/",
        {
            "text": "一年免费身份盗用保险，保额每人10万元",
            "owner": people.legal.pk,
            "due_at": "2026-03-20",
            "statement_version": statement.current_id,
            "sentence": PROMISE,
            "coverage": "10万元/人",
        },
    )
    assert response.status_code == 302
    ask(people, statement)
    approve_as(people, statement, "pr")  # the promise is a commitment now


def test_the_executives_page_lists_what_we_owe_across_incidents(
    people, incident, browse, django_assert_max_num_queries
):
    for n in range(5):
        commit(people, incident, text=f"Promise {n}", due_at=T0 + n * D)
    client = browse(people.executive)
    with time_machine.travel(T0 + 2 * D + timedelta(hours=1), tick=False):
        with django_assert_max_num_queries(12):
            page = client.get("/commitments/").content.decode()
        assert page.count("Promise ") == 5
        assert "3 late commitments" in page
        assert browse(people.outsider).get("/commitments/?status=late").content.decode().count("Promise ") == 3


def test_the_commitments_pages_cost_the_same_queries_however_many_rows(people, incident, browse):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    other = team_incident(people, title="Second incident", affected_users=None)
    client = browse(people.executive)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    commit(people, incident, text="First")
    few = (count("/commitments/"), count(f"/incidents/{incident.reference}/commitments/"))
    for n in range(15):
        commit(people, incident if n % 2 else other, text=f"More {n}", owner=people.cs if n % 3 else people.legal)
    assert (count("/commitments/"), count(f"/incidents/{incident.reference}/commitments/")) == few


def test_reminders_and_escalations_name_the_promise_whom_it_is_for_and_when(people, incident):
    from crisisflow.alerts import messages

    with time_machine.travel(T0, tick=False):
        commit(people, incident)  # due T0 + 10 days, for 信息泄露波及的用户, owned by legal
    for day in (3, 10, 11, 11):
        with time_machine.travel(T0 + day * D, tick=False):
            sweep()
    reminder = Notification.objects.get(rung=f"before_{7 * 86400}s", channel="in_app")
    escalation = Notification.objects.get(rung="late_executive", recipient=people.executive, channel="in_app")

    en = messages.render(reminder, "en", "Asia/Shanghai")
    assert en.headline == (
        "Reminder: we promised 信息泄露波及的用户 “一年免费身份盗用保险，保额每人10万元” by "
        "2026-03-12 17:00 Asia/Shanghai. Keep it and record the evidence."
    )
    assert en.subject.endswith("Reminder: commitment “一年免费身份盗用保险，保额每人10万元”")
    assert ("Promised to", "信息泄露波及的用户") in en.facts and ("Owner", "Legal") in en.facts
    assert "Task" not in dict(en.facts)
    zh = messages.render(escalation, "zh-hans", "Asia/Shanghai")
    assert zh.headline == (
        "对信息泄露波及的用户的承诺“一年免费身份盗用保险，保额每人10万元”已逾期："
        "应于 2026-03-12 17:00 Asia/Shanghai 前兑现，Legal 尚未标记为已兑现。"
    )
    assert "承诺“一年免费身份盗用保险" in zh.subject
    assert ("承诺对象", "信息泄露波及的用户") in zh.facts
