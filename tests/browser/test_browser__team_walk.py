"""Three people, three browsers: the commander, the PR lead and legal take an outage from
reported to remediating, and each sees the others' work arrive in their open page within
5 seconds, without reloading it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crisisflow.incidents.models import Incident
from tests.conftest import install_plan, make_user
from tests.flows import publish_holding_statement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 5_000  # ms: the promise to the person watching a page


def mark(page) -> None:
    """A flag a reload (or any navigation) would wipe out."""
    page.evaluate("window.__stillTheSamePage = true")


def not_reloaded(page) -> bool:
    return page.evaluate("window.__stillTheSamePage === true")


def submit(page, button) -> None:
    """Press a plain form's button and wait for the page it leads to (a redirect, a GET)."""
    with page.expect_navigation():
        button.click()


def step_button(page, step: str):
    return page.locator(f'button[data-step="{step}"]')


def room_task(page, title: str):
    return page.locator("#tasks article.task").filter(has=page.get_by_role("heading", name=title, exact=True))


def my_task(page, title: str):
    return page.locator("#my-tasks article.my-task").filter(has=page.get_by_role("heading", name=title, exact=True))


def test_three_people_take_an_outage_to_remediation_and_see_each_other_live(live_server, signed_in):
    commander = make_user("commander", "commander")
    pr = make_user("prlead", "pr")
    legal = make_user("legal", "legal")
    install_plan()
    title = "Payments fail for app users"

    # Before anything happens: legal has the dashboard and My tasks open, the PR lead
    # the dashboard.
    legal_dash = signed_in(legal)
    legal_dash.goto(live_server.url + "/")
    legal_tasks = legal_dash.context.new_page()
    legal_tasks.goto(live_server.url + "/my/tasks/")
    expect(legal_tasks.locator("#my-tasks .empty")).to_be_visible()
    pr_dash = signed_in(pr)
    pr_dash.goto(live_server.url + "/")
    for page in (legal_dash, legal_tasks, pr_dash):
        mark(page)

    # The commander reports an outage.
    cmd = signed_in(commander)
    cmd.goto(live_server.url + "/")
    cmd.get_by_role("link", name=re.compile("Report an incident")).click()
    cmd.fill("#id_title", title)
    cmd.select_option("#id_crisis_type", "service_outage")
    cmd.select_option("#id_severity", "high")
    submit(cmd, cmd.get_by_role("button", name="Report the incident"))
    incident = Incident.objects.get()
    room_url = f"{live_server.url}/incidents/{incident.reference}/"

    # It shows on the others' dashboards.
    for page in (legal_dash, pr_dash):
        card = page.locator(".dash-incident").filter(has_text=incident.reference)
        expect(card.locator(".dash-incident-title")).to_have_text(title, timeout=LIVE)
        assert not_reloaded(page)

    # The PR lead opens the incident room from there and keeps it open.
    pr_room = pr_dash
    with pr_room.expect_navigation():
        pr_room.locator(".dash-incident-link").filter(has_text=incident.reference).click()
    assert pr_room.url == room_url
    expect(pr_room.locator(".incident-head .state")).to_have_text("Reported")
    mark(pr_room)

    # The commander confirms, activates, takes the proposed team and assembles it.
    submit(cmd, step_button(cmd, "confirm"))
    submit(cmd, step_button(cmd, "activate"))
    submit(cmd, cmd.get_by_role("button", name="Accept proposed team"))
    submit(cmd, step_button(cmd, "assemble"))
    expect(cmd.locator(".incident-head .state")).to_have_text("Team assembled")
    publish = cmd.locator("#next-step .step").filter(has=step_button(cmd, "publish"))
    expect(publish).to_have_class(re.compile(r"\bis-blocked\b"))  # the holding statement gates it
    mark(cmd)

    # Legal's My tasks shows the legal review; the PR lead's room the new state and tasks.
    review = my_task(legal_tasks, "Legal review")
    expect(review).to_be_visible(timeout=LIVE)
    assert not_reloaded(legal_tasks)
    expect(pr_room.locator(".incident-head .state")).to_have_text("Team assembled", timeout=LIVE)
    pr_review = room_task(pr_room, "Legal review")
    expect(pr_review.locator(".task-status")).to_have_text("Open", timeout=LIVE)
    assert not_reloaded(pr_room)

    # Legal works it in place (Start, Done) on My tasks.
    review.get_by_role("button", name="Start").click()
    expect(review.locator(".task-status")).to_have_text("In progress")
    review.get_by_role("button", name="Mark done").click()
    expect(review.locator(".task-status")).to_have_text("Done")
    assert not_reloaded(legal_tasks)

    # The PR lead's room shows it done.
    expect(pr_review.locator(".task-status")).to_have_text("Done", timeout=LIVE)
    assert not_reloaded(pr_room)

    # The PR lead writes the holding statement in their room: Start, the three ticks, Done
    # (plain forms: their own page reloads each time).
    statement = room_task(pr_room, "Holding statement")
    submit(pr_room, statement.get_by_role("button", name="Start"))
    for item in ("Apologise", "State the facts", "Announce actions"):
        submit(pr_room, statement.get_by_role("checkbox", name=item))
    expect(statement.locator(".tick.done")).to_have_count(3)
    submit(pr_room, statement.get_by_role("button", name="Mark done"))
    expect(statement.locator(".task-status")).to_have_text("Done")
    mark(pr_room)

    # The statement itself goes out through approvals (PR and legal) and publishing; the
    # commander's page then shows the publish step ready.
    expect(publish).to_have_class(re.compile(r"\bis-blocked\b"))
    publish_holding_statement(incident)
    expect(publish).to_have_class(re.compile(r"\bis-ready\b"), timeout=LIVE)
    expect(cmd.locator(f"#task-{statement_id(incident)} .task-status")).to_have_text("Done", timeout=LIVE)
    assert not_reloaded(cmd)

    # Legal follows the incident from its room too (their dashboard's link).
    legal_room = legal_dash
    with legal_room.expect_navigation():
        legal_room.locator(".dash-incident-link").filter(has_text=incident.reference).click()
    expect(legal_room.locator(".incident-head .state")).to_have_text("Team assembled")
    mark(legal_room)

    # The commander publishes and starts remediation; the others see it.
    submit(cmd, step_button(cmd, "publish"))
    submit(cmd, step_button(cmd, "remediate"))
    expect(cmd.locator(".incident-head .state")).to_have_text("Remediating")
    for page in (pr_room, legal_room):
        expect(page.locator(".incident-head .state")).to_have_text("Remediating", timeout=LIVE)
        expect(page.locator(".stages li.current")).to_contain_text("Remediate")
        assert not_reloaded(page)

    # The commander, as manager, gives the PR lead's executive letter to legal on the board.
    letter = incident.tasks.get(key="exec-letter")
    assert letter.assignee == pr
    assert not my_task(legal_tasks, "Exec letter").count()
    cmd.goto(live_server.url + "/board/")
    row = cmd.locator(f"#board-task-{letter.pk}")
    expect(row.locator(".owner")).to_have_text("→ Prlead")
    row.locator(f"#pick-{letter.pk}").check()
    cmd.select_option("#bulk-assignee", str(legal.pk))
    cmd.get_by_role("button", name="Assign selected").click()  # in place (HTMX)
    expect(cmd.locator(f"#board-task-{letter.pk} .owner")).to_have_text("→ Legal")

    # Legal's My tasks, open since before the incident existed, shows it.
    expect(my_task(legal_tasks, "Exec letter")).to_be_visible(timeout=LIVE)
    expect(my_task(legal_tasks, "Legal review")).to_have_count(0)  # done: it left the list
    assert not_reloaded(legal_tasks)

    letter.refresh_from_db()
    assert letter.assignee == legal
    incident.refresh_from_db()
    assert incident.state == "remediating"


def statement_id(incident: Incident) -> int:
    return incident.tasks.get(key="holding-statement").pk
