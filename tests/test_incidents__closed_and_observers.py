"""A closed incident takes no more notes, comments or evidence; observers hold no tasks;
a lead and a commander change through their own use cases; an evidence file whose
upload was rolled back does not stay on disk."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction

from crisisflow.evidence import actions as evidence
from crisisflow.evidence.cleanup import remove_orphan_files
from crisisflow.evidence.models import Attachment
from crisisflow.incidents import actions
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.models import Event
from crisisflow.vocab import Role, State
from tests.conftest import T0, make_user
from tests.flows import report, walk_to
from tests.test_evidence__attach import upload
from tests.test_evidence__sniff import png

pytestmark = pytest.mark.django_db


def test_a_closed_incident_refuses_notes_comments_and_evidence(people, plan):
    incident = walk_to(people, report(people), State.CLOSED)
    task = incident.tasks.first()
    events = Event.objects.filter(incident=incident).count()
    with pytest.raises(Invalid, match="This incident is Closed; it cannot be changed"):
        actions.add_note(people.commander, incident, "one more thing")
    with pytest.raises(Invalid, match="cannot be changed"):
        actions.add_task_comment(people.commander, task, "and this")
    with pytest.raises(Invalid, match="cannot be changed"):
        evidence.attach(people.commander, incident, upload(png()))
    assert Event.objects.filter(incident=incident).count() == events
    assert not Attachment.objects.exists()


def test_a_dismissed_incident_refuses_notes_too(people, plan):
    incident = report(people)
    incident = actions.dismiss_incident(people.commander, incident, "false alarm")
    with pytest.raises(Invalid, match="cannot be changed"):
        actions.add_note(people.cs, incident, "but wait")


def test_observers_hold_no_tasks(people, plan):
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    actions.add_team_member(people.commander, incident, people.observer, Role.OBSERVER)
    task = incident.tasks.filter(role=Role.LEGAL).first()
    with pytest.raises(Invalid, match="only observes this incident; observers hold no tasks") as refused:
        actions.assign_task(people.commander, task, people.observer)
    assert refused.value.field == "assignee"
    task.refresh_from_db()
    assert task.assignee_id != people.observer.pk
    # Someone who observes and also holds a working role may take work.
    actions.add_team_member(people.commander, incident, people.observer, Role.LEGAL)
    actions.assign_task(people.commander, task, people.observer)
    task.refresh_from_db()
    assert task.assignee_id == people.observer.pk


def test_making_a_lead_is_one_use_case_with_its_own_event_and_version(people, plan):
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    actions.add_team_member(people.commander, incident, people.pr_member, Role.PR)
    incident.refresh_from_db()
    version = incident.version
    actions.make_role_lead(people.commander, incident, people.pr_member, Role.PR, expected_version=version)
    incident.refresh_from_db()
    assert incident.version == version + 1
    leads = list(incident.team.filter(role=Role.PR, is_lead=True).values_list("user__username", flat=True))
    assert leads == ["prmember"]
    last = Event.objects.filter(incident=incident).order_by("-seq").first()
    assert last.data == {"change": "lead", "person": str(people.pr_member), "role": Role.PR}
    with pytest.raises(Invalid, match="is not in this role"):
        actions.make_role_lead(people.commander, incident, people.cs, Role.PR)


def test_handing_over_command_keeps_the_reason_and_refuses_a_no_op(people, plan):
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    deputy = make_user("deputy", Role.COMMANDER, rank="backup")
    actions.hand_over_command(people.commander, incident, deputy, reason="end of shift")
    incident.refresh_from_db()
    assert incident.commander == deputy
    event = Event.objects.filter(incident=incident, kind=Event.Kind.COMMANDER).get()
    assert event.data["reason"] == "end of shift"
    with pytest.raises(Invalid, match="already commands"):
        actions.hand_over_command(deputy, incident, deputy)


def test_an_evidence_file_whose_transaction_rolled_back_is_removed(people, plan, media):
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    kept = evidence.attach(people.commander, incident, upload(png()))

    class StepAfterFailed(Exception):
        pass

    with pytest.raises(StepAfterFailed), transaction.atomic():
        lost = evidence.attach(people.commander, incident, upload(png()))
        lost_path = lost.file.path
        raise StepAfterFailed
    assert os.path.exists(lost_path)  # no row names it any more
    assert not Attachment.objects.filter(file=lost.file.name).exists()

    # Too young to be sure no transaction still owns it: left alone.
    assert remove_orphan_files() == []
    with time_machine.travel(T0 + timedelta(days=400), tick=False):
        removed = remove_orphan_files()
    assert removed == [lost.file.name]
    assert not os.path.exists(lost_path)
    assert os.path.exists(kept.file.path)
