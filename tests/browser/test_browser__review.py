"""The review in a real browser: from report to close — the first statement, the review
written on its page, four sign-offs each in the signer's own browser, the PDF downloaded
and read back, the incident closed — and screenshots of the review and analytics pages
in both languages, desktop and phone."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
import time_machine

from crisisflow.incidents.models import Incident
from crisisflow.vocab import State
from tests.conftest import T0, Personas, install_plan, make_user
from tests.flows import report, walk_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit(page, button) -> None:
    with page.expect_navigation():
        button.click()


def personas() -> Personas:
    return Personas(
        commander=make_user("commander", "commander"),
        pr_lead=make_user("prlead", "pr"),
        pr_member=make_user("prmember", "pr", rank="backup"),
        legal=make_user("legal", "legal"),
        cs=make_user("cs", "customer_service"),
        executive=make_user("exec", "executive"),
        observer=make_user("observer", "observer"),
        outsider=make_user("outsider"),
    )


def test_a_review_is_written_signed_off_exported_and_the_incident_closed(live_server, signed_in, artifacts, tmp_path):
    people = personas()
    install_plan()
    # Reported 30 min after the outbreak; the first statement (the publish step) 3 h
    # after it: the golden 4 hours met with 1 h to spare.
    with time_machine.travel(T0, tick=False) as traveller:
        incident = report(people, detected_at=T0 - timedelta(minutes=30))
        incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
        traveller.move_to(T0 + timedelta(hours=2, minutes=30))
        incident = walk_to(people, incident, State.IN_REVIEW)
    for task in incident.tasks.filter(status__in=["open", "in_progress", "blocked"]):
        from crisisflow.incidents import actions

        actions.skip_task(people.commander, task, "not needed")
    url = f"{live_server.url}/incidents/{incident.reference}/review/"

    page = signed_in(people.commander)
    page.goto(url)
    assert "met, 1 h 00 min to spare" in page.locator("#figure-golden_hours").inner_text()
    page.select_option("#id_speed_rating", "4")
    page.fill("#id_speed_evidence", "Holding statement 3 h after the outbreak")
    page.fill("#id_went_well", "Legal reviewed the holding statement within the hour.")
    page.fill("#id_root_cause", "支付网关证书过期，监控没有覆盖证书有效期。")
    page.select_option("#id_root_cause_origin", "internal")
    page.fill("#id_why_1", "Payments failed because the certificate expired.")
    submit(page, page.get_by_role("button", name="Save the review"))
    assert "Review saved." in page.content()
    submit(page, page.locator("#sign-commander"))

    for person, role in ((people.pr_lead, "pr"), (people.legal, "legal"), (people.executive, "executive")):
        tab = signed_in(person)
        tab.goto(url)
        submit(tab, tab.locator(f"#sign-{role}"))
        assert "Signed off." in tab.content()

    page.goto(url)
    assert page.locator("#sign-offs .badge.ok").count() == 4
    with page.expect_download() as download:
        page.locator("#download-pdf").click()
    pdf = tmp_path / "review.pdf"
    download.value.save_as(pdf)
    text = " ".join(
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split()
    )
    assert "Golden hours" in text and "met, 1 h 00 min to spare" in text
    assert "支付网关证书过期" in text

    page.goto(f"{live_server.url}/incidents/{incident.reference}/")
    submit(page, page.locator('button[data-step="close"]'))
    assert Incident.objects.get(pk=incident.pk).state == State.CLOSED

    artifacts.mkdir(parents=True, exist_ok=True)
    for language in ("en", "zh-hans"):
        for name, width in (("desktop", 1280), ("phone", 375)):
            tab = signed_in(people.commander, language, {"width": width, "height": 900})
            for what, address in (("review", url), ("analytics", f"{live_server.url}/analytics/")):
                tab.goto(address)
                assert tab.evaluate("document.documentElement.scrollWidth") <= width + 1, (what, language, name)
                tab.screenshot(path=str(artifacts / f"{what}-{language}-{name}.png"), full_page=True)
