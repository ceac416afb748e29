"""The fact sheet: versioned, validated with the field's path, conflicts name who
saved in between, and the linter gets its facts (the incident's scope included)."""

from __future__ import annotations

import pytest
import time_machine

from crisisflow.incidents.errors import Conflict, Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Event
from crisisflow.incidents.timeline import describe
from crisisflow.statements import facts
from crisisflow.statements.models import FactSheetVersion, VersionIsImmutable
from tests.conftest import T0
from tests.statements import sheet, team_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        return team_incident(people)


def test_each_save_is_a_new_immutable_version_with_its_hash(people, incident):
    with time_machine.travel(T0, tick=False):
        first = facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
        second = facts.save_fact_sheet(
            people.commander,
            incident,
            sheet(
                cause={
                    "status": "known",
                    "text": "A failed database upgrade.",
                    "confirmed": True,
                    "by": "tech_security",
                }
            ),
            expected_version=1,
        )
    assert (first.number, second.number) == (1, 2)
    assert first.content_hash != second.content_hash and len(second.content_hash) == 64
    assert first.author == people.pr_lead and second.author == people.commander
    assert facts.sheet_content(incident)["sections"]["cause"]["status"] == "known"
    assert FactSheetVersion.objects.get(pk=first.pk).content["sections"]["cause"]["status"] == "under_investigation"
    event = Event.objects.filter(incident=incident, kind="fact_sheet_saved").last()
    assert event.data["version"] == 2 and event.data["sections"] == ["cause"]
    assert describe(event) == "Fact sheet v2 saved: 7 confirmed, 2 unconfirmed facts — changed: Cause"


def test_saving_the_same_content_writes_nothing(people, incident):
    first = facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
    again = facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=1)
    assert again.pk == first.pk
    assert Event.objects.filter(incident=incident, kind="fact_sheet_saved").count() == 1


def test_a_save_from_an_old_version_is_refused_naming_who_saved(people, incident):
    facts.save_fact_sheet(people.legal, incident, sheet(), expected_version=0)
    with pytest.raises(Conflict, match="changed by Legal \\(version 1\\)") as refused:
        facts.save_fact_sheet(people.pr_lead, incident, sheet(what={"text": "Other"}), expected_version=0)
    assert refused.value.field == "version"
    assert FactSheetVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"next": [{"text": "a", "due": "2026-03-05"}, {"text": "b", "due": "2026-03-06"}, {"text": "c"}]},
            "sections.next[2].due",
            "Give the date this will be done by",
        ),
        ({"next": [{"text": "a", "due": "5 March"}]}, "sections.next[0].due", "YYYY-MM-DD"),
        ({"what": {"text": "x", "confirmed": True}}, "sections.what.by", "Say which role confirmed"),
        ({"what": {"text": "x", "confirmed": True, "by": "intern"}}, "sections.what.by", "Unknown role"),
        ({"cause": {"status": "known", "text": ""}}, "sections.cause.text", "Describe the cause"),
        ({"cause": {"status": "maybe"}}, "sections.cause.status", "known or under investigation"),
        ({"help": {"email": "not an address"}}, "sections.help.email", "e-mail address"),
        ({"help": {"page": "javascript:alert(1)"}}, "sections.help.page", "https://"),
        ({"qa": [{"question": "q", "answer": "a\u202e"}]}, "sections.qa[0].answer", "right-to-left"),
        ({"done": "all of it"}, "sections.done", "Give a list"),
        ({"when": {"outbreak": {"at": "2126-01-01T00:00:00+00:00"}}}, "sections.when.outbreak.at", "in the future"),
        ({"when": {"outbreak": {"at": "yesterday"}}}, "sections.when.outbreak.at", "date and time"),
        ({"mood": {}}, "sections.mood", "Unknown section"),
    ],
)
def test_bad_content_is_refused_naming_the_field_path(people, incident, change, field, message):
    with pytest.raises(Invalid, match=message) as refused:
        facts.save_fact_sheet(people.pr_lead, incident, sheet(**change), expected_version=0)
    assert refused.value.field == field
    assert not FactSheetVersion.objects.exists()


def test_a_new_sheet_is_prefilled_with_the_incidents_times(people, incident):
    blank = facts.content_or_blank(incident)
    assert blank["sections"]["when"]["outbreak"]["at"] == incident.detected_at.isoformat()
    assert blank["sections"]["when"]["discovery"]["at"] == incident.reported_at.isoformat()
    # It saves as it is.
    facts.save_fact_sheet(people.pr_lead, incident, blank, expected_version=0)


def test_observers_and_outsiders_cannot_edit(people, incident):
    with pytest.raises(Forbidden):
        facts.save_fact_sheet(people.observer, incident, sheet(), expected_version=0)
    incident.restricted = True
    incident.save(update_fields=["restricted"])
    with pytest.raises(NotFound):
        facts.save_fact_sheet(people.outsider, incident, sheet(), expected_version=0)


def test_fact_refs_hold_the_sheet_and_the_incidents_scope_as_confirmed(people, incident):
    facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
    refs = {ref.section: ref for ref in facts.fact_refs(incident)}
    assert refs["scope.affected_users"].text == "1200000" and refs["scope.affected_users"].confirmed
    assert refs["scope.regions"].text == "East China"
    assert refs["what"].confirmed and refs["what"].text.startswith("Payments failed")
    assert not refs["who"].confirmed
    assert refs["next[0]"].text == "Refund every failed payment. (2026-03-05)"
    assert refs["when.outbreak"].text == "2026-03-02T08:00:00+00:00"


def test_a_saved_version_cannot_be_changed(people, incident):
    version = facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
    version.content = {"sections": {}}
    with pytest.raises(VersionIsImmutable):
        version.save()
    with pytest.raises(VersionIsImmutable):
        FactSheetVersion.objects.filter(pk=version.pk).update(content={})
