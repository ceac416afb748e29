"""The fact sheet: what the company knows about an incident and may say about it.

One per incident, versioned like statements: every save is an immutable
FactSheetVersion with its author, time and content hash, and a save made from an old
version is refused naming who changed it since. Statements are drafted from it, and
the linter checks what they say against it (`fact_refs`).

The content is one JSON object, ``{"sections": {...}}``::

    what          {text, confirmed, by}              what happened
    when          {outbreak: {at, confirmed, by},    when it started and when it was
                   discovery: {at, confirmed, by}}   found (prefilled from the incident)
    who           {text, confirmed, by}              who is affected, in words; the
                                                     figures are the incident's scope facts
    cause         {status: known|under_investigation, text, confirmed, by}
    done          [{text, confirmed, by}]            what has been done
    next          [{text, due, confirmed, by}]       what will be done, each with a date
    compensation  {text, confirmed, by}
    help          {hotline, page, email}             where affected people get help
    qa            [{question, answer, confirmed, by}] for customer service

A fact is `confirmed` by a role (tech_security, legal…) or not; only confirmed facts go
into a public statement unchanged, unconfirmed ones are worded as preliminary. Errors
name the field path (``sections.next[2].due``).

Who and how many are affected is not copied into the sheet: the incident's scope facts
(affected users, regions, personal data…) are the one place those figures live, and
`fact_refs` hands them to the linter as confirmed facts.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.incidents.errors import Conflict, Forbidden, Invalid
from crisisflow.incidents.inputs import check_moment, clean_line, clean_text
from crisisflow.incidents.models import Incident
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import lock_incident, person_name
from crisisflow.statements import permissions
from crisisflow.statements.lint import FactRef
from crisisflow.statements.models import FactSheet, FactSheetVersion
from crisisflow.vocab import Role

SECTIONS = ("what", "when", "who", "cause", "done", "next", "compensation", "help", "qa")
# Single facts (one text each) and lists of facts.
SINGLE_FACTS = ("what", "who", "compensation")
MOMENTS = ("outbreak", "discovery")
CAUSE_STATUSES = ("known", "under_investigation")
HELP_FIELDS = ("hotline", "page", "email")
MAX_ITEMS = 50
MAX_FACT_CHARS = 2000
MAX_LINE_CHARS = 200
# Who may confirm a fact: any team role but the observer.
CONFIRMING_ROLES = tuple(r.value for r in Role if r != Role.OBSERVER)

SECTION_LABELS = {
    "what": gettext_lazy("What happened"),
    "when": gettext_lazy("When"),
    "who": gettext_lazy("Who and how many are affected"),
    "cause": gettext_lazy("Cause"),
    "done": gettext_lazy("What has been done"),
    "next": gettext_lazy("What will be done"),
    "compensation": gettext_lazy("Compensation"),
    "help": gettext_lazy("Where affected people get help"),
    "qa": gettext_lazy("Questions and answers for customer service"),
}


def _fact(text: str = "", confirmed: bool = False, by: str = "") -> dict[str, Any]:
    return {"text": text, "confirmed": confirmed, "by": by}


def blank_content(incident: Incident) -> dict[str, Any]:
    """A new sheet: empty, with the times the incident already knows."""
    return {
        "sections": {
            "what": _fact(incident.summary or ""),
            "when": {
                "outbreak": {"at": incident.detected_at.isoformat(), "confirmed": False, "by": ""},
                "discovery": {"at": incident.reported_at.isoformat(), "confirmed": False, "by": ""},
            },
            "who": _fact(),
            "cause": {"status": "under_investigation", "text": "", "confirmed": False, "by": ""},
            "done": [],
            "next": [],
            "compensation": _fact(),
            "help": {"hotline": "", "page": "", "email": ""},
            "qa": [],
        }
    }


# --- validation -------------------------------------------------------------------------------


def clean_content(content: Any) -> dict[str, Any]:
    """The sheet as it will be stored, or Invalid naming the first bad field's path."""
    if not isinstance(content, dict):
        raise Invalid(_("Give the fact sheet as an object with “sections”."), field="sections")
    unknown = set(content) - {"sections"}
    if unknown:
        name = sorted(unknown)[0]
        raise Invalid(_("Unknown field “%(name)s”.") % {"name": name}, field=name)
    sections = content.get("sections")
    if not isinstance(sections, dict):
        raise Invalid(_("Give the sections as an object."), field="sections")
    for name in sections:
        if name not in SECTIONS:
            raise Invalid(
                _("Unknown section “%(name)s” (use %(known)s).") % {"name": name, "known": ", ".join(SECTIONS)},
                field=f"sections.{name}",
            )
    clean: dict[str, Any] = {}
    for name in SINGLE_FACTS:
        clean[name] = _clean_fact(sections.get(name), f"sections.{name}")
    clean["when"] = _clean_when(sections.get("when"), "sections.when")
    clean["cause"] = _clean_cause(sections.get("cause"), "sections.cause")
    clean["done"] = _clean_list(sections.get("done"), "sections.done", _clean_fact)
    clean["next"] = _clean_list(sections.get("next"), "sections.next", _clean_next)
    clean["help"] = _clean_help(sections.get("help"), "sections.help")
    clean["qa"] = _clean_list(sections.get("qa"), "sections.qa", _clean_qa)
    return {"sections": {name: clean[name] for name in SECTIONS}}


