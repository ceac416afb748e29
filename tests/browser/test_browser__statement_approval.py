"""The holding statement from the fact sheet to the golden clock, in a real browser, in
both languages: PR drafts it from the fact sheet, fixes what the linter finds and asks
for approval; legal reads the changes and approves; PR edits after approval and the
approvals are voided; both approve again; PR publishes; the golden clock says "met"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crisisflow import clock
from crisisflow.commitments import actions as commitments
from crisisflow.commitments.promises import promises
from crisisflow.incidents.models import Incident
from crisisflow.statements import facts
from crisisflow.statements.models import Approval, Publication, Statement
from crisisflow.vocab import State
from tests.conftest import Personas, install_plan, make_user
from tests.flows import report, walk_to
from tests.statements import sheet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {
        "bad": "On 2 March payments failed for about 1,200,000 users. We will fix it as soon as possible.",
        "good": "We apologise to everyone affected. On 2 March payments failed for about 1,200,000 users. "
        "We restored the service at 11:00 and will refund every failed fee by 9 March.",
        "later": " The next update follows at 18:00 today.",
    },
    "zh-hans": {
        "bad": "3月2日，约120万用户的支付失败。我们将尽快修复。",
        "good": "我们向所有受影响的用户诚恳致歉。3月2日，约120万用户的支付失败。"
        "我们已于11:00恢复服务，并将在3月9日前退还所有失败的费用。",
        "later": "最新进展将于今晚18:00公布。",
    },
}


def submit(page, button) -> None:
    """Press a form's button and wait for the page it leads to (PRG: a redirect, a GET)."""
    with page.expect_navigation():
        button.click()


def save_text(page, body: str) -> None:
    page.fill("#statement-form textarea[name=body]", body)
    submit(page, page.locator("#statement-form button[type=submit]"))


def decide(page, role: str) -> None:
    submit(page, page.locator(f"form.approve-form[data-role={role}] button[type=submit]"))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_holding_statement_from_fact_sheet_to_golden_clock(live_server, signed_in, artifacts, language):
    people = Personas(
        commander=make_user("commander", "commander"),
        pr_lead=make_user("prlead", "pr"),
        pr_member=make_user("prmember", "pr", rank="backup"),
        legal=make_user("legal", "legal"),
        cs=make_user("cs", "customer_service"),
        executive=make_user("exec", "executive"),
        observer=make_user("observer", "observer"),
        outsider=make_user("outsider"),
    )
    install_plan()
    incident = report(
        people, affected_users=1_200_000, regions=["East China"], detected_at=clock.now() - timedelta(hours=1)
    )
    incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
    refund = {"text": "Refund every failed fee.", "due": "2026-03-09", "confirmed": True, "by": "legal"}
    facts.save_fact_sheet(people.pr_lead, incident, sheet(next=[refund]), expected_version=0)
    base = f"{live_server.url}/incidents/{incident.reference}/statements/"
    words = TEXT[language]

    # PR drafts the message set from the fact sheet and opens the holding statement.
    pr = signed_in(people.pr_lead, language)
    pr.goto(base)
    submit(pr, pr.locator("form[action$='/statements/draft/'] button[type=submit]"))
    holding = Statement.objects.get(incident=incident, kind="holding_statement", language=language)
    editor = f"{base}{holding.pk}/"
    pr.goto(editor)
    expect(pr.locator("#statement-form textarea[name=body]")).not_to_have_value("")

    # A version without an apology: the linter flags it and approval would need a reason.
    save_text(pr, words["bad"])
    expect(pr.locator("#live-lint")).to_contain_text("missing_attitude")
    assert Statement.objects.get(pk=holding.pk).current.errors >= 1
    # Fixed: nothing left to find; PR asks for approval.
    save_text(pr, words["good"])
    fixed = Statement.objects.get(pk=holding.pk).current
    assert fixed.errors == 0, fixed.findings
    expect(pr.locator("#live-lint")).not_to_contain_text("missing_attitude")
    # The refund by 9 March is a public promise: it goes into the ledger before approval.
    expect(pr.locator("#live-lint .promises")).to_be_visible()
    commitments.create_commitment(
        people.pr_lead,
        incident,
        text="Refund every failed fee",
        owner=people.legal,
        statement_version=fixed.pk,
        sentence=promises(fixed)[0].sentence,
    )
    submit(pr, pr.locator("#request-approval"))
    expect(pr.locator("#approval .approval-role[data-role=legal] .badge")).to_be_visible()

    # Legal reads what changed since the version before, then approves as Legal.
    legal = signed_in(people.legal, language)
    legal.goto(f"{editor}diff/")
    expect(legal.locator("body")).to_contain_text(words["good"][:6])
    assert legal.locator("ins, del, .diff-insert, .diff-delete").count() > 0
    legal.goto(editor)
    expect(legal.locator("form.approve-form[data-role=pr]")).to_have_count(0)  # not Legal's to give
    decide(legal, "legal")
    expect(legal.locator("#approval .approval-role[data-role=legal].role-approved")).to_be_visible()
    pr.goto(editor)
    decide(pr, "pr")
    expect(pr.locator("#publish-form")).to_be_visible()

    # PR edits after approval: a new version, and both approvals are void (shown, with who).
    save_text(pr, words["good"] + words["later"])
    expect(pr.locator("#approval .voided")).to_have_count(2)
    expect(pr.locator("#publish-form")).to_have_count(0)
    assert Approval.objects.filter(statement=holding, voided_at__isnull=False).count() == 2

    # Approval again, on the new version.
    submit(pr, pr.locator("#request-approval"))
    legal.goto(editor)
    decide(legal, "legal")
    pr.goto(editor)
    decide(pr, "pr")

    # Published on the website: the golden clock stops, met.
    pr.select_option("#publish-channel", "website")
    pr.fill("#publish-location", "https://example.com/notice/1")
    submit(pr, pr.locator("#publish-form button[type=submit]"))
    expect(pr.locator("#publish .golden-clock-outcome.clock-met")).to_be_visible()
    expect(pr.locator("#publish .publications")).to_contain_text("https://example.com/notice/1")
    publication = Publication.objects.get(statement=holding)
    assert publication.statement_version.number == holding.versions.count()
    incident = Incident.objects.get(pk=incident.pk)
    assert incident.first_statement_at == publication.published_at

    # The room says it too, and the holding-statement task is done by the publication.
    pr.goto(f"{live_server.url}/incidents/{incident.reference}/")
    expect(pr.locator("#clock .clock-met")).to_be_visible()
    assert incident.tasks.get(deliverable="holding_statement").status == "done"
    pr.set_viewport_size({"width": 375, "height": 812})
    pr.goto(editor)
    pr.screenshot(path=str(artifacts / f"statement_approval_{language}_375.png"), full_page=True)
