"""The timeline: one append-only row per change, chained by hashes, verifiable."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy
from rest_framework.test import APIClient

from crisisflow.evidence import actions as evidence
from crisisflow.incidents import actions, append_only
from crisisflow.incidents.models import AppendOnlyError, Event, Incident, TimelineHead
from crisisflow.incidents.timeline import describe, describes, record, unregister, verify
from crisisflow.vocab import State
from tests.conftest import make_user
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan) -> Incident:
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    actions.add_note(people.pr_lead, incident, "Weibo topic at #7, mostly asking about refunds")
    return incident


def test_events_cannot_be_changed_or_deleted_through_the_orm(incident):
    event = incident.events.first()
    event.data = {"title": "rewritten history"}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(incident=incident).update(data={})
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(incident=incident).delete()
    with pytest.raises(AppendOnlyError):
        incident.events.all().delete()
    assert verify(incident) is None


def test_incidents_with_a_timeline_cannot_be_deleted(incident):
    from django.db.models import ProtectedError

    with pytest.raises((ProtectedError, AppendOnlyError)):
        incident.delete()


def test_the_admin_offers_no_way_to_edit_or_delete_events(incident, people):
    request = RequestFactory().get("/admin/")
    request.user = people.commander
    people.commander.is_superuser = people.commander.is_staff = True
    model_admin = site._registry[Event]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, incident.events.first())
    assert not model_admin.has_delete_permission(request, incident.events.first())


def test_every_event_links_to_the_one_before(incident):
    events = list(incident.events.order_by("seq"))
    assert events[0].prev_hash == "0" * 64
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
        assert after.hash == after.compute_hash()


def test_each_event_says_who_did_what_in_words(incident, people):
    lines = [describe(e) for e in incident.events.order_by("seq")]
    assert lines[0] == "Reported “Payments down in East China”"
    assert lines[1] == "Reported → Confirmed"
    assert lines[2].startswith("Confirmed → Plan activated — plan “Small outage plan” v1, 6 tasks")
    assert lines[-1] == "Weibo topic at #7, mostly asking about refunds"
    note = incident.events.order_by("seq").last()
    assert (note.kind, note.actor) == ("note", people.pr_lead)


def tamper(sql: str, params: list) -> None:
    """What only someone allowed to change the schema can do: lift the database's
    triggers (test_incidents__append_only.py), change rows, put the triggers back."""
    append_only.uninstall(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        append_only.install(connection)


def test_the_head_follows_every_event(incident):
    head = TimelineHead.objects.get(incident=incident)
    last = incident.events.order_by("seq").last()
    assert (head.seq, head.hash) == (last.seq, last.hash)
    actions.add_note(incident.commander, incident, "One more")
    head.refresh_from_db()
    assert (head.seq, head.hash) == (last.seq + 1, incident.events.get(seq=last.seq + 1).hash)


def test_verify_timeline_finds_a_row_changed_in_the_database(incident):
    target = incident.events.get(seq=3)
    tamper("UPDATE incidents_event SET data = %s WHERE id = %s", ['{"from": "x", "to": "y"}', target.pk])
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 1 timelines are broken"):
        call_command("verify_timeline", stdout=out)
    assert out.getvalue().strip() == (
        f"BROKEN {incident.reference}: event #3: content does not match its hash (changed after writing)"
    )


def test_verify_timeline_finds_a_deleted_row(incident):
    tamper("DELETE FROM incidents_event WHERE incident_id = %s AND seq = 2", [incident.pk])
    problem = verify(incident)
    assert str(problem) == f"{incident.reference}: event #2: missing (next present is #3)"


def test_verify_timeline_finds_the_last_event_deleted(incident):
    last = incident.events.order_by("seq").last().seq
    tamper("DELETE FROM incidents_event WHERE incident_id = %s AND seq = %s", [incident.pk, last])
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 1 timelines are broken"):
        call_command("verify_timeline", stdout=out)
    assert out.getvalue().strip() == (
        f"BROKEN {incident.reference}: event #{last}: missing (the timeline ends at #{last - 1}; #{last} was written)"
    )


def test_verify_timeline_finds_every_event_deleted(incident, people):
    report(people, title="Another")
    written = incident.events.count()
    tamper("DELETE FROM incidents_event WHERE incident_id = %s", [incident.pk])
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 timelines are broken"):
        call_command("verify_timeline", stdout=out)
    assert out.getvalue().strip() == (
        f"BROKEN {incident.reference}: event #1: missing (no events are left; #{written} was written)"
    )


def test_verify_timeline_finds_a_rewritten_last_event(incident):
    # The last event has no successor whose link would break: the head's hash shows it.
    last = incident.events.order_by("seq").last()
    forged = Event(
        incident=incident,
        seq=last.seq,
        at=last.at,
        actor=last.actor,
        kind=last.kind,
        data={"text": "Nothing to see here"},
        prev_hash=last.prev_hash,
    )
    tamper(
        "UPDATE incidents_event SET data = %s, hash = %s WHERE id = %s",
        ['{"text": "Nothing to see here"}', forged.compute_hash(), last.pk],
    )
    assert str(verify(incident)) == (
        f"{incident.reference}: event #{last.seq}: is not the event that was written last "
        "(its hash differs from the head's)"
    )


def test_verify_timeline_finds_an_event_added_behind_the_apps_back(incident):
    last = incident.events.order_by("seq").last()
    extra = Event(incident=incident, seq=last.seq + 1, at=last.at, kind="note", data={"text": "x"}, prev_hash=last.hash)
    extra.hash = extra.compute_hash()
    tamper(
        "INSERT INTO incidents_event (incident_id, seq, at, kind, data, prev_hash, hash) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [incident.pk, extra.seq, last.at, "note", '{"text": "x"}', extra.prev_hash, extra.hash],
    )
    assert str(verify(incident)) == (
        f"{incident.reference}: event #{extra.seq}: not written by the app (the timeline's head is #{last.seq})"
    )


def test_verify_timeline_finds_a_rehashed_forgery(incident):
    # Someone rewrites a row and recomputes its own hash: the next event no longer links.
    target = incident.events.get(seq=2)
    forged = Event(
        incident=incident,
        seq=2,
        at=target.at,
        actor=target.actor,
        kind=target.kind,
        data={"from": "reported", "to": "dismissed"},
        prev_hash=target.prev_hash,
    )
    tamper(
        "UPDATE incidents_event SET data = %s, hash = %s WHERE id = %s",
        ['{"from": "reported", "to": "dismissed"}', forged.compute_hash(), target.pk],
    )
    assert str(verify(incident)) == f"{incident.reference}: event #3: does not link to the event before it"


def test_verify_timeline_passes_intact_timelines(incident, people):
    report(people, title="Another")
    out = StringIO()
    call_command("verify_timeline", stdout=out)
    assert out.getvalue().strip() == "2 timelines intact"


def test_every_kind_of_change_reads_as_a_sentence(people, plan, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    c = people.commander
    actions.update_scope(c, incident, affected_users=30000, personal_data=True)
    actions.change_severity(c, incident, "critical", "trending")
    actions.add_team_member(c, incident, people.pr_member, "pr")
    task = incident.tasks.get(key="exec-letter")
    actions.assign_task(c, task, people.pr_member)
    actions.block_task(c, task, "waiting for the CEO")
    actions.unblock_task(c, task)
    holding = incident.tasks.get(key="holding-statement")
    actions.start_task(c, holding)
    actions.tick_checklist(c, holding, 0, True)
    other = make_user("commander2", "commander")
    actions.hand_over_command(c, incident, other)
    actions.add_note(other, incident, "Taking over for the night shift")
    actions.add_task_comment(other, task, "The CEO lands at 18:00")
    evidence.attach(other, incident, SimpleUploadedFile("post.txt", b"trending #3"), "Top post")
    actions.assign_task(other, task, people.pr_lead)  # their open work goes back first
    actions.remove_team_member(other, incident.team.get(user=people.pr_member, role="pr").pk)
    lines = [describe(e) for e in incident.events.order_by("seq")]
    # Every kind a person causes (alerts and delivery failures come from the deadline engine).
    assert set(incident.events.values_list("kind", flat=True)) == {k.value for k in Event.Kind} - {"alert", "delivery"}
    assert "Scope updated: estimated affected users: — → 30000; personal data involved: no → yes" in lines
    assert "Severity High → Critical — trending" in lines
    assert "Prmember joined as PR" in lines
    assert "“Exec letter”: Prlead → Prmember" in lines
    assert "“Exec letter”: In progress → Blocked — waiting for the CEO" not in lines  # it was open
    assert "“Exec letter”: Open → Blocked — waiting for the CEO" in lines
    assert "“Exec letter”: Blocked → Open" in lines
    assert "“Holding statement”: ☑ Apologise" in lines
    assert "Commander: Commander → Commander2" in lines
    assert "Prmember left PR" in lines
    assert "On “Exec letter”: The CEO lands at 18:00" in lines
    assert any(line.startswith("Evidence attached: “post.txt” (11\xa0bytes, SHA-256 ") for line in lines)


# --- describers: a new kind of event plugs in from outside ---------------------------------------


@pytest.fixture
def statement_approved():
    """What a later app (statements) does from its ready(): register its own kind."""

    @describes("statement_ok", label=gettext_lazy("Statement approved"))
    def approved(event):
        return f"Statement “{event.data['title']}” approved by Legal"

    yield approved
    unregister("statement_ok")


def write_event(incident, actor, kind: str, data: dict) -> Event:
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        return record(locked, actor, kind, data)


def test_a_new_kind_reads_in_its_own_words_in_the_room_and_the_api(incident, people, statement_approved, browse):
    write_event(incident, people.legal, "statement_ok", {"title": "Holding statement"})
    page = browse(people.commander).get(reverse("incident-detail", args=[incident.reference]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Statement “Holding statement” approved by Legal" in html
    assert "Statement approved" in html  # the kind's own name beside the line

    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(people.commander)
    events = client.get(f"/api/incidents/{incident.reference}/timeline/").data
    assert (events[-1]["kind"], events[-1]["text"]) == (
        "statement_ok",
        "Statement “Holding statement” approved by Legal",
    )
    assert verify(incident) is None


def test_an_unknown_or_unreadable_event_reads_as_its_kind(incident, people, statement_approved, caplog):
    unknown = write_event(incident, people.legal, "retired_kind", {"whatever": 1})
    assert describe(unknown) == "Other event (retired_kind)"
    broken = write_event(incident, people.legal, "statement_ok", {"no title": "written by an old version"})
    assert describe(broken) == "Statement approved"
    assert "cannot describe timeline event" in caplog.text
    transition = incident.events.get(seq=2)
    transition.data = {}
    assert describe(transition) == "Stage change"
    with translation.override("zh-hans"):
        assert describe(unknown) == "其他事件（retired_kind）"


def test_a_kind_is_described_once(statement_approved):
    with pytest.raises(ImproperlyConfigured, match="already described by"):
        describes("statement_ok")(lambda event: "another wording")
    with pytest.raises(ImproperlyConfigured, match="1 to 32 characters"):
        describes("a_kind_name_much_longer_than_the_column")
    describes("statement_ok")(statement_approved)  # the same function again is fine


def test_record_many_writes_the_chain_record_would_and_moves_every_head_once(people, plan, django_assert_num_queries):
    """Several incidents' events at once, interleaved: each incident's events follow on
    from its head in the order given, the heads end on the last ones, and verify() finds
    nothing to say; three statements, however many events."""
    from crisisflow.incidents.timeline import Entry, record_many

    first, second = report(people), report(people, title="Card payments failing")
    before = {i.pk: TimelineHead.objects.get(incident=i).seq for i in (first, second)}
    with transaction.atomic():
        locked = list(Incident.objects.select_for_update().filter(pk__in=[first.pk, second.pk]).order_by("pk"))
        entries = [Entry(locked[n % 2], people.commander, Event.Kind.NOTE, {"text": f"note {n}"}) for n in range(5)]
        with django_assert_num_queries(3):
            events = record_many(entries)
    assert [(e.incident_id, e.seq) for e in events] == [
        (first.pk, before[first.pk] + 1),
        (second.pk, before[second.pk] + 1),
        (first.pk, before[first.pk] + 2),
        (second.pk, before[second.pk] + 2),
        (first.pk, before[first.pk] + 3),
    ]
    for incident in (first, second):
        assert verify(incident) is None
        last = incident.events.order_by("-seq").first()
        assert TimelineHead.objects.filter(incident=incident, seq=last.seq, hash=last.hash).exists()
    # What record() appends next links onto the last of them.
    write_event(first, people.commander, Event.Kind.NOTE, {"text": "after"})
    assert verify(first) is None
    assert record_many([]) == []
