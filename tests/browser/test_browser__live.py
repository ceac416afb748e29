"""Two people, two browsers: what one does shows in the other's open page within 5 seconds,
without a reload, and never under someone's typing."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from crisisflow.incidents import actions
from crisisflow.vocab import State
from tests.conftest import install_plan, make_user
from tests.flows import walk_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 5_000  # ms: the promise to the person watching


def mark(page) -> None:
    """A flag a full reload would wipe out."""
    page.evaluate("window.__stillTheSamePage = true")


def not_reloaded(page) -> bool:
    return page.evaluate("window.__stillTheSamePage === true")


def test_changes_show_in_another_browser_within_5_seconds(live_server, signed_in, artifacts):
    commander = make_user("commander", "commander")
    make_user("prlead", "pr")
    legal = make_user("legal", "legal")
    install_plan()
    incident = actions.report_incident(
        commander, title="Payments fail for app users", crisis_type="service_outage", severity="high"
    )
    incident = walk_to(SimpleNamespace(commander=commander), incident, State.TEAM_ASSEMBLED)
    review = incident.tasks.get(key="legal-review")
    page_url = f"{live_server.url}/incidents/{incident.reference}/"

    # The commander watches the incident page; legal works from My tasks, and has the
    # dashboard open in another tab.
    room = signed_in(commander)
    room.goto(page_url)
    mark(room)
    desk = signed_in(legal)
    desk.goto(live_server.url + "/my/tasks/")
    mark(desk)
    board = desk.context.new_page()
    board.goto(live_server.url + "/")
    mark(board)

    # Legal starts the legal review in place: only that card changes on their page ...
    card = desk.locator(f"#my-task-{review.pk}")
    card.get_by_role("button", name="Start").click()
    expect(card.locator(".task-status")).to_have_text("In progress")
    assert not_reloaded(desk)
    # The Start button is gone (Done took its place): focus stays on the card, not lost.
    expect(desk.locator(":focus")).to_have_id(f"my-task-{review.pk}")
    # ... and the commander's page shows it within 5 seconds, without a reload.
    expect(room.locator(f"#task-{review.pk} .task-status")).to_have_text("In progress", timeout=LIVE)
    assert not_reloaded(room)

    # The commander raises the severity (a plain form: their own page reloads) ...
    room.locator("#severity summary").click()
    room.select_option("#severity_severity", "critical")
    room.fill("#severity_reason", "Press picked it up")
    with room.expect_navigation():
        room.get_by_role("button", name="Change severity").click()
    mark(room)
    # ... and legal's dashboard shows it within 5 seconds, its countdown still ticking.
    board.bring_to_front()
    card = board.locator(".dash-incident").filter(has_text=incident.reference)
    expect(card.locator(".badge.sev-critical")).to_be_visible(timeout=LIVE)
    assert not_reloaded(board)
    clock = card.locator(".clock-text")
    expect(clock).to_have_text(re.compile(r"^\d\d:\d\d:\d\d left$"), timeout=2_000)  # clock.js took over the new markup
    expect(clock).not_to_have_text(clock.inner_text(), timeout=3_000)  # and it ticks

    # Legal types why they are stuck, and has not sent it yet: their list is not swapped
    # under their fingers, although the commander gives them another task meanwhile.
    reason = desk.locator(f"#my-task-{review.pk}-reason")
    reason.fill("Waiting for the DPO")
    letter = incident.tasks.get(key="exec-letter")
    actions.assign_task(commander, letter.pk, legal)
    desk.wait_for_timeout(LIVE)
    assert reason.input_value() == "Waiting for the DPO"
    assert desk.locator(f"#my-task-{letter.pk}").count() == 0
    # Once it is sent (in place), the list catches up.
    desk.locator(f"#my-task-{review.pk}").get_by_role("button", name="Block").click()
    expect(desk.locator(f"#my-task-{review.pk} .task-status")).to_have_text("Blocked")
    expect(desk.locator(f"#my-task-{letter.pk}")).to_be_visible(timeout=LIVE)
    expect(room.locator(f"#task-{review.pk} .task-status")).to_have_text("Blocked", timeout=LIVE)
    assert not_reloaded(desk) and not_reloaded(room)

    room.screenshot(path=str(artifacts / "live_incident.png"), full_page=True)
    desk.screenshot(path=str(artifacts / "live_my_tasks.png"), full_page=True)
    board.screenshot(path=str(artifacts / "live_dashboard.png"), full_page=True)


def test_a_lead_with_an_unassigned_task_still_sees_changes(live_server, signed_in):
    """A task nobody has shows its lead an assignee picker with nothing chosen; the
    browser shows its first option, which is not work the lead has not sent, so the
    task list must keep coming up to date."""
    commander = make_user("commander", "commander")
    pr = make_user("prlead", "pr")
    legal = make_user("legal", "legal")
    install_plan()
    incident = actions.report_incident(
        commander, title="Payments fail for app users", crisis_type="service_outage", severity="high"
    )
    incident = walk_to(SimpleNamespace(commander=commander), incident, State.TEAM_ASSEMBLED)
    statement = incident.tasks.get(key="holding-statement")
    actions.assign_task(commander, statement.pk, None)
    review = incident.tasks.get(key="legal-review")

    room = signed_in(pr)
    room.goto(f"{live_server.url}/incidents/{incident.reference}/")
    mark(room)
    picker = room.locator(f"#assign-{statement.pk}")
    expect(picker).to_have_value("")  # nobody, and nothing marked selected in the markup
    assert "selected" not in picker.inner_html()

    actions.start_task(legal, review.pk)
    expect(room.locator(f"#task-{review.pk} .task-status")).to_have_text("In progress", timeout=LIVE)
    assert not_reloaded(room)
