"""Statements and their versions: creating a statement, saving an edit.

Every save is an immutable StatementVersion (author, time, SHA-256 of its text, the fact
sheet version it was checked against, the linter's findings). Saving bumps the
statement's version (the optimistic lock every statement form carries), puts it back
to draft, and voids the approvals given to the version before (approvals.void_for_edit).
A first version drafted from a statement template (crisisflow.statements.drafting) is
marked `from_template`: nobody has written that text yet, until someone saves an edit.

**Superseded.** A kind has one live statement per language. Creating a new statement of
a kind and language whose live statement has already been published supersedes the
published one: it stays as history with its publications, marked superseded and
pointing at its successor, and the new one is what the team works on and publishes
next. While the live one is not yet published, there is nothing to supersede: edit it
instead (a new version), and creating another is refused.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
from collections import Counter

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.incidents.errors import Conflict, Forbidden, Invalid, NotFound
from crisisflow.incidents.inputs import clean_line, clean_text
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import lock_incident, person_name, require_open
from crisisflow.statements import facts, kinds, lint, permissions
from crisisflow.statements.models import FactSheet, Statement, StatementState, StatementVersion

MAX_TITLE = 200
MAX_BODY = 20_000

LANGUAGE_LABELS = {"zh-hans": gettext_lazy("Chinese"), "en": gettext_lazy("English")}


def version_hash(title: str, body: str) -> str:
    """SHA-256 of a version's text: the JSON list [title, body] (no ambiguity where one
    ends and the other starts)."""
    payload = json.dumps([title, body], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def check_kind(kind: str, field: str = "kind") -> kinds.Kind:
    if not isinstance(kind, str) or kind not in kinds.KINDS:
        raise Invalid(
            _("Unknown kind of statement (use %(known)s).") % {"known": ", ".join(kinds.KINDS)},
            field=field,
        )
    return kinds.KINDS[kind]


def check_language(language: str, field: str = "language") -> str:
    if language not in kinds.LANGUAGES:
        raise Invalid(_("Write in zh-hans or en."), field=field)
    return language


def clean_title(title) -> str:
    return clean_line(title, "title", max_length=MAX_TITLE)


def clean_body(body) -> str:
    body = clean_text(body, "body")
    if len(body) > MAX_BODY:
        raise Invalid(_("Keep the text under %(n)d characters.") % {"n": MAX_BODY}, field="body")
    return body


def live_statement(incident: Incident, kind: str, language: str) -> Statement | None:
    """The statement of this kind and language nobody has replaced, if any."""
    return (
        Statement.objects.filter(incident=incident, kind=kind, language=language)
        .exclude(state=StatementState.SUPERSEDED)
        .order_by("-created_at", "-id")
        .first()
    )


def require_draft_right(actor, incident: Incident, kind: str) -> None:
    if not permissions.may_draft(actor, incident, kind):
        raise Forbidden(
            _("You may not write a %(kind)s on this incident.") % {"kind": str(kinds.KINDS[kind].label).lower()}
        )


def _approvals_void_for_edit():
    """approvals.void_for_edit once the approvals module exists (it is written apart)."""
    if importlib.util.find_spec("crisisflow.statements.approvals") is None:
        return None
    module = importlib.import_module("crisisflow.statements.approvals")
    return getattr(module, "void_for_edit", None)


def _write_version(
    actor, statement: Statement, *, title: str, body: str, now, correction_note: str = "", from_template: bool = False
):
    """A new immutable version, linted against the current fact sheet. `from_template`:
    the text is a template filled in (drafting), not written by `actor`."""
    sheet = FactSheet.objects.filter(incident=statement.incident).select_related("current").first()
    sheet_version = sheet.current if sheet else None
    refs = facts.fact_refs(statement.incident, sheet_version.content if sheet_version else {})
    findings = lint.lint(body, language=statement.language, kind=statement.kind, title=title, facts=refs)
    levels = Counter(f.level for f in findings)
    number = (statement.current.number if statement.current else 0) + 1
    return StatementVersion.objects.create(
        statement=statement,
        number=number,
        title=title,
        body=body,
        content_hash=version_hash(title, body),
        author=actor,
        created_at=now,
        fact_sheet_version=sheet_version,
        findings=[f.as_dict() for f in findings],
        errors=levels["error"],
        warnings=levels["warning"],
        correction_note=correction_note,
        from_template=from_template,
    )


def lint_summary(version: StatementVersion) -> dict:
    infos = sum(1 for f in version.findings if f.get("level") == "info")
    return {
        "errors": version.errors,
        "warnings": version.warnings,
        "infos": infos,
        "codes": sorted({f["code"] for f in version.findings}),
    }


def supersede_published(statement: Statement) -> list[int]:
    """Mark the published live statements of `statement`'s kind and language as
    superseded by it (see the module's docstring). Returns their ids."""
    older = list(
        Statement.objects.select_for_update(of=("self",))
        .filter(incident_id=statement.incident_id, kind=statement.kind, language=statement.language)
        .exclude(pk=statement.pk)
        .filter(state=StatementState.PUBLISHED)
    )
    for old in older:
        old.state = StatementState.SUPERSEDED
        old.superseded_by = statement
        old.version += 1
        old.save(update_fields=["state", "superseded_by", "version"])
    return [old.pk for old in older]


def new_statement(
    actor, incident: Incident, kind: str, language: str, *, title: str, body: str, now, from_template: bool = False
) -> Statement:
    """Create one statement (and its first version when it has text) inside a use case
    that already holds the incident's lock and checked the person's right.
    `from_template`: the text is a statement template filled in (drafting)."""
    live = live_statement(incident, kind, language)
    if live is not None and live.state != StatementState.PUBLISHED:
        raise Invalid(
            _("There is already a %(kind)s in %(language)s on this incident; edit it instead.")
            % {"kind": str(kinds.KINDS[kind].label).lower(), "language": LANGUAGE_LABELS[language]},
            field="kind",
        )
    statement = Statement.objects.create(
        incident=incident, kind=kind, language=language, created_by=actor, created_at=now, version=1
    )
    statement.incident = incident
    supersede_published(statement)
    if title or body:
        version = _write_version(actor, statement, title=title, body=body, now=now, from_template=from_template)
        statement.current = version
        statement.save(update_fields=["current"])
    return statement


@transaction.atomic
def create_statement(
    actor, incident: Incident, kind: str, language: str, *, title: str = "", body: str = "", from_template: bool = False
) -> Statement:
    """A new statement of `kind` in `language`, as a draft (with a first version when it
    has text; `from_template`: that text is a template filled in, see drafting)."""
    check_kind(kind)
    check_language(language)
    title, body = clean_title(title), clean_body(body)
    incident = lock_incident(actor, incident)
    require_open(incident)
    require_draft_right(actor, incident, kind)
    now = clock.now()
    statement = new_statement(
        actor, incident, kind, language, title=title, body=body, now=now, from_template=from_template
    )
    data = {"statement": statement.pk, "kind": kind, "language": language}
    if statement.current is not None:
        data.update(version=1, **lint_summary(statement.current))
    record(incident, actor, "statement_drafted", data, at=now)
    return statement


def lock_statement(actor, statement: Statement | int) -> tuple[Incident, Statement]:
    """The statement and its incident, both locked (incident first), if `actor` may see
    the incident."""
    pk = statement.pk if isinstance(statement, Statement) else statement
    incident_id = Statement.objects.filter(pk=pk).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise NotFound()
    incident = lock_incident(actor, incident_id)
    locked = Statement.objects.select_for_update(of=("self",)).select_related("current").get(pk=pk)
    locked.incident = incident
    return incident, locked


def last_changed_by(statement: Statement) -> str | None:
    """Who last changed the statement: the newest timeline event about it with a person."""
    event = (
        Event.objects.filter(incident_id=statement.incident_id, data__statement=statement.pk, actor__isnull=False)
        .order_by("-seq")
        .select_related("actor")
        .first()
    )
    if event is not None:
        return person_name(event.actor)
    if statement.current_id:
        return person_name(StatementVersion.objects.select_related("author").get(pk=statement.current_id).author)
    return None


def stale_statement_error(statement: Statement) -> Conflict:
    who = last_changed_by(statement)
    if who:
        return Conflict(
            _("This statement was changed by %(who)s; reload it and try again.") % {"who": who}, field="version"
        )
    return Conflict(_("Someone else changed this statement; reload it and try again."), field="version")


def check_expected(statement: Statement, expected_version) -> None:
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise Invalid(_("Give the version you edited."), field="version")
    if statement.version != expected_version:
        raise stale_statement_error(statement)


@transaction.atomic
def save_version(
    actor, statement: Statement, *, title: str, body: str, expected_version: int, correction_note: str = ""
) -> StatementVersion:
    """Save an edit as a new version: linted, hashed, the statement back to draft and
    the approvals of the version before voided.

    A statement that has been published takes a new version only as a correction,
    saying what changed (`correction_note`). Saving the text unchanged writes nothing
    and returns the current version."""
    title, body = clean_title(title), clean_body(body)
    correction_note = clean_text(correction_note, "correction_note")
    if not body:
        raise Invalid(_("Write the text of the statement."), field="body")
    if len(correction_note) > MAX_BODY:
        raise Invalid(_("Keep this under %(n)d characters.") % {"n": MAX_BODY}, field="correction_note")
    incident, statement = lock_statement(actor, statement)
    require_open(incident)
    require_draft_right(actor, incident, statement.kind)
    check_expected(statement, expected_version)
    if statement.state == StatementState.SUPERSEDED:
        raise Invalid(_("This statement has been replaced by a newer one; edit that one."), field="body")
    current = statement.current
    if current is not None and current.content_hash == version_hash(title, body):
        return current
    if statement.first_published_at is not None and not correction_note:
        raise Invalid(_("This statement has been published: say what the correction changes."), field="correction_note")
    now = clock.now()
    version = _write_version(actor, statement, title=title, body=body, now=now, correction_note=correction_note)
    was = statement.state
    statement.current = version
    statement.state = StatementState.DRAFT
    statement.version += 1
    statement.save(update_fields=["current", "state", "version"])
    void_for_edit = _approvals_void_for_edit()
    if void_for_edit is not None:
        void_for_edit(statement, version, actor, now)
    record(
        incident,
        actor,
        "statement_version_saved",
        {
            "statement": statement.pk,
            "kind": statement.kind,
            "language": statement.language,
            "version": version.number,
            "hash": version.content_hash,
            "previous_state": was,
            "correction": bool(correction_note),
            **lint_summary(version),
        },
        at=now,
    )
    return version


# --- the timeline -----------------------------------------------------------------------------


def kind_text(key: str) -> str:
    k = kinds.KINDS.get(key)
    return str(k.label) if k else key


def language_text(language: str) -> str:
    return str(LANGUAGE_LABELS.get(language, language))


def lint_text(d: dict) -> str:
    if "errors" not in d:
        return ""
    if not (d["errors"] or d.get("warnings") or d.get("infos")):
        return _("linter: nothing found")
    text = _("linter: %(errors)d errors, %(warnings)d warnings") % {
        "errors": d["errors"],
        "warnings": d.get("warnings", 0),
    }
    if d.get("codes"):
        text += " (" + ", ".join(d["codes"]) + ")"
    return text


@describes("statement_drafted", label=gettext_lazy("Statement drafted"))
def _statement_drafted(event) -> str:
    d = event.data
    if "statements" in d:
        return _("Message set drafted from the fact sheet: %(items)s") % {
            "items": ", ".join(f"{kind_text(s['kind'])} ({language_text(s['language'])})" for s in d["statements"])
        }
    text = _("%(kind)s (%(language)s) drafted") % {
        "kind": kind_text(d["kind"]),
        "language": language_text(d["language"]),
    }
    lint_part = lint_text(d)
    return f"{text} — {lint_part}" if lint_part else text


@describes("statement_version_saved", label=gettext_lazy("Statement version saved"))
def _statement_version_saved(event) -> str:
    d = event.data
    text = _("%(kind)s (%(language)s) v%(version)d saved") % {
        "kind": kind_text(d["kind"]),
        "language": language_text(d["language"]),
        "version": d["version"],
    }
    if d.get("correction"):
        text += " " + _("as a correction")
    return f"{text} — {lint_text(d)}"


# --- reading ----------------------------------------------------------------------------------


def visible_statement(user, incident: Incident, pk) -> Statement:
    """One statement of an incident the person may see; NotFound otherwise."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not permissions.may_read(user, incident):
        raise NotFound()
    statement = Statement.objects.filter(incident=incident, pk=pk).select_related("current__author").first()
    if statement is None:
        raise NotFound()
    statement.incident = incident
    return statement


def version_of(statement: Statement, number) -> StatementVersion:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise NotFound() from None
    version = statement.versions.filter(number=number).select_related("author").first()
    if version is None:
        raise NotFound()
    return version
