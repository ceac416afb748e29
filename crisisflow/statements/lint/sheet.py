"""The facts an incident's statements are checked against.

`crisisflow.statements.facts.fact_refs(incident)` is the authority (it knows the sheet's
shape and adds the incident's scope facts). Until it is there, the current fact-sheet
version is read leniently: any object with a `text` and a `confirmed` flag is a fact,
named after the section it sits in, and the incident's estimated affected users count as
a confirmed fact.
"""

from __future__ import annotations

from typing import Any

from crisisflow.statements.lint import FactRef


def facts_for(incident) -> list[FactRef]:
    try:
        from crisisflow.statements.facts import fact_refs
    except ImportError:
        return read_sheet(incident)
    return list(fact_refs(incident))


def read_sheet(incident) -> list[FactRef]:
    from crisisflow.statements.models import FactSheet

    facts: list[FactRef] = []
    sheet = FactSheet.objects.filter(incident=incident).select_related("current").first()
    if sheet is not None and sheet.current is not None:
        facts += facts_in(sheet.current.content)
    if incident.affected_users is not None:
        facts.append(FactRef("scope", f"affected users: {incident.affected_users}", True))
    return facts


def facts_in(content: Any, section: str = "") -> list[FactRef]:
    """Every {text, confirmed} object in a fact sheet's JSON, depth first."""
    found: list[FactRef] = []
    if isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str) and "confirmed" in content:
            found.append(FactRef(section, text, bool(content.get("confirmed"))))
        elif isinstance(text, dict) and "confirmed" in content:
            # The same fact in both languages: {"text": {"zh": …, "en": …}}
            for value in text.values():
                if isinstance(value, str):
                    found.append(FactRef(section, value, bool(content.get("confirmed"))))
        for key, value in content.items():
            if key != "text" and isinstance(value, dict | list):
                found += facts_in(value, section or str(key))
    elif isinstance(content, list):
        for item in content:
            found += facts_in(item, section)
    return found
