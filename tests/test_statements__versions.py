"""Statements and their versions: every save is an immutable, linted, hashed version;
edits put the statement back to draft and void the old version's approvals; stale
forms are refused naming who changed the statement; a newer statement supersedes a
published one of the same kind and language."""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import sys
import types

import pytest
import time_machine

from crisisflow.incidents.errors import Conflict, Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Event
from crisisflow.incidents.timeline import describe
from crisisflow.statements import facts, lint, versions
from crisisflow.statements.models import StatementState, StatementVersion, VersionIsImmutable
from tests.conftest import T0
from tests.statements import sheet, team_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        return team_incident(people)


@pytest.fixture
def holding(people, incident):
    return versions.create_statement(
        people.pr_lead, incident, "holding_statement", "en", body="We apologise. Payments failed."
    )


@pytest.fixture
def fake_lint(monkeypatch):
    """A linter that flags every "soon" (the real one is written apart)."""
    seen = []

    def flag_soon(text, *, language, kind=None, title="", facts=None):
        seen.append(facts)
        at = text.find("soon")
        if at < 0:
            return []
        return [lint.Finding("vague_promise", lint.Level.ERROR, at, at + 4, "Say by when.")]

    monkeypatch.setattr(lint, "lint", flag_soon)
    return seen


def test_creating_a_statement_drafts_version_one(people, incident, holding):
    assert holding.state == StatementState.DRAFT
    assert holding.current.number == 1 and holding.current.author == people.pr_lead
    expected = hashlib.sha256(
        json.dumps(["", "We apologise. Payments failed."], ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    assert holding.current.content_hash == expected
    event = Event.objects.get(incident=incident, kind="statement_drafted")
    assert event.data["statement"] == holding.pk
    # The real linter: an apology with no facts and no action is not yet a first response.
    assert (
        describe(event)
        == "Holding statement (English) drafted — linter: 2 errors, 0 warnings (missing_action, missing_facts)"
    )


def test_saving_lints_against_the_fact_sheet_and_bumps_the_version(people, incident, holding, fake_lint):
    facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
    version = versions.save_version(
        people.pr_lead, holding, title="", body="We will fix it soon.", expected_version=holding.version
    )
    holding.refresh_from_db()
    assert version.number == 2 and holding.current == version and holding.version == 2
    assert version.errors == 1 and version.warnings == 0
    assert version.findings == [
        {"code": "vague_promise", "level": "error", "start": 15, "end": 19, "message": "Say by when."}
    ]
    assert version.fact_sheet_version.number == 1
    assert any(ref.section == "scope.affected_users" for ref in fake_lint[-1])
    event = Event.objects.filter(incident=incident, kind="statement_version_saved").last()
    assert event.data["codes"] == ["vague_promise"]
    assert describe(event) == "Holding statement (English) v2 saved — linter: 1 errors, 0 warnings (vague_promise)"


def test_versions_are_immutable(holding):
    version = holding.current
    version.body = "rewritten"
    with pytest.raises(VersionIsImmutable):
        version.save()
    with pytest.raises(VersionIsImmutable):
        StatementVersion.objects.filter(pk=version.pk).update(body="rewritten")


def test_an_edit_puts_it_back_to_draft_and_voids_approvals(people, holding, monkeypatch):
    calls = []
    module = types.ModuleType("crisisflow.statements.approvals")
    module.__spec__ = importlib.machinery.ModuleSpec("crisisflow.statements.approvals", None)
    module.void_for_edit = lambda statement, version, actor, now: calls.append((statement.pk, version.number, actor))
    monkeypatch.setitem(sys.modules, "crisisflow.statements.approvals", module)
    type(holding).objects.filter(pk=holding.pk).update(state=StatementState.APPROVED)
    holding.refresh_from_db()
    versions.save_version(people.pr_lead, holding, title="", body="Changed.", expected_version=holding.version)
    holding.refresh_from_db()
    assert holding.state == StatementState.DRAFT
    assert calls == [(holding.pk, 2, people.pr_lead)]


def test_saving_the_same_text_writes_no_version(people, holding):
    same = versions.save_version(
        people.pr_lead, holding, title="", body="We apologise. Payments failed.", expected_version=holding.version
    )
    assert same == holding.current
    assert holding.versions.count() == 1


def test_a_stale_form_is_refused_naming_who_changed_it(people, incident, holding):
    versions.save_version(people.commander, holding, title="", body="Second.", expected_version=1)
    with pytest.raises(Conflict, match="changed by Commander") as refused:
        versions.save_version(people.pr_lead, holding, title="", body="Third.", expected_version=1)
    assert refused.value.field == "version"


def test_bad_input_names_the_field(people, holding):
    with pytest.raises(Invalid) as refused:
        versions.save_version(people.pr_lead, holding, title="", body="  ", expected_version=1)
    assert refused.value.field == "body"
    with pytest.raises(Invalid) as refused:
        versions.save_version(people.pr_lead, holding, title="a\nb" * 200, body="x", expected_version=1)
    assert refused.value.field == "title"
    with pytest.raises(Invalid) as refused:
        versions.save_version(people.pr_lead, holding, title="", body="x\x00", expected_version=1)
    assert refused.value.field == "body"
    with pytest.raises(Invalid) as refused:
        versions.create_statement(people.pr_lead, holding.incident, "tweet", "en")
    assert refused.value.field == "kind"
    with pytest.raises(Invalid) as refused:
        versions.create_statement(people.pr_lead, holding.incident, "social_post", "fr")
    assert refused.value.field == "language"


def test_one_live_statement_per_kind_and_language(people, incident, holding):
    with pytest.raises(Invalid, match="already a holding statement in English"):
        versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="Again")
    # The other language is its own statement.
    versions.create_statement(people.pr_lead, incident, "holding_statement", "zh-hans", body="我们道歉。")


def test_a_published_statement_takes_only_a_correction_and_is_superseded_by_a_newer_one(people, incident, holding):
    type(holding).objects.filter(pk=holding.pk).update(state=StatementState.PUBLISHED, first_published_at=T0)
    holding.refresh_from_db()
    with pytest.raises(Invalid, match="say what the correction changes") as refused:
        versions.save_version(people.pr_lead, holding, title="", body="Fixed figure.", expected_version=1)
    assert refused.value.field == "correction_note"
    corrected = versions.save_version(
        people.pr_lead, holding, title="", body="Fixed figure.", expected_version=1, correction_note="1.2 million"
    )
    assert corrected.correction_note == "1.2 million"
    type(holding).objects.filter(pk=holding.pk).update(state=StatementState.PUBLISHED)
    newer = versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="Newer.")
    holding.refresh_from_db()
    assert holding.state == StatementState.SUPERSEDED and holding.superseded_by == newer
    with pytest.raises(Invalid, match="replaced by a newer one"):
        versions.save_version(people.pr_lead, holding, title="", body="Old.", expected_version=holding.version)


def test_who_may_write(people, incident, holding):
    with pytest.raises(Forbidden):
        versions.save_version(people.legal, holding, title="", body="Legal's words.", expected_version=1)
    with pytest.raises(Forbidden):
        versions.create_statement(people.observer, incident, "social_post", "en", body="x")
    versions.create_statement(people.legal, incident, "regulator_notice", "en", title="Report", body="x")
    incident.restricted = True
    incident.save(update_fields=["restricted"])
    with pytest.raises(NotFound):
        versions.save_version(people.outsider, holding, title="", body="x", expected_version=1)
