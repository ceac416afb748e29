"""A notification in words: one language, one time zone.

The outbox stores each message as data (outbox.payload_for); it becomes words only when
it is sent, in the language of the person who reads it. The same pieces (a headline,
a few labelled facts, the link) serve e-mail, which lays them out with the templates in
templates/alerts/, and the chat formats in channels.py, which lay them out themselves.
"""

from __future__ import annotations

import re
import weakref
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy, ngettext, trans_real

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
    Kind.APPROVAL_REQUESTED: gettext_lazy("Approval requested"),
    Kind.APPROVAL_DUE: gettext_lazy("Approval due"),
    Kind.APPROVAL_OVERDUE: gettext_lazy("Approval overdue"),
    Kind.DIGEST: gettext_lazy("Digest"),
    Kind.EARLY_WARNING: gettext_lazy("Early warning"),
}

# What a failed message went through, for the "delivery failed" headline.
CHANNEL_WORDS = {
    Channel.IN_APP: gettext_lazy("in the app"),
    Channel.EMAIL: gettext_lazy("e-mail"),
    Channel.WEBHOOK: gettext_lazy("chat / webhook"),
}


# What the reader sees instead of a message about an incident they may no longer see
# (removed from its team, say): no title, no task, no link.
HIDDEN = gettext_lazy("A notification about an incident you can no longer see")


# --- words in the reader's language --------------------------------------------------------------
#
# A message is a dozen fixed words and labels around the parts that are its own; Django's
# gettext looks each one up through the active language's catalogue and its fallbacks
# every time, which was half the cost of rendering one. While render() works, the words
# it has translated are kept per catalogue (a catalogue Django reloads is a new object,
# with words of its own).
_catalogue_words: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_words: ContextVar[dict | None] = ContextVar("crisisflow_message_words", default=None)


@contextmanager
def _in_language(language: str) -> Iterator[None]:
    with translation.override(language):
        catalogue = trans_real.catalog()
        words = _catalogue_words.get(catalogue)
        if words is None:
            words = _catalogue_words[catalogue] = {}
        token = _words.set(words)
        try:
            yield
        finally:
            _words.reset(token)


def _(message: str) -> str:
    """gettext, remembered for the catalogue render() is working in."""
    words = _words.get()
    if words is None:
        return gettext(message)
    text = words.get(message)
    if text is None:
        text = words[message] = gettext(message)
    return text


def _said(lazy) -> str:
    """A lazily translated constant (a label, a kind's word) as text, remembered like _()."""
    words = _words.get()
    if words is None:
        return str(lazy)
    # The constants live as long as the process: their id is their name.
    key = id(lazy)
    text = words.get(key)
    if text is None:
        text = words[key] = str(lazy)
    return text


@dataclass(frozen=True)
class Item:
    """One alert of a digest, in words."""

    line: str  # "CF-2026-0001 Payments down · Overdue · “Legal review” · due 2026-03-02 20:00 Asia/Shanghai"
    url: str  # empty when hidden
    hidden: bool = False

    @property
    def path(self) -> str:
        """The link within this site (the inbox links without the host)."""
        site = settings.SITE_URL.rstrip("/")
        return self.url[len(site) :] if site and self.url.startswith(site + "/") else self.url


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
    title: str = ""  # the incident's title, for the inbox ("" when hidden or a digest)
    items: tuple[Item, ...] = ()  # a digest's alerts, most urgent first
    hidden: bool = False  # the reader may no longer see what it is about


# --- user text in messages ---------------------------------------------------------------------
#
# Titles are whatever was typed or stored: line breaks, NUL, lone surrogates, direction
# overrides, 10,000 characters. A message must be built whatever they hold: a line break in
# an e-mail subject makes Django refuse the message, a lone surrogate cannot be encoded,
# a right-to-left override turns the rest of a subject around, and a chat platform
# refuses an over-long card. So every piece of user text is cleaned where it enters a
# message, and bounded.

# Embeddings, overrides and isolates: they reorder what follows them, in the subject too.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_SPACES = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")
# Unicode categories Cc (C0 and C1 controls), Zl and Zp (line and paragraph separators).
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# Longest piece of user text in a subject line, and in a chat card or an inbox line.
SUBJECT_TEXT_LIMIT = 120
CARD_TEXT_LIMIT = 300
BODY_TEXT_LIMIT = 2000