def _object(value: Any, path: str, fields: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(_("Give an object here."), field=path)
    for name in value:
        if name not in fields:
            raise Invalid(
                _("Unknown field “%(name)s” (use %(known)s).") % {"name": name, "known": ", ".join(fields)},
                field=f"{path}.{name}",
            )
    return value


def _text(value: Any, path: str, limit: int = MAX_FACT_CHARS) -> str:
    text = clean_text(value, path)
    if len(text) > limit:
        raise Invalid(_("Keep this under %(n)d characters.") % {"n": limit}, field=path)
    return text


def _confirmation(value: dict[str, Any], path: str) -> tuple[bool, str]:
    confirmed = value.get("confirmed", False)
    if not isinstance(confirmed, bool):
        raise Invalid(_("Give yes or no."), field=f"{path}.confirmed")
    by = value.get("by") or ""
    if not isinstance(by, str):
        raise Invalid(_("Give a role."), field=f"{path}.by")
    if by and by not in CONFIRMING_ROLES:
        raise Invalid(
            _("Unknown role “%(role)s” (use %(known)s).")
            % {"role": clean_line(by, f"{path}.by", max_length=None)[:40], "known": ", ".join(CONFIRMING_ROLES)},
            field=f"{path}.by",
        )
    if confirmed and not by:
        raise Invalid(_("Say which role confirmed this fact."), field=f"{path}.by")
    return confirmed, by


def _clean_fact(value: Any, path: str) -> dict[str, Any]:
    value = _object(value, path, ("text", "confirmed", "by"))
    text = _text(value.get("text"), f"{path}.text")
    confirmed, by = _confirmation(value, path)
    return {"text": text, "confirmed": confirmed, "by": by}


def _clean_moment(value: Any, path: str) -> dict[str, Any]:
    value = _object(value, path, ("at", "confirmed", "by"))
    at = value.get("at")
    if at in (None, ""):
        moment = ""
    else:
        if isinstance(at, str):
            try:
                at = datetime.fromisoformat(at)
            except ValueError:
                raise Invalid(_("Give a date and time such as 2026-03-02T09:00+08:00."), field=f"{path}.at") from None
        moment = check_moment(at, f"{path}.at", not_after_now=True).isoformat()
    confirmed, by = _confirmation(value, path)
    return {"at": moment, "confirmed": confirmed, "by": by}


def _clean_when(value: Any, path: str) -> dict[str, Any]:
    value = _object(value, path, MOMENTS)
    return {name: _clean_moment(value.get(name), f"{path}.{name}") for name in MOMENTS}


def _clean_cause(value: Any, path: str) -> dict[str, Any]:
    value = _object(value, path, ("status", "text", "confirmed", "by"))
    status = value.get("status") or "under_investigation"
    if status not in CAUSE_STATUSES:
        raise Invalid(_("Say whether the cause is known or under investigation."), field=f"{path}.status")
    text = _text(value.get("text"), f"{path}.text")
    if status == "known" and not text:
        raise Invalid(_("Describe the cause, or mark it as under investigation."), field=f"{path}.text")
    confirmed, by = _confirmation(value, path)
    return {"status": status, "text": text, "confirmed": confirmed, "by": by}


def _clean_list(value: Any, path: str, clean_item) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(_("Give a list here."), field=path)
    if len(value) > MAX_ITEMS:
        raise Invalid(_("At most %(n)d entries.") % {"n": MAX_ITEMS}, field=path)
    items = [clean_item(item, f"{path}[{i}]") for i, item in enumerate(value)]
    return [item for item in items if any(v for k, v in item.items() if k not in ("confirmed", "by", "status"))]


def parse_due(value: Any, path: str) -> str:
    """A commitment's date: YYYY-MM-DD, or a date and time with its zone."""
    if isinstance(value, datetime):
        return check_moment(value, path).isoformat()
    if isinstance(value, date):
        value = value.isoformat()
    if not isinstance(value, str) or not value.strip():
        raise Invalid(_("Give the date this will be done by (YYYY-MM-DD)."), field=path)
    value = value.strip()
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise Invalid(_("Give the date as YYYY-MM-DD."), field=path) from None
        if not 2000 <= day.year < 2100:
            raise Invalid(_("Give a date between 2000 and 2099."), field=path)
        return day.isoformat()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(_("Give the date as YYYY-MM-DD."), field=path) from None
    return check_moment(moment, path).isoformat()


def _clean_next(value: Any, path: str) -> dict[str, Any]:
    value = _object(value, path, ("text", "due", "confirmed", "by"))
    text = _text(value.get("text"), f"{path}.text")
    if not text and not value.get("due"):
        return {"text": "", "due": "", "confirmed": False, "by": ""}
    if not text:
        raise Invalid(_("Say what will be done."), field=f"{path}.text")
    due = parse_due(value.get("due"), f"{path}.due")
    confirmed, by = _confirmation(value, path)
    return {"text": text, "due": due, "confirmed": confirmed, "by": by}


def _clean_help(value: Any, path: str) -> dict[str, str]:
    value = _object(value, path, HELP_FIELDS)
    clean = {name: clean_line(value.get(name), f"{path}.{name}", max_length=MAX_LINE_CHARS) for name in HELP_FIELDS}
    if clean["email"] and ("@" not in clean["email"] or " " in clean["email"]):
        raise Invalid(_("Give an e-mail address."), field=f"{path}.email")
    if clean["page"] and not clean["page"].startswith(("https://", "http://")):
        raise Invalid(_("Give the page's address, starting with https://."), field=f"{path}.page")
    return clean


def _clean_qa(value: Any, path: str) -> dict[str, Any]:
    value = _object(value, path, ("question", "answer", "confirmed", "by"))
    question = _text(value.get("question"), f"{path}.question")
    answer = _text(value.get("answer"), f"{path}.answer")
    if answer and not question:
        raise Invalid(_("Give the question this answers."), field=f"{path}.question")
    confirmed, by = _confirmation(value, path)
    return {"question": question, "answer": answer, "confirmed": confirmed, "by": by}


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the content as canonical JSON (sorted keys, no spaces)."""
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def count_facts(content: dict[str, Any]) -> tuple[int, int]:
    """(confirmed, unconfirmed) facts with something in them."""
    confirmed = unconfirmed = 0
    for _path, fact in iter_facts(content):
        if fact["confirmed"]:
            confirmed += 1
        else:
            unconfirmed += 1
    return confirmed, unconfirmed


def iter_facts(content: dict[str, Any]):
    """(path, fact) for every fact of the sheet that says something."""
    sections = content.get("sections", {})
    for name in SINGLE_FACTS:
        fact = sections.get(name) or {}
        if fact.get("text"):
            yield f"sections.{name}", fact
    for name in MOMENTS:
        fact = (sections.get("when") or {}).get(name) or {}
        if fact.get("at"):
            yield f"sections.when.{name}", fact
    cause = sections.get("cause") or {}
    if cause.get("text"):
        yield "sections.cause", cause
    for name in ("done", "next", "qa"):
        for i, fact in enumerate(sections.get(name) or []):
            yield f"sections.{name}[{i}]", fact


# --- the use case -----------------------------------------------------------------------------


@transaction.atomic
def save_fact_sheet(actor, incident: Incident, content: dict, *, expected_version: int) -> FactSheetVersion:
    """Save a new version of the incident's fact sheet.

    `expected_version` is the sheet's version the person edited (0 for a sheet never
    saved); a different one means someone saved in between and nothing is written.
    Saving the same content again writes nothing and returns the current version."""
    incident = lock_incident(actor, incident)
    if not permissions.may_edit_facts(actor, incident):
        raise Forbidden(_("Only the commander and the crisis team (not observers) can edit the fact sheet."))
    if not incident.is_open:
        raise Invalid(_("This incident is %(state)s; it cannot be changed.") % {"state": incident.get_state_display()})
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise Invalid(_("Give the version you edited."), field="version")
    clean = clean_content(content)
    sheet, _created = FactSheet.objects.get_or_create(incident=incident)
    sheet = FactSheet.objects.select_for_update(of=("self",)).select_related("current__author").get(pk=sheet.pk)
    if sheet.version != expected_version:
        who = person_name(sheet.current.author) if sheet.current else None
        if who:
            raise Conflict(
                _("The fact sheet was changed by %(who)s (version %(n)d); reload it and try again.")
                % {"who": who, "n": sheet.version},
                field="version",
            )
        raise Conflict(_("Someone else changed the fact sheet; reload it and try again."), field="version")
    digest = content_hash(clean)
    if sheet.current is not None and sheet.current.content_hash == digest:
        return sheet.current
    now = clock.now()
    previous = sheet.current.content if sheet.current else {"sections": {}}
    version = FactSheetVersion.objects.create(
        sheet=sheet, number=sheet.version + 1, content=clean, content_hash=digest, author=actor, created_at=now
    )
    sheet.current = version
    sheet.version = version.number
    sheet.updated_at = now
    sheet.save(update_fields=["current", "version", "updated_at"])
    confirmed, unconfirmed = count_facts(clean)
    changed = [name for name in SECTIONS if previous.get("sections", {}).get(name) != clean["sections"][name]]
    record(
        incident,
        actor,
        "fact_sheet_saved",
        {
            "version": version.number,
            "hash": digest,
            "sections": changed,
            "confirmed": confirmed,
            "unconfirmed": unconfirmed,
        },
        at=now,
    )
    return version


@describes("fact_sheet_saved", label=gettext_lazy("Fact sheet saved"))
def _fact_sheet_saved(event) -> str:
    d = event.data
    text = _("Fact sheet v%(n)d saved: %(confirmed)d confirmed, %(unconfirmed)d unconfirmed facts") % {
        "n": d["version"],
        "confirmed": d.get("confirmed", 0),
        "unconfirmed": d.get("unconfirmed", 0),
    }
    if d.get("sections"):
        text += " — " + _("changed: %(sections)s") % {
            "sections": ", ".join(str(SECTION_LABELS.get(s, s)) for s in d["sections"])
        }
    return text


# --- reading ----------------------------------------------------------------------------------


def current_sheet(incident: Incident) -> FactSheet | None:
    return FactSheet.objects.filter(incident=incident).select_related("current__author").first()


def sheet_content(incident: Incident) -> dict | None:
    """The newest saved content of the incident's sheet, or None before the first save."""
    sheet = current_sheet(incident)
    return sheet.current.content if sheet and sheet.current else None


