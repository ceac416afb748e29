"""Drafting the message set: every kind the plan asks for plus the holding statement and
the internal notice, in both languages, from the templates and the fact sheet;
unconfirmed facts are worded as preliminary, missing ones show as gaps; kinds already
drafted are not drafted again; kinds the person may not write are left to others."""

from __future__ import annotations

import pytest
import time_machine

from crisisflow.incidents.errors import Forbidden
from crisisflow.incidents.models import Event
from crisisflow.incidents.timeline import describe
from crisisflow.statements import drafting, facts, versions
from crisisflow.statements.models import Statement
from tests.conftest import T0
from tests.statements import sheet, team_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = team_incident(people)
        facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
    return incident


def drafted(statements):
    return sorted((s.kind, s.language) for s in statements)


def test_the_commander_drafts_every_kind_the_plan_asks_for_in_both_languages(people, incident):
    # SMALL_PLAN's tasks deliver a holding statement; the internal notice comes always.
    with time_machine.travel(T0, tick=False):
        made = drafting.draft_message_set(people.commander, incident)
    assert drafted(made) == [
        ("holding_statement", "en"),
        ("holding_statement", "zh-hans"),
        ("internal_notice", "en"),
        ("internal_notice", "zh-hans"),
    ]
    event = Event.objects.get(incident=incident, kind="statement_drafted")
    assert describe(event) == (
        "Message set drafted from the fact sheet: Holding statement (Chinese), Holding statement (English), "
        "Internal notice (Chinese), Internal notice (English)"
    )
    notice = next(s for s in made if s.kind == "internal_notice" and s.language == "en")
    assert notice.current.title == "Internal notice: one voice on Payments down in East China"
    # The template's text, not written by anyone yet (public subscribers do not wait
    # for such a draft: crisisflow.subscribers.pairing); an edit is a person's.
    assert all(s.current.from_template for s in made)
    with time_machine.travel(T0, tick=False):
        edited = versions.save_version(
            people.commander,
            notice,
            title=notice.current.title,
            body="To all staff: …",
            expected_version=notice.version,
        )
    assert not edited.from_template


def test_the_plans_deliverables_become_kinds(people, plan, incident):
    incident.tasks.filter(key="progress-update").update(deliverable="user_notification")
    incident.tasks.filter(key="regulator-notice").update(deliverable="regulator_notice")
    assert drafting.wanted_kinds(incident) == ["holding_statement", "customer_email", "internal_notice"]


def test_pr_drafts_the_public_kinds_and_leaves_the_internal_notice_to_the_commander(people, incident):
    made = drafting.draft_message_set(people.pr_lead, incident, language="en")
    assert drafted(made) == [("holding_statement", "en")]
    again = drafting.draft_message_set(people.commander, incident, language="en")
    assert drafted(again) == [("internal_notice", "en")]
    assert drafting.draft_message_set(people.commander, incident, language="en") == []
    assert Statement.objects.filter(incident=incident).count() == 2


def test_observers_draft_nothing(people, incident):
    with pytest.raises(Forbidden):
        drafting.draft_message_set(people.observer, incident)


def test_the_draft_says_facts_as_the_sheet_has_them(people, incident):
    with time_machine.travel(T0, tick=False):
        made = drafting.draft_message_set(people.pr_lead, incident)
    en = next(s for s in made if s.language == "en").current.body
    zh = next(s for s in made if s.language == "zh-hans").current.body
    # Confirmed: as it is. Unconfirmed: worded as preliminary.
    assert "What happened: Payments failed for users in East China." in en
    assert (
        "Who is affected: About 1,200,000 users in East China. "
        "Our preliminary findings, still being verified: Users who paid by card.\n" in en
    )
    assert "约 1,200,000 名用户，涉及地区：East China。据初步核实，Users who paid by card.（仍在进一步核实中）" in zh
    assert "- By 5 March 2026: Refund every failed payment." in en
    assert "2026年3月5日前：Refund every failed payment." in zh
    assert "it began at 2 March 2026, 16:00 (Beijing time)" in en
    assert "We will publish our next update by 5 March 2026." in en
    assert "The cause is still under investigation by our technical and security team." in en
    assert "hotline 400-800-1234, help page https://example.com/help, e-mail help@example.com." in en
    assert "{" not in en and "{" not in zh


def test_missing_facts_show_as_gaps_to_fill(people, plan):
    incident = team_incident(people, affected_users=None, regions=[])
    made = drafting.draft_message_set(people.pr_lead, incident, language="zh-hans")
    body = made[0].current.body
    assert "【待补充：受影响范围】" in body
    assert "【待补充：后续措施及完成日期】" in body


def test_a_crisis_types_own_template_wins(people, plan):
    incident = team_incident(people, crisis_type="service_outage")
    made = drafting.draft_message_set(people.pr_lead, incident, language="en")
    assert "If anything looks wrong with your balance or orders" in made[0].current.body


def test_an_existing_statement_is_not_drafted_again(people, incident):
    versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="Ours.")
    made = drafting.draft_message_set(people.pr_lead, incident)
    assert drafted(made) == [("holding_statement", "zh-hans")]