def one_line(value, limit: int = BODY_TEXT_LIMIT) -> str:
    """`value` as one line of printable text at most `limit` characters long: line breaks
    and other control characters become spaces, direction overrides are dropped, lone
    surrogates become U+FFFD, and an over-long text ends in "…"."""
    return _one_line(str(value or ""), limit)


# The same titles and references come up in message after message.
@lru_cache(maxsize=4096)
def _one_line(text: str, limit: int) -> str:
    text = _SURROGATES.sub("\ufffd", text)
    text = text.translate(_BIDI_CONTROLS)
    text = _BREAKS.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


# Markdown chat cards (DingTalk, WeCom): user text must not become a link, an image, a
# heading or a <font> tag. Line breaks are gone already (one_line), so nothing can start
# a block; the rest is escaped with a backslash, which CommonMark allows before any
# ASCII punctuation.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()<>#!|~])")


def markdown_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


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


def _text(value, limit: int = BODY_TEXT_LIMIT) -> str:
    """A title as stored ({zh, en} from a playbook, or plain text), as one clean line."""
    if isinstance(value, dict):
        lang = translation.get_language() or settings.LANGUAGE_CODE
        value = value.get("zh" if lang.startswith("zh") else "en") or next(iter(value.values()), "")
    return one_line(value, limit)


# value -> lazy label, per choices class (`choices.values` builds a list on every call).
_LABELS = {choices: dict(choices.choices) for choices in (Severity, Role)}


def _word(words: dict, key: str) -> str:
    """A kind's or a channel's word; an unknown one as it is."""
    word = words.get(key)
    return _said(word) if word is not None else key


def _label(choices, value: str) -> str:
    label = _LABELS[choices].get(value)
    return _said(label) if label is not None else (value or "—")


def _promise(commitment: dict, limit: int, esc) -> dict[str, str]:
    """A commitment's words for its reminders: what was promised, to whom, by whom."""
    return {
        "text": esc(one_line(commitment.get("text"), limit)),
        "scope": esc(one_line(commitment.get("scope"), limit)) or str(_("the public")),
        "owner": esc(one_line(commitment.get("owner"), CARD_TEXT_LIMIT)) or "—",
    }


def commitment_headline(payload: dict, zone: str, esc=str) -> str:
    """A public commitment's reminder (to its owner), due moment (owner and commander)
    or escalation (executive and commander): what was promised, to whom, and when."""
    kind = payload.get("kind", "")
    words = {**_promise(payload["commitment"], CARD_TEXT_LIMIT, esc), "due": when(payload.get("due_at"), zone)}
    if kind == Kind.REMINDER:
        return _("Reminder: we promised %(scope)s “%(text)s” by %(due)s. Keep it and record the evidence.") % words
    if kind == Kind.DUE:
        return (
            _(
                "The promise to %(scope)s “%(text)s” is due now (%(due)s) and not marked kept: "
                "the public notice shows it as late."
            )
            % words
        )
    return (
        _("The promise to %(scope)s “%(text)s” is late: it was due by %(due)s and %(owner)s has not marked it kept.")
        % words
    )