def content_or_blank(incident: Incident) -> dict:
    return sheet_content(incident) or blank_content(incident)


def scope_refs(incident: Incident) -> list[FactRef]:
    """The incident's scope facts, as the linter sees them (confirmed: the commander
    keeps them right, and every correction is on the timeline)."""
    refs = []
    if incident.affected_users is not None:
        refs.append(FactRef("scope.affected_users", str(incident.affected_users), True))
    if incident.regions:
        refs.append(FactRef("scope.regions", ", ".join(incident.regions), True))
    if incident.platforms:
        refs.append(FactRef("scope.platforms", ", ".join(incident.platforms), True))
    for name in ("personal_data", "injuries", "financial_loss", "regulator_involved"):
        refs.append(FactRef(f"scope.{name}", "yes" if getattr(incident, name) else "no", True))
    return refs


def fact_refs(incident: Incident, content: dict | None = None) -> list[FactRef]:
    """Every fact the linter may check a text against: the sheet's (confirmed or not)
    and the incident's scope facts. `content`: a sheet already read."""
    if content is None:
        content = sheet_content(incident)
    refs = scope_refs(incident)
    for path, fact in iter_facts(content or {}):
        section = path.removeprefix("sections.")
        if "at" in fact:
            text = fact["at"]
        elif "question" in fact:
            text = f"{fact['question']} {fact['answer']}".strip()
        elif fact.get("due"):
            text = f"{fact['text']} ({fact['due']})"
        else:
            text = fact["text"]
        refs.append(FactRef(section, text, bool(fact["confirmed"])))
    # Where people get help is the company's own: as stated, so a hotline's digits are
    # not taken for a figure that contradicts the sheet.
    for key, value in ((content or {}).get("sections", {}).get("help") or {}).items():
        if value:
            refs.append(FactRef(f"help.{key}", value, True))
    return refs
