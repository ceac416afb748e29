"""A concrete promise ("we will refund every affected order by 5 December", "我们将在12月5日前
完成退款") is still a public promise: it must be a commitment — due, unless someone says
otherwise, at the end of the day it names — or be reworded before a public statement is
approved; legal may approve anyway in writing. In Chinese and English."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from crisisflow.commitments import actions
from crisisflow.commitments.promises import DATED, VAGUE, promised_day, promises
from crisisflow.incidents.errors import Blocked
from crisisflow.incidents.models import Event
from crisisflow.statements import approvals
from crisisflow.statements.lint import dated_promises
from tests.conftest import T0
from tests.statements import team_incident
from tests.statements_helpers import edit, on_team, write

pytestmark = pytest.mark.django_db(transaction=True)

# (language, text, the pledges found) — T0 is 2 March 2026.
CASES = [
    ("en", "We will refund every affected order by 5 December.", ["will refund"]),
    ("en", "We'll credit 10 yuan to each affected account within 48 hours.", ["We'll credit"]),
    ("en", "Every failed fee will be refunded by 9 March.", ["will be refunded"]),
    ("en", "We promise to replace every faulty charger before 20 March.", ["promise to replace"]),
    ("en", "On 2 March we found the fault; we will restore the service by 18:00 today.", ["will restore"]),
    ("zh-hans", "我们将在12月5日前完成退款。", ["将在12月5日前完成退款"]),
    ("zh-hans", "我们将为每位受影响用户补偿10元代金券。", ["将为每位受影响用户补偿"]),
    ("zh-hans", "我们将在12月5日前为所有受影响订单完成退款。", ["将在12月5日前为所有受影响订单完成退款"]),
    ("zh-hans", "3月9日前，我们会逐一退还多收的手续费。", ["会逐一退还"]),
    ("zh-hans", "我们承诺在48小时内赔付全部损失。", ["承诺在48小时内赔付"]),
    # Not dated promises: vague (the linter's vague_promise), done already, or no remedy.
    ("en", "We will refund every affected customer.", []),
    ("en", "We will fix it as soon as possible.", []),
    ("en", "We refunded every failed fee on 3 March.", []),
    ("en", "We will publish our next update by 5 March.", []),
    ("zh-hans", "我们将尽快退款。", []),
    ("zh-hans", "我们已于3月3日退还全部手续费。", []),
    ("zh-hans", "最新进展将于今晚18:00公布。", []),
]


@pytest.mark.parametrize("language, text, pledges", CASES)
def test_dated_promises_are_found_in_both_languages(language, text, pledges):
    assert [text[s:e] for s, e in dated_promises(text, language=language)] == pledges


@pytest.mark.parametrize(
    "sentence, day",
    [
        ("We will refund every affected order by 5 December.", date(2026, 12, 5)),
        ("On 2 March we found it and will refund every order by 9 March.", date(2026, 3, 9)),
        ("我们将在12月5日前完成退款。", date(2026, 12, 5)),
        ("我们将在2027年1月10日前完成退款。", date(2027, 1, 10)),
        ("We will credit 10 yuan within 48 hours.", None),
    ],
)
def test_the_promised_day(sentence, day):
    # The day named after the pledge: not the day something happened before it.
    assert promised_day(sentence, after=sentence.find("will"), today=T0.date()) == day


def test_a_day_more_than_two_months_gone_is_next_years():
    assert promised_day("我们将在1月2日前完成退款。", today=date(2026, 6, 1)) == date(2027, 1, 2)
    assert promised_day("我们将在1月2日前完成退款。", today=date(2026, 2, 1)) == date(2026, 1, 2)


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        return team_incident(people, affected_users=None)


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


@pytest.mark.parametrize(
    "language, body",
    [
        ("zh-hans", "支付故障已修复。我们将在3月9日前为每位受影响用户退还手续费。"),
        ("en", "Payments work again. We will refund every failed fee by 9 March."),
    ],
)
def test_a_dated_promise_is_a_commitment_before_approval_due_on_its_day(people, incident, language, body):
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        statement = write(people.commander, incident, "progress_update", language=language, body=body)
        statement.refresh_from_db()
        [promise] = promises(statement.current)
        assert promise.kind == DATED and promise.promised_on == date(2026, 3, 9)
        ask(people, statement)
        with pytest.raises(Blocked, match="is not a commitment"):
            approve_as(people, statement, "pr")
        # No due date given: the end of 9 March in China Standard Time.
        c = actions.create_commitment(
            people.commander,
            incident,
            text=promise.sentence,
            owner=people.legal,
            statement_version=statement.current_id,
            sentence=promise.sentence,
        )
        assert c.due_at == datetime(2026, 3, 9, 15, 59, tzinfo=UTC)
        approve_as(people, statement, "pr")
        approve_as(people, statement, "legal")
        statement.refresh_from_db()
        assert statement.state == "approved"


def test_rewording_it_as_done_lifts_the_check_and_legal_may_override(people, incident):
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        statement = write(
            people.commander, incident, "progress_update", body="We will refund every failed fee by 9 March."
        )
        ask(people, statement)
        with pytest.raises(Blocked):
            approve_as(people, statement, "pr")
        approve_as(people, statement, "legal", reason="The refund is a legal obligation, tracked by finance")
        assert Event.objects.filter(kind="commitment_check_overridden", data__statement=statement.pk).exists()

        edit(people.commander, statement, "We refunded every failed fee on 3 March.")
        assert promises(statement.current) == []
        ask(people, statement)
        approve_as(people, statement, "pr")


def test_a_vague_and_a_dated_promise_in_one_statement(people, incident):
    statement = write(
        people.commander,
        incident,
        "progress_update",
        language="zh-hans",
        body="我们将尽快查明原因。我们将在3月9日前退还全部手续费。",
    )
    statement.refresh_from_db()
    assert [(p.kind, p.sentence) for p in promises(statement.current)] == [
        (VAGUE, "我们将尽快查明原因。"),
        (DATED, "我们将在3月9日前退还全部手续费。"),
    ]


def test_the_editor_and_the_ledger_offer_it_with_its_date(people, incident, browse):
    statement = write(people.commander, incident, "progress_update", body="We will refund every failed fee by 9 March.")
    client = browse(people.commander)
    page = client.get(f"/incidents/{incident.reference}/statements/{statement.pk}/").content.decode()
    assert "goes into the commitments ledger" in page
    link = f"/incidents/{incident.reference}/commitments/?version={statement.current_id}&amp;start=3"
    assert link in page
    with time_machine.travel(T0, tick=False):
        form = client.get(link.replace("&amp;", "&")).content.decode()
    assert "We will refund every failed fee by 9 March." in form
    assert 'name="due_at" type="date" value="2026-03-09"' in form