def headline(payload: dict, zone: str, esc=str) -> str:
    kind = payload.get("kind", "")
    if payload.get("commitment") and kind in (Kind.REMINDER, Kind.DUE, Kind.ESCALATION):
        return commitment_headline(payload, zone, esc)
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
    if kind == Kind.EARLY_WARNING:
        warning = payload.get("early_warning") or {}
        return _(
            "Early warning: rule “%(rule)s” fired for %(brand)s (%(figure)s) and opened this incident; "
            "confirm or dismiss it by %(due)s."
        ) % {
            "rule": esc(one_line(warning.get("rule") or "—", CARD_TEXT_LIMIT)),
            "brand": esc(one_line(warning.get("brand") or "—", CARD_TEXT_LIMIT)),
            "figure": esc(_text(warning.get("figure") or "—", CARD_TEXT_LIMIT)),
            "due": due,
        }
    if kind in (Kind.APPROVAL_REQUESTED, Kind.APPROVAL_DUE, Kind.APPROVAL_OVERDUE):
        statement = payload.get("statement") or {}
        what = esc(_text(statement.get("kind_label") or statement.get("kind") or "—", CARD_TEXT_LIMIT))
        if kind == Kind.APPROVAL_REQUESTED:
            return _("Your approval is asked for the %(what)s, by %(due)s.") % {"what": what, "due": due}
        if kind == Kind.APPROVAL_DUE:
            return _("The %(what)s waits for your approval; it was due by %(due)s.") % {"what": what, "due": due}
        return _("The %(what)s is still not approved; it was due by %(due)s.") % {"what": what, "due": due}
    if kind == Kind.DELIVERY_FAILED:
        failed = payload.get("failed") or {}
        return _("A “%(what)s” message could not be delivered by %(channel)s to %(target)s: %(error)s") % {
            "what": _word(KIND_WORDS, failed.get("kind", "")),
            "channel": _word(CHANNEL_WORDS, failed.get("channel", "")),
            "target": esc(one_line(failed.get("target") or "—", CARD_TEXT_LIMIT)),
            "error": esc(one_line(failed.get("error") or "—", CARD_TEXT_LIMIT)),
        }
    return _word(KIND_WORDS, kind)


def facts(payload: dict, zone: str, limit: int = BODY_TEXT_LIMIT, esc=str) -> tuple[tuple[str, str], ...]:
    incident = payload.get("incident") or {}
    task = payload.get("task")
    reference = one_line(incident.get("reference"), 40)
    lines = [
        (_("Incident"), f"{esc(reference)} — {esc(_text(incident.get('title'), limit))}"),
        (_("Severity"), _label(Severity, incident.get("severity", ""))),
    ]
    if task:
        lines.append((_("Task"), esc(_text(task.get("title"), limit))))
        lines.append((_("Role"), _label(Role, task.get("role", ""))))
    commitment = payload.get("commitment")
    if commitment:
        words = _promise(commitment, limit, esc)
        lines.append((_("Commitment"), words["text"]))
        lines.append((_("Promised to"), words["scope"]))
        lines.append((_("Owner"), words["owner"]))
    kind = payload.get("kind", "")
    if kind == Kind.EARLY_WARNING:
        warning = payload.get("early_warning") or {}
        lines.append((_("Rule"), esc(one_line(warning.get("rule") or "—", limit))))
        lines.append((_("Brand or product"), esc(one_line(warning.get("brand") or "—", limit))))
        lines.append((_("What crossed"), esc(_text(warning.get("figure") or "—", limit))))
    if payload.get("due_at"):
        clock = kind in (Kind.CLOCK_WARNING, Kind.CLOCK_EXPIRED)
        label = _("First public statement due") if clock else _("Due")
        if kind in (Kind.TRIAGE_WARNING, Kind.TRIAGE_OVERDUE, Kind.EARLY_WARNING):
            label = _("Triage due")
        lines.append((label, when(payload["due_at"], zone)))
    return tuple(lines)


def _what(payload: dict) -> str:
    kind = payload.get("kind", "")
    if kind == Kind.CLOCK_WARNING:
        minutes = int(payload.get("minutes_left") or 0)
        return ngettext("Golden clock: %(minutes)d minute left", "Golden clock: %(minutes)d minutes left", minutes) % {
            "minutes": minutes
        }
    return _word(KIND_WORDS, kind)


def subject(payload: dict) -> str:
    """One line, whatever the titles hold: an e-mail header and a chat card's title."""
    incident = payload.get("incident") or {}
    task = payload.get("task")
    commitment = payload.get("commitment")
    if task:
        about = f"“{_text(task.get('title'), SUBJECT_TEXT_LIMIT)}”"
    elif commitment:
        about = _("commitment “%(text)s”") % {"text": one_line(commitment.get("text"), SUBJECT_TEXT_LIMIT)}
    else:
        about = _text(incident.get("title"), SUBJECT_TEXT_LIMIT)
    return f"[{one_line(incident.get('reference'), 40)}] {_what(payload)}: {about}"


# --- who may read what ---------------------------------------------------------------------------


