"""Script in what people type stays text: an incident title, a note, a task comment and a
block reason, entered through the real forms, are shown literally on every page that shows
them — also when a live region or an in-place card brings them in — and never run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident
from crisisflow.vocab import State
from tests.conftest import install_plan, make_user
from tests.flows import walk_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 5_000
IMG = '<img src=x onerror="window.__xss=1;alert(1)">'
SCRIPT = "<script>window.__xss=1;alert(2)</script>"
TITLE = f"Outage {IMG}{SCRIPT}"
NOTE = f"Note {SCRIPT} and {IMG}"
COMMENT = f"Comment {IMG} / {SCRIPT}"
REASON = f"Blocked {SCRIPT}{IMG}"


@pytest.fixture
def open_as(signed_in):
    """signed_in, with every dialog (alert, confirm …) the pages open noted and dismissed."""
    dialogs: list[str] = []

    def open_page(user):
        page = signed_in(user)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        return page

    yield open_page
    assert dialogs == [], f"a dialog fired: {dialogs}"


def assert_inert(page, *texts: str) -> None:
    """Each text is on the page as text; none of it became markup or ran."""
    page.wait_for_load_state("load")  # an <img onerror> would have fired by now
    body = page.locator("body")
    for text in texts:
        expect(body).to_contain_text(text)
    assert page.evaluate("typeof window.__xss") == "undefined", page.url
    assert page.locator('img[src="x"]').count() == 0, page.url
    assert page.locator("script", has_text="__xss").count() == 0, page.url


def test_script_typed_into_the_forms_is_shown_as_text_and_never_runs(live_server, open_as):
    commander = make_user("commander", "commander")
    pr = make_user("prlead", "pr")
    make_user("legal", "legal")
    install_plan()
    # A second incident, so the board offers its incident filter (titles in <option>s).
    other = actions.report_incident(commander, title="Another outage", crisis_type="service_outage", severity="low")
    walk_to(SimpleNamespace(commander=commander), other, State.CONFIRMED)

    # The title, through the report form.
    cmd = open_as(commander)
    cmd.goto(live_server.url + "/incidents/new/")
    cmd.fill("#id_title", TITLE)
    cmd.select_option("#id_crisis_type", "service_outage")
    cmd.select_option("#id_severity", "high")
    with cmd.expect_navigation():
        cmd.get_by_role("button", name="Report the incident").click()
    incident = Incident.objects.exclude(pk=other.pk).get()
    assert incident.title == TITLE
    incident = walk_to(SimpleNamespace(commander=commander), incident, State.TEAM_ASSEMBLED)
    room_url = f"{live_server.url}/incidents/{incident.reference}/"
    statement = incident.tasks.get(key="holding-statement")

    # The PR lead watches the room while the commander writes in it.
    watcher = open_as(pr)
    watcher.goto(room_url)
    expect(watcher.locator(".incident-head h1")).to_have_text(TITLE)
    assert_inert(watcher, TITLE)

    # A note, through the timeline's form.
    cmd.goto(room_url)
    cmd.fill("#note_text", NOTE)
    with cmd.expect_navigation():
        cmd.get_by_role("button", name="Add note").click()
    # A comment on the holding statement, through its card's form.
    card = cmd.locator(f"#task-{statement.pk}")
    card.locator(".comment-box summary").click()
    card.locator(f"#comment-{statement.pk}").fill(COMMENT)
    with cmd.expect_navigation():
        card.get_by_role("button", name="Post comment").click()
    expect(cmd.locator("#timeline .event.kind-note .line").first).to_have_text(NOTE)
    expect(cmd.locator(f"#task-{statement.pk} .comment p")).to_have_text(COMMENT)
    assert_inert(cmd, TITLE, NOTE, COMMENT)

    # The watcher's live regions bring both in: still text.
    expect(watcher.locator("#timeline")).to_contain_text(NOTE, timeout=LIVE)
    expect(watcher.locator(f"#task-{statement.pk} .comment")).to_contain_text(COMMENT, timeout=LIVE)
    watcher.wait_for_timeout(300)  # time for a swapped-in <img> to fail and fire onerror
    assert_inert(watcher, TITLE, NOTE, COMMENT)

    # A block reason, through My tasks' in-place card (HTMX swaps the card in).
    desk = watcher
    desk.goto(live_server.url + "/my/tasks/")
    mine = desk.locator(f"#my-task-{statement.pk}")
    expect(mine.locator(".my-task-incident")).to_contain_text(TITLE)
    mine.locator(f"#my-task-{statement.pk}-reason").fill(REASON)
    mine.get_by_role("button", name="Block").click()
    expect(mine.locator(".task-status")).to_have_text("Blocked")
    expect(mine.locator(".note-line")).to_have_text(f"Blocked because: {REASON}")
    desk.wait_for_timeout(300)
    assert_inert(desk, TITLE, REASON)

    # Every page that shows them, freshly loaded.
    desk.goto(live_server.url + "/")
    assert_inert(desk, TITLE)  # the dashboard: the incident and the task's incident
    cmd.goto(room_url)
    assert_inert(cmd, TITLE, NOTE, COMMENT, REASON)
    assert cmd.title().startswith(f"{incident.reference} {TITLE}")
    cmd.goto(live_server.url + "/board/")
    expect(cmd.locator(".board-incident-title").filter(has_text="Outage <img")).to_have_text(TITLE)
    assert_inert(cmd, TITLE)
    options = cmd.locator("#board-incident option").all_inner_texts()
    assert any(o.startswith(f"{incident.reference} · Outage <img src=x") for o in options), options
    cmd.goto(live_server.url + "/incidents/")
    assert_inert(cmd, TITLE)
