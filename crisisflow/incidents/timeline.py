"""Writing, verifying and describing the append-only timeline.

Each kind of event is put into words by a describer registered with @describes(kind);
an app that writes a new kind registers its own, without touching this module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import bulk, clock
from crisisflow.incidents.models import Event, Incident, TaskStatus, TimelineHead
from crisisflow.incidents.models.event import GENESIS_HASH
from crisisflow.playbooks.models import crisis_type_label, localized
from crisisflow.vocab import Role, Severity, State

Kind = Event.Kind
log = logging.getLogger(__name__)


def record(incident: Incident, actor, kind: str, data: dict[str, Any] | None = None, *, task=None, at=None) -> Event:
    """Append one event and move the timeline's head onto it. Call inside the transaction
    that made the change, with the incident row locked (select_for_update), so sequence
    numbers never collide."""
    head = TimelineHead.objects.filter(incident=incident).values_list("seq", "hash").first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    event = Event(
        incident=incident,
        seq=seq,
        at=at or clock.now(),
        actor=actor,
        kind=kind,
        task=task,
        data=data or {},
        prev_hash=prev_hash,
    )
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    if head:
        TimelineHead.objects.filter(incident=incident).update(seq=seq, hash=event.hash)
    else:
        TimelineHead.objects.create(incident=incident, seq=seq, hash=event.hash)
    return event


@dataclass(frozen=True)
class Entry:
    """One event for record_many: what record() takes, as data."""

    incident: Incident
    actor: Any
    kind: str
    data: dict[str, Any]
    task: Any = None
    at: Any = None


def record_many(entries: list[Entry]) -> list[Event]:
    """Append many events at once, in the order given, and move each incident's head
    onto its last one: the heads are read with one query, the events written with one
    insert and the heads moved with one update, however many events there are. The same
    chain as record() one by one would write (verify() cannot tell them apart). Call it
    as record(): in the transaction that made the changes, every incident locked."""
    if not entries:
        return []
    incident_ids = {entry.incident.pk for entry in entries}
    heads = {
        incident_id: (seq, hash_)
        for incident_id, seq, hash_ in TimelineHead.objects.filter(incident_id__in=incident_ids).values_list(
            "incident_id", "seq", "hash"
        )
    }
    had_head = set(heads)
    now = clock.now()
    events = []
    for entry in entries:
        seq, prev_hash = heads.get(entry.incident.pk, (0, GENESIS_HASH))
        event = Event(
            incident=entry.incident,
            seq=seq + 1,
            at=entry.at or now,
            actor=entry.actor,
            kind=entry.kind,
            task=entry.task,
            data=entry.data or {},
            prev_hash=prev_hash,
        )
        event.hash = event.compute_hash()
        heads[entry.incident.pk] = (event.seq, event.hash)
        events.append(event)
    bulk.insert(events)
    moved = {pk: head for pk, head in heads.items() if pk in had_head}
    if moved:
        _move_heads(moved)
    TimelineHead.objects.bulk_create(
        TimelineHead(incident_id=pk, seq=seq, hash=hash_) for pk, (seq, hash_) in heads.items() if pk not in had_head
    )
    return events


def _move_heads(heads: dict[int, tuple[int, str]]) -> None:
    """One UPDATE … SET seq = CASE incident …, hash = CASE incident … for every head,
    written out: the ORM's Case/When costs more to build than the update itself."""
    quote = connection.ops.quote_name
    incident = quote(TimelineHead._meta.get_field("incident").column)
    seq, hash_ = quote("seq"), quote("hash")
    cases = " ".join(f"WHEN {incident} = %s THEN %s" for _ in heads)
    sql = (
        f"UPDATE {quote(TimelineHead._meta.db_table)} SET {seq} = CASE {cases} END, {hash_} = CASE {cases} END "
        f"WHERE {incident} IN ({', '.join(['%s'] * len(heads))})"
    )
    params: list = []
    for pk, head in heads.items():
        params += [pk, head[0]]
    for pk, head in heads.items():
        params += [pk, head[1]]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *heads])


@dataclass
class Break:
    incident: Incident
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"{self.incident.reference}: event #{self.seq}: {self.problem}"


def verify(incident: Incident) -> Break | None:
    """The first broken link in an incident's hash chain, or None if it is intact.

    The chain shows an event changed, forged or missing in the middle; the head (the
    number and hash of the last event written) shows events missing at the end, all of
    them included."""
    head = TimelineHead.objects.filter(incident=incident).values_list("seq", "hash").first()
    prev_hash = GENESIS_HASH
    expected_seq = 1
    for event in incident.events.order_by("seq").iterator():
        if event.seq != expected_seq:
            return Break(incident, expected_seq, f"missing (next present is #{event.seq})")
        if event.prev_hash != prev_hash:
            return Break(incident, event.seq, "does not link to the event before it")
        if event.compute_hash() != event.hash:
            return Break(incident, event.seq, "content does not match its hash (changed after writing)")
        prev_hash = event.hash
        expected_seq += 1
    last = expected_seq - 1
    if head is None:
        # Every incident's timeline starts with its report, written with the head.
        return Break(incident, last + 1 if last else 1, "missing (the timeline has no head: no event was recorded)")
    head_seq, head_hash = head
    if last < head_seq:
        ends = f"the timeline ends at #{last}" if last else "no events are left"
        return Break(incident, last + 1, f"missing ({ends}; #{head_seq} was written)")
    if last > head_seq:
        return Break(incident, head_seq + 1, f"not written by the app (the timeline's head is #{head_seq})")
    if prev_hash != head_hash:
        return Break(incident, last, "is not the event that was written last (its hash differs from the head's)")
    return None