def spoken_of(notification) -> dict[int, bool | None]:
    """The incidents a message speaks of (its own, or each of a digest's), by id, with
    whether each is restricted: from the incident row if it was read with the message,
    else from the payload (None: not known, e.g. a row written before it said)."""
    payload = notification.payload or {}
    parts = payload.get("items") if payload.get("kind") == Kind.DIGEST else [payload]
    found: dict[int, bool | None] = {}
    for part in parts or []:
        pk = part.get("incident_id") or notification.incident_id
        restricted = part.get("restricted")
        found[pk] = restricted if isinstance(restricted, bool) else None
    if notification.incident_id and _incident_loaded(notification):
        found[notification.incident_id] = notification.incident.restricted
    return found or {notification.incident_id: None}


def _incident_loaded(notification) -> bool:
    return type(notification)._meta.get_field("incident").is_cached(notification)


def readable_incidents(notification) -> set[int]:
    """Of the incidents the message speaks of, those its reader may see now (not when it
    was written): a person as the incident's page decides (permissions), a team chat
    group only unrestricted incidents unless the endpoint is allowed restricted ones.

    Worked out once per row and kept on it; the inbox works it out for a whole page of
    rows in one query and leaves it on each (inbox.mark_readable)."""
    known = getattr(notification, "readable", None)
    if known is not None:
        return known
    spoken = spoken_of(notification)
    readable = {pk for pk, restricted in spoken.items() if restricted is False}
    doubtful = [pk for pk in spoken if pk not in readable]
    if doubtful:
        readable |= _may_see(notification, doubtful)
    notification.readable = readable
    return readable


def _may_see(notification, ids: list[int]) -> set[int]:
    from crisisflow.incidents.models import Incident
    from crisisflow.incidents.permissions import visible_incidents

    if notification.recipient_id:
        return set(visible_incidents(notification.recipient).filter(pk__in=ids).values_list("pk", flat=True))
    endpoint = notification.endpoint if notification.endpoint_id else None
    if endpoint is not None and endpoint.restricted_incidents:
        return set(ids)
    return set(Incident.objects.filter(pk__in=ids, restricted=False).values_list("pk", flat=True))


def _readable(part: dict, notification, readable: set[int]) -> bool:
    return (part.get("incident_id") or notification.incident_id) in readable


# --- the message ---------------------------------------------------------------------------------

# Most urgent first, in a digest.
URGENCY = [
    Kind.CLOCK_EXPIRED,
    Kind.TRIAGE_OVERDUE,
    Kind.EARLY_WARNING,
    Kind.ESCALATION,
    Kind.DUE,
    Kind.UNASSIGNED,
    Kind.DELIVERY_FAILED,
    Kind.CLOCK_WARNING,
    Kind.TRIAGE_WARNING,
    Kind.REMINDER,
]

# An incident's title in a digest's line, at most.
DIGEST_TITLE_LIMIT = 60

# A chat card lists this many of a digest's alerts, then says how many more there are
# (Slack takes at most ten fields, and a long card is not read).
CARD_ITEMS = 9


def _item(part: dict, notification, readable: set[int], zone: str, limit: int, esc) -> Item:
    if not _readable(part, notification, readable):
        return Item(line=_said(HIDDEN), url="", hidden=True)
    incident = part.get("incident") or {}
    task = part.get("task")
    commitment = part.get("commitment")
    if task:
        about = f"“{esc(_text(task.get('title'), limit))}”"
    elif commitment:
        about = _("commitment “%(text)s”") % {"text": esc(one_line(commitment.get("text"), limit))}
    else:
        about = str(_("first public statement"))
    # The incident by reference and (the start of) its title: a digest may span several.
    named = f"{esc(one_line(incident.get('reference'), 40))} {esc(_text(incident.get('title'), DIGEST_TITLE_LIMIT))}"
    pieces = [named.strip(), _what(part), about]
    if part.get("due_at"):
        pieces.append(_("due %(when)s") % {"when": when(part["due_at"], zone)})
    return Item(line=" · ".join(pieces), url=one_line(part.get("url"), 500))


