"""Checking what people type, once, for every use case.

The web forms, the API and the management commands all reach the use cases, and the
use cases call these: a refusal is an `Invalid` naming the field, never a database
error later on.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from crisisflow.incidents.errors import Invalid
from crisisflow.playbooks.models import crisis_type_choices
from crisisflow.vocab import Severity

MAX_TEXT = 10_000


def clean_text(value, field: str) -> str:
    """User-written text, stripped; refuses what no database can store faithfully."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(_("Give text here."), field=field)
    if "\x00" in value:
        raise Invalid(_("The text contains a NUL character."), field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(_("The text contains characters that are not valid Unicode."), field=field) from None
    return value.strip()


def clean_reason(reason: str | None, field: str = "reason") -> str:
    reason = clean_text(reason, field)
    if not reason:
        raise Invalid(_("A reason is required."), field=field)
    if len(reason) > MAX_TEXT:
        raise Invalid(_("Keep the reason under %(n)d characters.") % {"n": MAX_TEXT}, field=field)
    return reason


def check_severity(severity: str, field: str = "severity") -> str:
    if severity not in Severity.values:
        raise Invalid(
            _("Unknown severity “%(value)s” (use %(choices)s).")
            % {"value": severity, "choices": ", ".join(Severity.values)},
            field=field,
        )
    return severity


def check_crisis_type(crisis_type: str, field: str = "crisis_type") -> str:
    known = dict(crisis_type_choices())
    if crisis_type not in known:
        raise Invalid(_("Unknown crisis type “%(value)s”.") % {"value": crisis_type}, field=field)
    return crisis_type
