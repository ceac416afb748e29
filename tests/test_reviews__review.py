"""The review of one incident: opened on entering review, versioned, signed off by the
four roles on the version's hash, closing gated on it, action items on the deadline
engine, the playbook loop, share links, exports, and who may do what."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
import time_machine

from crisisflow import clock
from crisisflow.alerts.models import Notification
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents import actions
from crisisflow.incidents.errors import Blocked, Conflict, Forbidden, Invalid, NotFound
from crisisflow.playbooks.loader import load_playbooks
from crisisflow.reviews import use_cases
from crisisflow.reviews.models import Review
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, sign_off_review, walk_to

pytestmark = pytest.mark.django_db


def in_review(people, **kwargs):
    return walk_to(people, report(people, **kwargs), State.IN_REVIEW)


def ready_to_close(people, incident):
    for task in incident.tasks.filter(status__in=["open", "in_progress", "blocked"]):
        actions.skip_task(people.commander, task, "not needed")


def test_the_review_opens_when_the_incident_enters_review_and_only_once(people, plan):
    incident = walk_to(people, report(people), State.REMEDIATING)
    assert not Review.objects.filter(incident=incident).exists()
    incident = walk_to(people, incident, State.IN_REVIEW)
    review = Review.objects.get(incident=incident)
    assert review.version == 0
    actions.reopen_incident(people.commander, incident, "new facts")
    incident.refresh_from_db()
    incident = walk_to(people, incident, State.IN_REVIEW)
    assert Review.objects.filter(incident=incident).count() == 1


def test_closing_waits_for_a_review_signed_off_on_its_current_version(people, plan):
    incident = in_review(people)
    ready_to_close(people, incident)
    with pytest.raises(Blocked) as err:
        actions.close_incident(people.commander, incident)
    assert err.value.blockers == ["the review has not been written"]
    review = use_cases.save_review(people.commander, incident, {"went_well": "fast"}, expected_version=0)
    use_cases.sign_off(people.commander, incident, "commander", expected_version=review.version)
    use_cases.sign_off(people.pr_lead, incident, "pr", expected_version=review.version)
    with pytest.raises(Blocked) as err:
        actions.close_incident(people.commander, incident)
    assert err.value.blockers == ["the review is not signed off by: Legal, Executive sponsor"]
    use_cases.sign_off(people.legal, incident, "legal", expected_version=review.version)
    use_cases.sign_off(people.executive, incident, "executive", expected_version=review.version)
    # An edit voids every sign-off: they were bound to the old version's hash.
    review = use_cases.save_review(
        people.commander, incident, {"went_well": "fast", "lucky": "a quiet news day"}, expected_version=1
    )
    assert use_cases.missing_sign_offs(review) == ["commander", "pr", "legal", "executive"]
    assert incident.events.last().data["voided"] == ["commander", "pr", "legal", "executive"]
    sign_off_review(people, incident)
    incident = actions.close_incident(people.commander, incident)
    assert incident.state == State.CLOSED


def test_a_stale_form_is_refused_naming_who_changed_the_review(people, plan):
    incident = in_review(people)
    use_cases.save_review(people.pr_lead, incident, {"went_well": "x"}, expected_version=0)
    with pytest.raises(Conflict) as err:
        use_cases.save_review(people.commander, incident, {"went_badly": "y"}, expected_version=0)
    assert "Prlead" in str(err.value)


def test_bad_review_input_names_the_field(people, plan):
    incident = in_review(people)
    with pytest.raises(Invalid) as err:
        use_cases.save_review(people.commander, incident, {"ratings": {"speed": {"rating": 9}}}, expected_version=0)
    assert err.value.field == "speed_rating"
    with pytest.raises(Invalid) as err:
        use_cases.save_review(people.commander, incident, {"five_whys": ["ok", "bad\x00"]}, expected_version=0)
    assert err.value.field == "why_2"
    with pytest.raises(Invalid) as err:
        use_cases.save_review(people.commander, incident, {"root_cause_origin": "aliens"}, expected_version=0)
    assert err.value.field == "root_cause_origin"


@pytest.mark.parametrize(
    "persona,role,allowed",
    [
        ("commander", "commander", True),
        ("pr_lead", "pr", True),
        ("pr_member", "pr", False),  # PR signs through its lead
        ("legal", "legal", True),
        ("executive", "executive", True),
        ("commander", "legal", False),  # the commander never signs in another role's place
        ("observer", "executive", False),
        ("outsider", "commander", False),
    ],
)
def test_who_signs_off_in_which_role(people, plan, persona, role, allowed):
    incident = in_review(people)
    actions.add_team_member(people.commander, incident, people.pr_member, "pr")
    review = use_cases.save_review(people.commander, incident, {"went_well": "x"}, expected_version=0)
    signer = getattr(people, persona)
    if allowed:
        use_cases.sign_off(signer, incident, role, expected_version=review.version)
    else:
        with pytest.raises(Forbidden):
            use_cases.sign_off(signer, incident, role, expected_version=review.version)


@pytest.mark.parametrize(
    "persona,allowed",
    [("commander", True), ("legal", True), ("pr_lead", True), ("observer", False), ("outsider", False)],
)
def test_who_edits_the_review(people, plan, persona, allowed):
    incident = in_review(people)
    actions.add_team_member(people.commander, incident, people.observer, "observer")
    if allowed:
        use_cases.save_review(getattr(people, persona), incident, {"went_well": "x"}, expected_version=0)
    else:
        with pytest.raises(Forbidden):
            use_cases.save_review(getattr(people, persona), incident, {"went_well": "x"}, expected_version=0)


def test_a_restricted_incidents_review_is_not_found_for_outsiders(people, plan, browse):
    incident = in_review(people, restricted=True)
    with pytest.raises(NotFound):
        use_cases.save_review(people.outsider, incident, {"went_well": "x"}, expected_version=0)
    assert browse(people.outsider).get(f"/incidents/{incident.reference}/review/").status_code == 404
    assert browse(people.commander).get(f"/incidents/{incident.reference}/review/").status_code == 200


def test_action_items_are_reminded_and_escalated_after_the_incident_closes(people, plan):
    with time_machine.travel(T0, tick=False) as traveller:
        incident = in_review(people)
        ready_to_close(people, incident)
        item = use_cases.add_action_item(
            people.commander,
            incident,
            title="Drill the holding statement with Legal",
            kind="training",
            owner=people.pr_lead.username,
            due_at=T0 + timedelta(days=10),
        )
        sign_off_review(people, incident)
        actions.close_incident(people.commander, incident)
        traveller.move_to(T0 + timedelta(days=9, hours=1))
        sweep()
        assert Notification.objects.filter(recipient=people.pr_lead, kind="reminder", incident=incident).exists()
        traveller.move_to(T0 + timedelta(days=11, hours=1))
        sweep()  # the "due" rung
        sweep()  # and the escalation, a day later, already due
        assert Notification.objects.filter(recipient=people.commander, kind="escalation", incident=incident).exists()
    item.refresh_from_db()
    assert item.alert_step == 3 and item.next_alert_at is None
    assert incident.events.filter(kind="action_item_alert").count() == 3
    use_cases.finish_action_item(people.pr_lead, item, "done", expected_version=item.version)
    item.refresh_from_db()
    assert item.status == "done"


def test_a_playbook_change_names_the_playbook_and_shows_its_newer_version(people, plan, tmp_path, browse):
    from pathlib import Path

    source = Path("playbooks/service_outage.yaml")
    incident = in_review(people)  # on the small test plan
    load_playbooks([source])
    item = use_cases.add_action_item(
        people.commander,
        incident,
        title="Assess the impact before collecting more signals",
        kind="playbook",
        owner=people.commander,
        due_at=clock.now() + timedelta(days=14),
        playbook_key="service-outage",
        task_key="assess-impact",
    )
    assert (item.playbook_version, use_cases.newer_playbook(item)) == (1, None)
    with pytest.raises(Invalid) as err:
        use_cases.add_action_item(
            people.commander,
            incident,
            title="x",
            kind="playbook",
            owner=people.commander,
            due_at=clock.now() + timedelta(days=1),
            playbook_key="service-outage",
            task_key="nope",
        )
    assert err.value.field == "task_key"
    changed = tmp_path / "service_outage.yaml"
    changed.write_text(source.read_text().replace("restore quickly", "restore quickly, assess first"))
    load_playbooks([changed])
    assert use_cases.newer_playbook(item) == 2
    page = browse(people.commander).get(f"/incidents/{incident.reference}/review/")
    assert "version 2 loaded since" in page.content.decode()


def test_the_share_link_reads_the_review_until_it_expires(people, plan, client):
    with time_machine.travel(T0, tick=False) as traveller:
        incident = in_review(people)
        use_cases.save_review(
            people.commander, incident, {"went_well": "The apology went out fast"}, expected_version=0
        )
        with pytest.raises(Forbidden):
            use_cases.share_review(people.legal, incident, days=3)
        _link, token = use_cases.share_review(people.executive, incident, days=3)
        page = client.get(f"/shared/reviews/{token}/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "The apology went out fast" in body and "/review/edit/" not in body and "/review/sign/" not in body
        traveller.move_to(T0 + timedelta(days=3, seconds=1))
        assert client.get(f"/shared/reviews/{token}/").status_code == 404
    assert client.get("/shared/reviews/not-a-token-at-all-no/").status_code == 404


def test_exports_carry_the_same_content_and_the_pdf_the_golden_hour_figure(people, plan, tmp_path):
    from django.core.management import call_command

    incident = in_review(people)
    use_cases.save_review(
        people.commander,
        incident,
        {"root_cause": "支付网关证书过期", "root_cause_origin": "internal"},
        expected_version=0,
    )
    md, pdf = tmp_path / "r.md", tmp_path / "r.pdf"
    call_command("export_review", incident.reference, "--format", "md", "--output", str(md))
    call_command("export_review", incident.reference, "--format", "pdf", "--output", str(pdf))
    text = md.read_text()
    assert "Golden hours" in text and "met," in text and "支付网关证书过期" in text
    assert pdf.read_bytes().startswith(b"%PDF")
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(out.split())
    assert "Golden hours" in flat and "met," in flat
    assert "支付网关证书过期" in flat  # the Chinese font is embedded


def test_blame_rules_of_the_statement_linter_give_hints_over_the_review_text(people, plan, browse):
    incident = in_review(people)
    use_cases.save_review(
        people.commander,
        incident,
        {"went_badly": "客服回复说是用户操作不当。", "why_1": "We restored payments in 2 hours."},
        expected_version=0,
    )
    review = Review.objects.get(incident=incident)
    hints = use_cases.blameless_hints(review.content)
    assert [(h["field"], h["code"], h["excerpt"]) for h in hints] == [("went_badly", "blame_shifting", "用户操作不当")]
    page = browse(people.commander).get(f"/incidents/{incident.reference}/review/").content.decode()
    assert "Blameless review" in page and "用户操作不当" in page


def test_the_review_page_forms_save_and_sign(people, plan, browse):
    incident = in_review(people)
    url = f"/incidents/{incident.reference}/review/"
    client = browse(people.commander)
    page = client.post(
        url + "edit/", {"version": 0, "speed_rating": "4", "speed_evidence": "Statement at 3 h", "went_well": "Fast"}
    )
    assert page.status_code == 302
    refused = client.post(url + "edit/", {"version": 0, "went_well": "stale"})
    assert refused.status_code == 409
    bad = client.post(url + "edit/", {"version": 1, "speed_rating": "7"})
    assert bad.status_code == 400 and "Rate from 1 to 5." in bad.content.decode()
    assert client.post(url + "sign/", {"version": 1, "role": "commander"}).status_code == 302
    assert browse(people.legal).post(url + "sign/", {"version": 1, "role": "commander"}).status_code == 403
    md = client.get(url + "export.md")
    assert md.status_code == 200 and b"Statement at 3 h" in md.content
    assert client.get(url + "export.pdf")["Content-Type"] == "application/pdf"
    assert client.get(url + "export.exe").status_code == 404