def _state_label(value: str) -> str:
    return str(State(value).label) if value in State.values else value


def _person(data: dict, key: str) -> str:
    return data.get(key) or _("nobody")


def _field_label(name: str) -> str:
    try:
        return str(Incident._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a field renamed since the event was written
        return name


def _field_order(name: str) -> int:
    # JSON objects come back from PostgreSQL in its own key order; show the form's.
    names = [f.name for f in Incident._meta.fields]
    return names.index(name) if name in names else len(names)


def _value(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


ALERT_WORDS = {
    "reminder": gettext_lazy("Reminder"),
    "due": gettext_lazy("Due now"),
    "escalation": gettext_lazy("Escalation: overdue"),
    "unassigned": gettext_lazy("Nobody owns this task"),
    "clock_warning": gettext_lazy("Golden clock running out"),
    "clock_expired": gettext_lazy("Golden clock expired"),
    "delivery_failed": gettext_lazy("Delivery failed"),
    "triage_warning": gettext_lazy("Waiting for triage"),
    "triage_overdue": gettext_lazy("Triage overdue"),
}
CHANNEL_WORDS = {
    "in_app": gettext_lazy("in the app"),
    "email": gettext_lazy("e-mail"),
    "webhook": gettext_lazy("chat / webhook"),
}


# --- describing events: one describer per kind --------------------------------------------

Describer = Callable[[Event], str]
Label = str | Promise  # a kind's name, usually gettext_lazy("...")

_describers: dict[str, Describer] = {}
_labels: dict[str, Label] = {}


def describes(kind: str, *, label: Label | None = None) -> Callable[[Describer], Describer]:
    """Register the function that puts events of `kind` into words, in the reader's
    language. An app that writes a new kind of event registers its describer (and the
    kind's name, when it is not one of Event.Kind) from a module its ready() imports:

        @describes("statement_approved", label=gettext_lazy("Statement approved"))
        def statement_approved(event):
            return _("Statement “%(title)s” approved") % {"title": event.data["title"]}
    """
    kind = str(kind)
    max_length = Event._meta.get_field("kind").max_length
    if not kind or (max_length is not None and len(kind) > max_length):
        raise ImproperlyConfigured(f"event kind {kind!r} must be 1 to {max_length} characters long")

    def register(fn: Describer) -> Describer:
        registered = _describers.get(kind)
        if registered is not None and registered is not fn:
            raise ImproperlyConfigured(
                f"event kind {kind!r} is already described by {registered.__module__}.{registered.__qualname__}"
            )
        _describers[kind] = fn
        if label is not None:
            _labels[kind] = label
        return fn

    return register


def unregister(kind: str) -> None:
    """Forget a kind's describer and label (its events then read as kind_label says)."""
    _describers.pop(str(kind), None)
    _labels.pop(str(kind), None)


def kind_label(kind: str) -> str:
    """The name of a kind of event ("Stage change"), for filters and fallbacks."""
    if kind in _labels:
        return str(_labels[kind])
    if kind in Kind.values:
        return str(Kind(kind).label)
    return _("Other event (%(kind)s)") % {"kind": kind}


def describe(event: Event) -> str:
    """One line in the reader's language for the timeline.

    An event no describer knows, or one its describer cannot read (data written by an
    older version, a bug), reads as the name of its kind: a timeline in the middle of a
    crisis must not fail on one event. The failure is logged."""
    describer = _describers.get(event.kind)
    if describer is None:
        return kind_label(event.kind)
    try:
        return describer(event)
    except Exception:
        log.exception("cannot describe timeline event %s of incident %s", event.seq, event.incident_id)
        return kind_label(event.kind)


@describes(Kind.REPORTED)
def _reported(event: Event) -> str:
    return _("Reported “%(title)s”") % {"title": event.data.get("title", "")}


@describes(Kind.TRANSITION)
def _transition(event: Event) -> str:
    d = event.data
    text = _("%(from)s → %(to)s") % {"from": _state_label(d["from"]), "to": _state_label(d["to"])}
    if d.get("plan"):
        text += " — " + _("plan “%(plan)s” v%(version)s, %(count)d tasks") % {
            "plan": localized(d["plan"]["name"]),
            "version": d["plan"]["version"],
            "count": d["plan"]["tasks_created"],
        }
    if d.get("assigned"):
        text += " — " + _("%(count)d tasks assigned to their role leads") % {"count": len(d["assigned"])}
    if d.get("cancelled_tasks"):
        text += " — " + _("%(count)d tasks cancelled") % {"count": d["cancelled_tasks"]}
    if d.get("reason"):
        text += " — " + d["reason"]
    return text


@describes(Kind.SEVERITY)
def _severity(event: Event) -> str:
    d = event.data
    return _("Severity %(before)s → %(after)s — %(reason)s") % {
        "before": Severity(d["before"]).label if d.get("before") else "-",
        "after": Severity(d["after"]).label,
        "reason": d.get("reason", ""),
    }


@describes(Kind.FACTS)
def _facts(event: Event) -> str:
    parts = [
        f"{_field_label(name)}: {_value(change['before'])} → {_value(change['after'])}"
        for name, change in sorted(event.data["changes"].items(), key=lambda item: _field_order(item[0]))
    ]
    text = _("Scope updated: %(changes)s") % {"changes": "; ".join(parts)}
    if event.data.get("reason"):
        text += " — " + event.data["reason"]
    return text


@describes(Kind.COMMANDER)
def _commander(event: Event) -> str:
    return _("Commander: %(before)s → %(after)s") % {
        "before": _person(event.data, "before"),
        "after": _person(event.data, "after"),
    }


@describes(Kind.TEAM)
def _team(event: Event) -> str:
    d = event.data
    if d["change"] == "accepted":
        return _("Proposed team accepted: %(people)s") % {
            "people": ", ".join(f"{m['person']} ({Role(m['role']).label})" for m in d["members"])
        }
    role = Role(d["role"]).label
    if d["change"] == "added":
        return _("%(person)s joined as %(role)s") % {"person": d["person"], "role": role}
    if d["change"] == "lead":
        return _("%(person)s now leads %(role)s") % {"person": d["person"], "role": role}
    return _("%(person)s left %(role)s") % {"person": d["person"], "role": role}


@describes(Kind.ASSIGNMENT)
def _assignment(event: Event) -> str:
    d = event.data
    return _("“%(task)s”: %(before)s → %(after)s") % {
        "task": localized(d["task_title"]),
        "before": _person(d, "before"),
        "after": _person(d, "after"),
    }


@describes(Kind.TASK)
def _task(event: Event) -> str:
    d = event.data
    text = _("“%(task)s”: %(before)s → %(after)s") % {
        "task": localized(d["task_title"]),
        "before": TaskStatus(d["before"]).label,
        "after": TaskStatus(d["after"]).label,
    }
    if d.get("reason"):
        text += " — " + d["reason"]
    if d.get("delivered"):
        # Done by its deliverable going out (actions.complete_by_delivery), e.g. a statement.
        text += " — " + _("delivered: published on %(channel)s") % {"channel": d["delivered"].get("channel", "")}
    return text


@describes(Kind.CHECKLIST)
def _checklist(event: Event) -> str:
    d = event.data
    mark = "☑" if d["done"] else "☐"
    return f"“{localized(d['task_title'])}”: {mark} {localized(d['item'])}"


@describes(Kind.NOTE)
def _note(event: Event) -> str:
    return event.data.get("text", "")


@describes(Kind.ALERT)
def _alert(event: Event) -> str:
    d = event.data
    what = ALERT_WORDS.get(d["alert"], d["alert"])
    if d.get("task_title"):
        subject = f"“{localized(d['task_title'])}”"
    elif str(d["alert"]).startswith("triage"):
        subject = _("confirm or dismiss the report")
    else:
        subject = _("first public statement")
    return _("%(what)s: %(subject)s → %(people)s (%(channels)s)") % {
        "what": what,
        "subject": subject,
        "people": ", ".join(d["recipients"]) or _("nobody"),
        "channels": ", ".join(str(CHANNEL_WORDS.get(c, c)) for c in d["channels"]),
    }


@describes(Kind.DELIVERY)
def _delivery(event: Event) -> str:
    d = event.data
    return _("Delivery failed: %(channel)s to %(target)s after %(attempts)d attempts — %(error)s") % {
        "channel": CHANNEL_WORDS.get(d["channel"], d["channel"]),
        "target": d["target"],
        "attempts": d["attempts"],
        "error": d["error"],
    }


@describes(Kind.COMMENT)
def _comment(event: Event) -> str:
    d = event.data
    return _("On “%(task)s”: %(text)s") % {"task": localized(d["task_title"]), "text": d.get("text", "")}


@describes(Kind.EVIDENCE)
def _evidence(event: Event) -> str:
    d = event.data
    text = _("Evidence attached: “%(name)s” (%(size)s, SHA-256 %(sha256)s)") % {
        "name": d["name"],
        "size": filesizeformat(d["size"]),
        "sha256": d["sha256"],
    }
    if d.get("caption"):
        text += " — " + d["caption"]
    return text


def crisis_type_text(key: str) -> str:
    return crisis_type_label(key) if key else "-"