def _digest_subject(parts: list[dict], items: tuple[Item, ...]) -> str:
    """ "[CF-2026-0001] 11 alerts: Overdue (9), Due now (2)"; "[CrisisFlow] …" across incidents."""
    seen = [part for part, item in zip(parts, items, strict=True) if not item.hidden]
    references = {(part.get("incident") or {}).get("reference") for part in seen}
    kinds: dict[str, int] = {}
    for part in seen:
        word = _word(KIND_WORDS, part.get("kind", ""))
        kinds[word] = kinds.get(word, 0) + 1
    where = one_line(next(iter(references)), 40) if len(references) == 1 else "CrisisFlow"
    what = ngettext("%(count)d alert", "%(count)d alerts", len(parts)) % {"count": len(parts)}
    summary = ", ".join(f"{word} ({n})" for word, n in kinds.items())
    return one_line(f"[{where}] {what}: {summary}", 250)


def plain_text(context: dict) -> str:
    """The plain-text body (e-mail text part, generic webhook `text`). Built here rather
    than by a template: it goes with nearly every message the engine sends, and the
    template engine cost more than the rest of the message put together."""
    parts: list[str] = []
    if context["headline"]:
        parts.append(f"{context['headline']}\n\n")
    parts.extend(f"{label}: {value}\n" for label, value in context["facts"])
    for item in context["items"]:
        parts.append(f"- {item.line}\n")
        if item.url:
            parts.append(f"  {item.url}\n")
    if context["url"]:
        parts.append(f"\n{_('Open in CrisisFlow')}: {context['url']}\n")
    # "-- " (with its space) is the signature separator mail readers know.
    parts.append("\n-- \n")
    key = context["idempotency_key"]
    parts.append(_("Sent by CrisisFlow. Reference: %(idempotency_key)s") % {"idempotency_key": key})
    parts.append("\n\n")
    return "".join(parts)


def render(notification, language: str, zone: str | None = None, *, card: str = "", html: bool = True) -> Rendered:
    """The notification in `language`, times in `zone` (default: the recipient's, or the
    site's for a team channel). `html=False` leaves the HTML part empty (chat messages
    do not use it, and it costs as much as the rest).

    `card` is for chat: "markdown" (DingTalk, WeCom) escapes user text for markdown, any
    other non-empty value ("text") only bounds it shorter. Whatever the stored titles
    hold, the result is one clean subject line and text that encodes. What is about an
    incident the reader may no longer see says only so (HIDDEN)."""
    zone = zone or zone_of(notification)
    payload = notification.payload or {}
    limit = CARD_TEXT_LIMIT if card else BODY_TEXT_LIMIT
    esc = markdown_escape if card == "markdown" else str
    readable = readable_incidents(notification)
    with _in_language(language):
        title = ""
        items: tuple[Item, ...] = ()
        hidden = False
        if payload.get("kind") == Kind.DIGEST:
            parts = list(payload.get("items") or [])
            items = tuple(_item(p, notification, readable, zone, limit, esc) for p in parts)
            hidden = all(item.hidden for item in items)
            head = ngettext(
                "%(count)d alert at once, most urgent first:",
                "%(count)d alerts at once, most urgent first:",
                len(items),
            ) % {"count": len(items)}
            card_facts = [
                (f"{index}.", f"{item.line} {item.url}".strip()) for index, item in enumerate(items[:CARD_ITEMS], 1)
            ]
            if len(items) > CARD_ITEMS:
                more = len(items) - CARD_ITEMS
                card_facts.append(("…", ngettext("%(count)d more", "%(count)d more", more) % {"count": more}))
            subject_line = _said(HIDDEN) if hidden else _digest_subject(parts, items)
            context_facts = tuple(card_facts)
            url = "" if hidden else one_line(payload.get("url"), 500)
        elif not _readable(payload, notification, readable):
            hidden = True
            subject_line, head, context_facts, url = _said(HIDDEN), "", (), ""
        else:
            subject_line = subject(payload)
            head = headline(payload, zone, esc)
            context_facts = facts(payload, zone, limit, esc)
            url = one_line(payload.get("url"), 500)
            title = _text((payload.get("incident") or {}).get("title"), limit)
        context = {
            "subject": subject_line,
            "headline": head,
            "facts": () if items else context_facts,
            "items": items,
            "url": url,
            "language": language,
            "idempotency_key": notification.idempotency_key,
        }
        return Rendered(
            subject=subject_line,
            text=plain_text(context),
            html=render_to_string("alerts/notification.html", context) if html else "",
            headline=head,
            facts=context_facts,
            url=url,
            language=language,
            zone=zone,
            title=title,
            items=items,
            hidden=hidden,
        )
