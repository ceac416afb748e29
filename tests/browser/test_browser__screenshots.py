"""Full-page screenshots of the main pages, desktop and phone, English and Chinese, for
whoever reviews the layout (tests/artifacts/<page>_<lang>_<width>.png) — and the check a
picture cannot make by itself: at 375 px nothing makes the page scroll sideways (the
swimlane picture scrolls inside its own box)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from crisisflow.incidents import actions
from crisisflow.people.models import User
from crisisflow.playbooks.loader import load_playbooks
from crisisflow.vocab import State
from tests.flows import finish, walk_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {1280: 900, 375: 812}  # viewport width → height
MIN_BYTES = 20_000


def an_incident_in_progress():
    """A data breach with its team assembled and work under way, and a fresh outage report."""
    load_playbooks()
    call_command("create_demo_users", force=True, stdout=open("/dev/null", "w"))  # staffs every built-in plan
    commander = User.objects.get(username="commander")
    incident = actions.report_incident(
        User.objects.get(username="service"),
        title="User data exposed through a partner SDK",
        crisis_type="data_breach",
        severity="high",
        personal_data=True,
        affected_users=120_000,
        regions=["East China", "Guangdong"],
        platforms=["iOS", "Android"],
    )
    people = SimpleNamespace(commander=commander)
    incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
    free = incident.tasks.filter(assignee__isnull=False, depends_on__isnull=True)
    tasks = list(free.order_by("due_at", "position")[:3])
    for task in tasks[:3]:
        actions.start_task(task.assignee, task)
    finish(people, tasks[0])  # ticks its checklist too
    actions.block_task(tasks[2].assignee, tasks[2].pk, "Waiting for the partner's access logs")
    actions.add_task_comment(tasks[1].assignee, tasks[1].pk, "Draft is in the shared folder; legal to review by 11:00.")
    actions.add_note(commander, incident, "Partner confirmed the SDK version; affected window 3 days.")
    actions.report_incident(
        User.objects.get(username="security"), title="Checkout errors on Android", crisis_type="service_outage"
    )
    return commander, incident


def test_main_pages_at_desktop_and_phone_width_in_both_languages(live_server, signed_in, artifacts):
    commander, incident = an_incident_in_progress()
    pages = {
        "dashboard": "/",
        "incident": f"/incidents/{incident.reference}/",
        "board": "/board/",
        "playbook": "/playbooks/data-breach/",
    }
    tab = signed_in(commander, language="en")
    overflow: list[str] = []
    shots = []

    for lang in ("en", "zh-hans"):
        if lang != "en":
            # The header's language switch, as a person would.
            tab.goto(live_server.url + "/")
            with tab.expect_navigation():
                tab.locator(f'.lang-switch button[value="{lang}"]').click()
        for width, height in WIDTHS.items():
            tab.set_viewport_size({"width": width, "height": height})
            for name, path in pages.items():
                tab.goto(live_server.url + path)
                tab.wait_for_load_state("load")
                expect(tab.locator("html")).to_have_attribute("lang", lang)
                expect(tab.locator("main h1").first).to_be_visible()
                shot = artifacts / f"{name}_{lang}_{width}.png"
                tab.screenshot(path=str(shot), full_page=True)
                shots.append(shot)
                scroll = tab.evaluate("document.documentElement.scrollWidth")
                if scroll > width + 1:
                    overflow.append(f"{name} {lang} {width}: {scroll}px wide; widest: {widest(tab, width)}")

    small = [f"{s.name}: {s.stat().st_size} bytes" for s in shots if not s.exists() or s.stat().st_size < MIN_BYTES]
    assert not small, small
    assert not overflow, overflow


def widest(tab, width: int) -> list[str]:
    """The elements sticking out past the right edge, for the failure message."""
    return tab.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 1)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                      (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') +
                      ' → ' + Math.round(e.getBoundingClientRect().right))""",
        width,
    )
