"""The commander walks an outage from report to remediation in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crisisflow.incidents.models import Incident
from tests.conftest import install_plan, make_user
from tests.flows import publish_holding_statement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit(page, button) -> None:
    """Press a form's button and wait for the page it leads to (PRG: a redirect, a GET)."""
    with page.expect_navigation():
        button.click()


def task_card(page, title: str):
    return page.locator("article.task").filter(has=page.get_by_role("heading", name=title, exact=True))


def step_button(page, step: str):
    return page.locator(f'button[data-step="{step}"]')


def test_commander_walks_an_outage_to_remediation(live_server, page, artifacts):
    commander = make_user("commander", "commander")
    make_user("prlead", "pr")
    make_user("legal", "legal")
    install_plan()

    # Sign in through the login page; the commander's language is Chinese: switch to English.
    page.goto(live_server.url + "/")
    assert "/login/" in page.url
    page.fill("#id_username", "commander")
    page.fill("#id_password", "pw-commander")
    submit(page, page.locator("form[action='/login/'] button[type=submit]"))
    submit(page, page.get_by_role("button", name="English"))
    assert page.get_by_role("heading", name="Incidents").is_visible()

    # Report.
    page.get_by_role("link", name=re.compile("Report an incident")).click()
    page.fill("#id_title", "Payments fail for app users")
    page.select_option("#id_crisis_type", "service_outage")
    page.select_option("#id_severity", "high")
    page.fill("#id_affected_users", "5000")
    submit(page, page.get_by_role("button", name="Report the incident"))
    incident = Incident.objects.get()
    assert incident.reference in page.content()
    assert page.locator(".stages li.current").inner_text().endswith("Confirm the crisis")

    # Confirm (type and severity are prefilled from the report), activate, take the team.
    assert page.input_value("#step-confirm_crisis_type") == "service_outage"
    submit(page, step_button(page, "confirm"))
    submit(page, step_button(page, "activate"))
    submit(page, page.get_by_role("button", name="Accept proposed team"))
    submit(page, step_button(page, "assemble"))

    # The gating work: legal review, then the holding statement with its checklist.
    legal = task_card(page, "Legal review")
    submit(page, legal.get_by_role("button", name="Start"))
    submit(page, legal.get_by_role("button", name="Mark done"))
    statement = task_card(page, "Holding statement")
    submit(page, statement.get_by_role("button", name="Start"))
    for item in ("Apologise", "State the facts", "Announce actions"):
        submit(page, statement.get_by_role("checkbox", name=item))
    assert statement.locator(".tick.done").count() == 3
    submit(page, statement.get_by_role("button", name="Mark done"))
    # Ticking the task is not a statement: publishing waits for a real one.
    publish = page.locator("#next-step .step").filter(has=step_button(page, "publish"))
    expect(publish).to_have_class(re.compile(r"\bis-blocked\b"))
    publish_holding_statement(incident)  # written, approved by PR and legal, published
    page.reload()

    submit(page, step_button(page, "publish"))
    submit(page, step_button(page, "remediate"))

    assert page.locator(".incident-head .state").inner_text() == "Remediating"
    timeline = page.locator("#timeline").inner_text()
    for line in (
        "Reported “Payments fail for app users”",
        "Reported → Confirmed",
        "Confirmed → Plan activated — plan “Small outage plan” v1",
        "Proposed team accepted: Prlead (PR), Legal (Legal)",
        "Plan activated → Team assembled",
        "“Holding statement”: In progress → Done",
        "Team assembled → Information published",
        "Information published → Remediating",
    ):
        assert line in timeline, line
    assert page.locator("#clock .clock-met").is_visible()  # the statement beat the 4 hours

    incident.refresh_from_db()
    assert (incident.state, incident.commander) == ("remediating", commander)

    shot = artifacts / "commander_walk.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.exists() and shot.stat().st_size > 10_000
    # The same page on a phone, for whoever reviews the layout.
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=str(artifacts / "commander_walk_375.png"), full_page=True)
