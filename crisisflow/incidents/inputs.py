"""Checking what people type, once, for every use case.

The web forms, the API and the management commands all reach the use cases, and the
use cases call these: a refusal is an `Invalid` naming the field, never a database
error later on. The form and serializer fields call the same functions, so a bad value
is shown beside its field before the use case is even reached.

The rules:

- **Moments** (`check_moment`): aware datetimes between 2000-01-01 and 2100-01-01 UTC;
  an outbreak time at most a few minutes in the future. A naive datetime is refused
  (whose midnight would it be?), and so is one whose conversion to UTC overflows.
- **One-line text** (`clean_line`: titles, regions, platforms, names, captions, keys):
  line breaks and tabs become spaces; any other control character (C0, DEL, C1), a
  bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069, which can make a
  title read backwards in a list or a message), a lone surrogate or a NUL is refused
  with a message naming the field. They are refused rather than silently stripped: a
  title that changed under the person's hands is worse than being told.
- **Multi-line text** (`clean_text`: notes, summaries, reasons, comments): the same,
  except that line breaks (and tabs) stay; CR LF and lone CR become LF.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.incidents.errors import Invalid
from crisisflow.playbooks.models import crisis_type_choices
from crisisflow.vocab import Severity

MAX_TEXT = 10_000
MAX_LINE = 200

EARLIEST = clock.EARLIEST
LATEST = clock.LATEST
# How far in the future "now-ish" moments may be (clock skew between a phone and us).
FUTURE_SKEW = timedelta(minutes=5)

# C0 controls, DEL, C1 controls; line breaks and tabs are handled before this is used.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n|[\r\n\t\v\f\x85\u2028\u2029]")


def _refuse_bad_characters(value: str, field: str) -> None:
    if "\x00" in value:
        raise Invalid(_("The text contains a NUL character."), field=field)
    if _SURROGATE.search(value):
        raise Invalid(_("The text contains characters that are not valid Unicode."), field=field)
    if _CONTROL.search(value):
        raise Invalid(_("The text contains control characters; remove them."), field=field)
    if _BIDI.search(value):
        raise Invalid(
            _("The text contains invisible right-to-left override characters; remove them."),
            field=field,
        )


def text_problem(value: str, *, multiline: bool) -> str | None:
    """The reason `value` would be refused as text, or None. For form and serializer
    fields that report the problem themselves (they know the field)."""
    try:
        if multiline:
            clean_text(value, "")
        else:
            clean_line(value, "", max_length=None)
    except Invalid as err:
        return str(err.message)
    return None


def validate_one_line(value) -> None:
    """A model-field validator (the admin) for one-line text stored as typed: no line
    breaks, no control characters."""
    problem = text_problem(value, multiline=False)
    if problem is None and _LINE_BREAKS.search(value):
        problem = _("Keep this on one line.")
    if problem is not None:
        raise ValidationError(problem, code="bad_characters")


def clean_text(value, field: str) -> str:
    """Multi-line text a person wrote (notes, summaries, reasons, comments), stripped.

    Keeps line breaks (as LF) and tabs; refuses NUL, other control characters, bidi
    overrides and lone surrogates, naming the field."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(_("Give text here."), field=field)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    _refuse_bad_characters(value.replace("\n", "").replace("\t", ""), field)
    return value.strip()


def clean_line(value, field: str, max_length: int | None = MAX_LINE) -> str:
    """One line of text (a title, a region, a name, a caption, a key), stripped.

    Line breaks and tabs become single spaces; anything else that is not printable text
    is refused as in clean_text. `max_length` (None: no limit) counts characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(_("Give text here."), field=field)
    value = _LINE_BREAKS.sub(" ", value)
    _refuse_bad_characters(value, field)
    value = value.strip()
    if max_length is not None and len(value) > max_length:
        raise Invalid(_("Keep this under %(n)d characters.") % {"n": max_length}, field=field)
    return value


def check_moment(value, field: str, *, not_after_now: bool = False) -> datetime:
    """An aware datetime inside the bounds every stored moment keeps, returned in UTC.

    `not_after_now`: a moment that has happened (an outbreak), so at most FUTURE_SKEW
    ahead of the server's clock."""
    label = field_label(field)
    if not isinstance(value, datetime):
        raise Invalid(_("%(field)s: give a date and time.") % {"field": label}, field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(_("%(field)s: give the date and time with its time zone.") % {"field": label}, field=field)
    try:
        moment = value.astimezone(UTC)
    except (OverflowError, ValueError):
        moment = None
    if moment is None or moment < EARLIEST:
        raise Invalid(
            _("%(field)s: give a date and time after 1 January 2000.") % {"field": label},
            field=field,
        )
    if not_after_now and moment > clock.now() + FUTURE_SKEW:
        raise Invalid(
            _("%(field)s: this time is in the future; give when it happened.") % {"field": label},
            field=field,
        )
    if moment >= LATEST:
        raise Invalid(
            _("%(field)s: give a date and time before the year 2100.") % {"field": label},
            field=field,
        )
    return moment


def field_label(field: str) -> str:
    """How a message names a field: the outbreak time in words, others by their name."""
    if field == "detected_at":
        return _("Outbreak time")
    return field


def clean_reason(reason: str | None, field: str = "reason") -> str:
    reason = clean_text(reason, field)
    if not reason:
        raise Invalid(_("A reason is required."), field=field)
    if len(reason) > MAX_TEXT:
        raise Invalid(_("Keep the reason under %(n)d characters.") % {"n": MAX_TEXT}, field=field)
    return reason


def check_severity(severity: str, field: str = "severity") -> str:
    if severity not in Severity.values:
        shown = clean_line(str(severity), field, max_length=None)[:40]
        raise Invalid(
            _("Unknown severity “%(value)s” (use %(choices)s).")
            % {"value": shown, "choices": ", ".join(Severity.values)},
            field=field,
        )
    return severity


def check_crisis_type(crisis_type: str, field: str = "crisis_type") -> str:
    known = dict(crisis_type_choices())
    if crisis_type not in known:
        shown = clean_line(str(crisis_type), field, max_length=None)[:40]
        raise Invalid(_("Unknown crisis type “%(value)s”.") % {"value": shown}, field=field)
    return crisis_type
