"""A notification in words: one language, one time zone.

The outbox stores each message as data (outbox.payload_for); it becomes words only when
it is sent, in the language of the person who reads it. The same pieces (a headline,
a few labelled facts, the link) serve e-mail, which lays them out with the templates in
templates/alerts/, and the chat formats in channels.py, which lay them out themselves.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crisisflow.alerts.ladder import Kind
from crisisflow.alerts.models import Channel
from crisisflow.vocab import Role, Severity

# Short words for subjects and chat titles; the headline says the rest.
KIND_WORDS = {
    Kind.REMINDER: gettext_lazy("Reminder"),
    Kind.DUE: gettext_lazy("Due now"),
    Kind.ESCALATION: gettext_lazy("Overdue"),
    Kind.UNASSIGNED: gettext_lazy("Nobody owns this task"),
    Kind.CLOCK_WARNING: gettext_lazy("Golden clock running out"),
    Kind.CLOCK_EXPIRED: gettext_lazy("Golden clock expired"),
    Kind.DELIVERY_FAILED: gettext_lazy("Delivery failed"),
    Kind.TRIAGE_WARNING: gettext_lazy("Waiting for triage"),
    Kind.TRIAGE_OVERDUE: gettext_lazy("Triage overdue"),
}

# What a failed message went through, for the "delivery failed" headline.
CHANNEL_WORDS = {
    Channel.IN_APP: gettext_lazy("in the app"),
    Channel.EMAIL: gettext_lazy("e-mail"),
    Channel.WEBHOOK: gettext_lazy("chat / webhook"),
}


@dataclass(frozen=True)
class Rendered:
    subject: str  # one line: "[CF-2026-0001] Overdue: “Legal review”"
    text: str  # the plain-text message
    html: str  # the same as an HTML e-mail part
    headline: str  # the one sentence saying what happened
    facts: tuple[tuple[str, str], ...]  # (label, value): incident, severity, task, due
    url: str
    language: str
    zone: str


def zone_of(notification) -> str:
    """A person reads times in their own zone; a team channel in the site's."""
    recipient = notification.recipient if notification.recipient_id else None
    return (recipient.time_zone if recipient is not None else "") or settings.TIME_ZONE


def language_of(notification) -> str:
    recipient = notification.recipient if notification.recipient_id else None
    return (recipient.language if recipient is not None else "") or settings.LANGUAGE_CODE


def when(value: str | None, zone: str) -> str:
    """An ISO time from the payload, in `zone`, unambiguous in every language."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value)
    try:
        local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = "UTC"
        local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {zone}"


def _text(value) -> str:
    """A title as stored: {zh, en} from a playbook, or plain text."""
    if isinstance(value, dict):
        lang = translation.get_language() or settings.LANGUAGE_CODE
        return value.get("zh" if lang.startswith("zh") else "en") or next(iter(value.values()), "")
    return str(value or "")


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else (value or "—")


def headline(payload: dict, zone: str) -> str:
    kind = payload.get("kind", "")
    due = when(payload.get("due_at"), zone)
    if kind == Kind.REMINDER:
        return _("Reminder: this task is due at %(due)s.") % {"due": due}
    if kind == Kind.DUE:
        return _("This task is due now (%(due)s).") % {"due": due}
    if kind == Kind.ESCALATION:
        return _("This task is overdue: it was due at %(due)s and is not finished.") % {"due": due}
    if kind == Kind.UNASSIGNED:
        return _("Nobody owns this task. Assign it now; it is due at %(due)s.") % {"due": due}
    if kind == Kind.CLOCK_WARNING:
        minutes = int(payload.get("minutes_left") or 0)
        return ngettext(
            "Golden clock: %(minutes)d minute left to publish the first public statement.",
            "Golden clock: %(minutes)d minutes left to publish the first public statement.",
            minutes,
        ) % {"minutes": minutes}
    if kind == Kind.CLOCK_EXPIRED:
        return _("Golden clock expired: the first public statement was due at %(due)s and is not published.") % {
            "due": due
        }
    if kind == Kind.TRIAGE_WARNING:
        return _("This report is not confirmed or dismissed yet; triage it by %(due)s.") % {"due": due}
    if kind == Kind.TRIAGE_OVERDUE:
        return _("Triage overdue: this report was to be confirmed or dismissed by %(due)s.") % {"due": due}
    if kind == Kind.DELIVERY_FAILED:
        failed = payload.get("failed") or {}
        return _("A “%(what)s” message could not be delivered by %(channel)s to %(target)s: %(error)s") % {
            "what": KIND_WORDS.get(failed.get("kind", ""), failed.get("kind", "")),
            "channel": CHANNEL_WORDS.get(failed.get("channel", ""), failed.get("channel", "")),
            "target": failed.get("target", "—"),
            "error": failed.get("error", "—"),
        }
    return str(KIND_WORDS.get(kind, kind))


def facts(payload: dict, zone: str) -> tuple[tuple[str, str], ...]:
    incident = payload.get("incident") or {}
    task = payload.get("task")
    lines = [
        (_("Incident"), f"{incident.get('reference', '')} — {incident.get('title', '')}"),
        (_("Severity"), _label(Severity, incident.get("severity", ""))),
    ]
    if task:
        lines.append((_("Task"), _text(task.get("title"))))
        lines.append((_("Role"), _label(Role, task.get("role", ""))))
    kind = payload.get("kind", "")
    if payload.get("due_at"):
        clock = kind in (Kind.CLOCK_WARNING, Kind.CLOCK_EXPIRED)
        label = _("First public statement due") if clock else _("Due")
        if kind in (Kind.TRIAGE_WARNING, Kind.TRIAGE_OVERDUE):
            label = _("Triage due")
        lines.append((label, when(payload["due_at"], zone)))
    return tuple(lines)


def subject(payload: dict) -> str:
    incident = payload.get("incident") or {}
    kind = payload.get("kind", "")
    task = payload.get("task")
    if kind == Kind.CLOCK_WARNING:
        minutes = int(payload.get("minutes_left") or 0)
        what = ngettext("Golden clock: %(minutes)d minute left", "Golden clock: %(minutes)d minutes left", minutes) % {
            "minutes": minutes
        }
    else:
        what = str(KIND_WORDS.get(kind, kind))
    about = f"“{_text(task.get('title'))}”" if task else incident.get("title", "")
    return f"[{incident.get('reference', '')}] {what}: {about}"


def render(notification, language: str, zone: str | None = None, *, html: bool = True) -> Rendered:
    """The notification in `language`, times in `zone` (default: the recipient's, or the
    site's for a team channel). `html=False` leaves the HTML part empty (chat messages
    do not use it, and it costs as much as the rest)."""
    zone = zone or zone_of(notification)
    payload = notification.payload
    with translation.override(language):
        context = {
            "subject": subject(payload),
            "headline": headline(payload, zone),
            "facts": facts(payload, zone),
            "url": payload.get("url", ""),
            "language": language,
            "idempotency_key": notification.idempotency_key,
        }
        return Rendered(
            subject=context["subject"],
            text=render_to_string("alerts/notification.txt", context),
            html=render_to_string("alerts/notification.html", context) if html else "",
            headline=context["headline"],
            facts=context["facts"],
            url=context["url"],
            language=language,
            zone=zone,
        )
