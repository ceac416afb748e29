"""Publishing: only an approved version, per channel, frozen once out, corrections; the
first public statement stops the golden clock and completes its playbook task; the
info_published step waits for it and cannot be ticked around."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crisisflow.incidents import actions, golden_clock
from crisisflow.incidents.errors import Blocked, Conflict, Forbidden, Invalid
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describe
from crisisflow.statements import approvals, publishing
from crisisflow.statements.models import Publication, StatementState
from crisisflow.vocab import State
from tests.conftest import SMALL_PLAN, T0, install_plan
from tests.flows import finish, finish_gating, report, walk_to
from tests.statements_helpers import HOLDING_EN, approve_all, edit, on_team, publish_approved, write

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
CORRECTED = HOLDING_EN.replace("1,200,000", "1,240,000")
M = timedelta(minutes=1)


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        return walk_to(people, report(people, detected_at=T0), State.TEAM_ASSEMBLED)


def test_only_an_approved_version_is_published(people, incident):
    statement = write(people.pr_lead, incident)
    with pytest.raises(Blocked):
        publish_approved(people, statement)
    statement = approvals.request_approval(people.pr_lead, statement, expected_version=statement.version)
    approvals.approve(people.legal, statement, role="legal", expected_version=statement.version)
    with pytest.raises(Blocked):  # PR has not approved yet
        publish_approved(people, statement)
    assert not Publication.objects.exists()


def test_publishing_records_channel_location_who_and_when_per_channel(people, incident):
    statement = approve_all(people, write(people.pr_lead, incident))
    with time_machine.travel(T0 + H, tick=False):
        first = publish_approved(people, statement, "website", "https://example.com/n/1")
        second = publish_approved(people, statement, "weibo", "weibo-post-4711")
    assert (first.channel, first.location, first.published_by, first.published_at) == (
        "website",
        "https://example.com/n/1",
        people.commander,
        T0 + H,
    )
    assert second.content_hash == first.content_hash == statement.current.content_hash
    statement.refresh_from_db()
    assert statement.state == StatementState.PUBLISHED and statement.first_published_at == T0 + H
    with pytest.raises(Conflict):
        publish_approved(people, statement, "weibo")
    with pytest.raises(Invalid) as err:
        publish_approved(people, statement, "sms")
    assert err.value.field == "channel"


def test_observers_and_outsiders_do_not_publish(people, incident):
    statement = approve_all(people, write(people.pr_lead, incident))
    with pytest.raises(Forbidden):
        publishing.publish(people.cs, statement, channel="website", expected_version=statement.version)


def test_a_correction_is_a_new_version_saying_what_changed(people, incident):
    statement = approve_all(people, write(people.pr_lead, incident))
    published = publish_approved(people, statement)
    with pytest.raises(Invalid) as err:  # the published version is frozen: only a correction
        edit(people.pr_lead, statement, CORRECTED)
    assert err.value.field == "correction_note"
    edit(people.pr_lead, statement, CORRECTED, correction_note="Affected users: 1,240,000")
    with pytest.raises(Blocked):  # the correction is approved like any version
        publish_approved(people, statement)
    approve_all(people, statement)
    correction = publish_approved(people, statement)
    assert correction.is_correction and correction.content_hash != published.content_hash
    event = Event.objects.filter(kind=publishing.CORRECTED).get()
    assert "Affected users: 1,240,000" in describe(event)
    assert Publication.objects.filter(is_correction=False).count() == 1
    published.refresh_from_db()
    assert published.statement_version.body == HOLDING_EN  # what went out first is kept as it was


def test_the_first_public_statement_stops_the_clock_met_by_how_much(people, incident):
    statement = approve_all(people, write(people.pr_lead, incident))
    with time_machine.travel(T0 + 3 * H + 20 * M, tick=False):
        publish_approved(people, statement)
        result = golden_clock.outcome(Incident.objects.get(pk=incident.pk), T0 + 8 * H)
        assert publishing.outcome_words(Incident.objects.get(pk=incident.pk)) == "met, 40 min to spare"
    assert (result.state, result.margin) == ("met", 40 * M)
    incident.refresh_from_db()
    assert incident.first_statement_at == T0 + 3 * H + 20 * M and incident.clock_next_alert_at is None
    event = Event.objects.filter(kind=publishing.PUBLISHED).get()
    assert event.data["first_statement"] is True and event.data["clock"] == "met"
    assert event.data["margin_seconds"] == 40 * 60
    assert "golden clock met" in describe(event)


def test_a_late_first_statement_says_missed_by_how_much(people, incident):
    statement = approve_all(people, write(people.pr_lead, incident))
    with time_machine.travel(T0 + 5 * H + 35 * M, tick=False):
        publish_approved(people, statement)
        assert publishing.outcome_words(Incident.objects.get(pk=incident.pk)) == "missed by 1 h 35 min"


def test_only_public_first_statement_kinds_stop_the_clock(people, incident):
    notice = approve_all(people, write(people.commander, incident, "internal_notice"))
    publish_approved(people, notice, "intranet")
    incident.refresh_from_db()
    assert incident.first_statement_at is None


def test_the_publication_completes_the_task_that_delivers_it(people, incident):
    task = incident.tasks.get(deliverable="holding_statement")
    statement = approve_all(people, write(people.pr_lead, incident))
    publication = publish_approved(people, statement)
    task.refresh_from_db()
    assert task.status == "done"
    event = Event.objects.filter(task=task, kind=Event.Kind.TASK).last()
    assert event.data["delivered"]["publication"] == publication.pk
    assert describe(event) == "“Holding statement”: Open → Done — delivered: published on website"


def test_the_publish_step_waits_for_a_published_statement(people, incident):
    finish_gating(people, incident, State.INFO_PUBLISHED)  # the commander ticks everything
    with pytest.raises(Blocked) as err:
        actions.publish_information(people.commander, incident.pk)
    assert "no approved first public statement" in str(err.value)
    incident.refresh_from_db()
    assert incident.first_statement_at is None


def test_skipping_the_statement_task_neither_stops_the_clock_nor_opens_the_gate(people, incident):
    task = incident.tasks.get(deliverable="holding_statement")
    finish(people, incident.tasks.get(key="legal-review"))
    actions.skip_task(people.commander, task, "we said it on the phone")
    with pytest.raises(Blocked):
        actions.publish_information(people.commander, incident.pk)
    incident.refresh_from_db()
    assert incident.first_statement_at is None and incident.clock_next_alert_at is not None


def test_with_the_statement_out_the_step_goes_through_and_the_clock_stays_as_published(people, incident):
    statement = approve_all(people, write(people.pr_lead, incident))
    with time_machine.travel(T0 + 2 * H, tick=False):
        publish_approved(people, statement)
    finish_gating(people, incident, State.INFO_PUBLISHED)
    with time_machine.travel(T0 + 6 * H, tick=False):
        incident = actions.publish_information(people.commander, incident.pk)
    assert incident.state == State.INFO_PUBLISHED
    assert incident.first_statement_at == T0 + 2 * H


def test_the_playbook_may_ask_for_the_internal_notice_first(people, plan):
    install_plan({**SMALL_PLAN, "statements": {"internal_notice_first": True}})
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    statement = approve_all(people, write(people.pr_lead, incident))
    with pytest.raises(Blocked) as err:
        publish_approved(people, statement)
    assert "internal notice" in str(err.value)
    notice = approve_all(people, write(people.commander, incident, "internal_notice"))
    publish_approved(people, notice, "intranet")
    publish_approved(people, statement)
    finish_gating(people, incident, State.INFO_PUBLISHED)
    assert actions.publish_information(people.commander, incident.pk).state == State.INFO_PUBLISHED


def test_on_critical_incidents_the_executive_approves_too(people, plan):
    incident = walk_to(people, report(people, severity="critical"), State.TEAM_ASSEMBLED)
    statement = write(people.pr_lead, incident)
    assert approvals.required_roles(statement) == ["pr", "legal", "executive"]
    on_team(people, incident, "executive")
    statement = approve_all(people, statement)
    assert statement.state == StatementState.APPROVED
