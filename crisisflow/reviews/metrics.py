"""The review's figures, computed from the incident's timeline, never typed in.

Each Metric names the timeline events it came from (their sequence numbers), so the
review page links every figure to its evidence. Apps that own other facts of an incident
— commitments, the public-opinion series — add their figures through the registry:

    from crisisflow.reviews import metrics

    @metrics.provider("commitments_kept")
    def commitments_kept(incident):
        return metrics.Metric("commitments_kept", _("Commitments kept"), kept, str(kept), seqs)

A name the review expects (EXPECTED) that nobody provides, or whose provider returns
None, shows as "no data" — never as zero.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crisisflow import clock
from crisisflow.incidents import golden_clock
from crisisflow.incidents.models import Event, Incident, Task, TimelineHead
from crisisflow.vocab import Role, Stage, State

PUBLISHED = "statement_published"
CORRECTED = "statement_corrected"
SAVED = "statement_version_saved"
DRAFTED = "statement_drafted"
REQUESTED = "statement_approval_requested"
APPROVED = "statement_approved"
ESCALATIONS = ("escalation", "clock_expired", "triage_overdue")
INTERNAL_KINDS = ("internal_notice",)

# The kinds the review reads (the rest of a long timeline is not loaded for it).
READ_KINDS = (
    Event.Kind.REPORTED,
    Event.Kind.TRANSITION,
    Event.Kind.ALERT,
    Event.Kind.TASK,
    PUBLISHED,
    CORRECTED,
    SAVED,
    DRAFTED,
    REQUESTED,
    APPROVED,
)


@dataclass
class Metric:
    key: str
    label: Any
    value: Any  # a timedelta, a number, or None for "no data"
    text: str
    events: list[int] = field(default_factory=list)  # timeline sequence numbers
    note: str = ""
    group: str = "response"

    @property
    def has_data(self) -> bool:
        return self.value is not None


@dataclass
class Milestone:
    key: str
    label: str
    at: datetime
    seq: int | None = None
    since_previous: timedelta | None = None
    since_outbreak: timedelta | None = None


@dataclass
class Figures:
    """Everything the review shows as computed: milestones, metrics, the task table."""

    milestones: list[Milestone]
    metrics: list[Metric]
    tasks_by_role: list[dict]
    tasks_by_stage: list[dict]
    approvals_by_role: list[dict]

    def metric(self, key: str) -> Metric | None:
        return next((m for m in self.metrics if m.key == key), None)


# --- the registry for figures other apps own -----------------------------------------------

Provider = Callable[[Incident], "Metric | list[Metric] | None"]
MilestoneProvider = Callable[[Incident], list[Milestone]]

EXPECTED: dict[str, Any] = {
    "commitments_kept": gettext_lazy("Commitments kept"),
    "commitments_late": gettext_lazy("Commitments kept late"),
    "commitments_broken": gettext_lazy("Commitments broken"),
    "commitments_withdrawn": gettext_lazy("Commitments withdrawn"),
    "commitments_open": gettext_lazy("Commitments still open"),
    "negative_share_recovery": gettext_lazy("Time for the negative share to fall back under its pre-crisis level"),
    "rating_recovery": gettext_lazy("Time for the rating to recover"),
}

_providers: dict[str, Provider] = {}
_milestone_providers: dict[str, MilestoneProvider] = {}


def provider(name: str) -> Callable[[Provider], Provider]:
    """Register the function that computes the figure `name` for an incident."""

    def register(fn: Provider) -> Provider:
        _providers[name] = fn
        return fn

    return register


def milestones_from(name: str) -> Callable[[MilestoneProvider], MilestoneProvider]:
    """Register a function adding milestones (a commitment kept or late…)."""

    def register(fn: MilestoneProvider) -> MilestoneProvider:
        _milestone_providers[name] = fn
        return fn

    return register


@dataclass
class Series:
    """A measured series of the incident (negative share, rating…): (moment, value)
    points and, if known, the pre-crisis level it should return under or to."""

    key: str
    label: Any
    points: list[tuple[datetime, float]]
    baseline: float | None = None
    unit: str = ""


SeriesProvider = Callable[[Incident], "Series | None"]
_series_providers: dict[str, SeriesProvider] = {}


def series(name: str) -> Callable[[SeriesProvider], SeriesProvider]:
    """Register the function giving the series `name` of an incident, drawn on the review
    with the statements marked on it."""

    def register(fn: SeriesProvider) -> SeriesProvider:
        _series_providers[name] = fn
        return fn

    return register


def all_series(incident: Incident) -> list[Series]:
    found = []
    for fn in _series_providers.values():
        one = fn(incident)
        if one is not None and one.points:
            found.append(one)
    return found


def unregister(name: str) -> None:
    _providers.pop(name, None)
    _milestone_providers.pop(name, None)
    _series_providers.pop(name, None)


# --- words ------------------------------------------------------------------------------------


def duration_text(value: timedelta | None) -> str:
    """3 h 05 min, 2 d 4 h, 45 s: short and in the reader's language."""
    if value is None:
        return _("no data")
    seconds = int(abs(value.total_seconds()))
    sign = "−" if value.total_seconds() < 0 else ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return sign + _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return sign + _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    if minutes:
        return sign + _("%(m)d min") % {"m": minutes}
    return sign + _("%(s)d s") % {"s": secs}


def _duration(key: str, label, start: datetime | None, end: datetime | None, seqs: list[int]) -> Metric:
    value = end - start if start is not None and end is not None else None
    return Metric(key, label, value, duration_text(value), [s for s in seqs if s])


# --- computing -------------------------------------------------------------------------------


class _Row:
    """An event as the figures read it: no model instance per event (a long timeline has
    thousands)."""

    __slots__ = ("at", "data", "kind", "seq", "task_id")

    def __init__(self, seq, at, kind, data, task_id):
        self.seq, self.at, self.kind, self.data, self.task_id = seq, at, kind, data, task_id


def load_events(incident: Incident) -> list:
    return [
        _Row(*row)
        for row in Event.objects.filter(incident=incident, kind__in=READ_KINDS)
        .order_by("seq")
        .values_list("seq", "at", "kind", "data", "task_id")
    ]


CACHE_SECONDS = 60


def compute(incident: Incident, now: datetime | None = None) -> Figures:
    """The figures of `incident`. Kept in the cache per timeline head, incident version,
    language and minute: a new event or change shows at once, a running clock within a
    minute. Passing `now` (tests, exports at a given time) computes afresh."""
    from django.utils import translation

    if now is not None:
        return _compute(incident, now)
    now = clock.now()
    head = TimelineHead.objects.filter(incident=incident).values_list("seq", flat=True).first() or 0
    minute = int(now.timestamp() // 60)
    key = f"reviews:figures:{incident.pk}:{head}:{incident.version}:{translation.get_language()}:{minute}"
    figures = cache.get(key)
    if figures is None:
        figures = _compute(incident, now)
        cache.set(key, figures, CACHE_SECONDS * 2)
    return figures


def _first(events: list[Event], test) -> Event | None:
    return next((e for e in events if test(e)), None)


def _transition_to(events: list[Event], state: str) -> Event | None:
    return _first(events, lambda e: e.kind == Event.Kind.TRANSITION and e.data.get("to") == state)


def _last_transition_to(events: list[Event], state: str) -> Event | None:
    found = [e for e in events if e.kind == Event.Kind.TRANSITION and e.data.get("to") == state]
    return found[-1] if found else None


def first_statement_event(incident: Incident, events: list[Event]) -> Event | None:
    """The event that made the first public statement: a publication that stopped the
    clock, or (without the statements app) the publish step."""
    published = _first(events, lambda e: e.kind == PUBLISHED and e.data.get("first_statement"))
    if published is not None:
        return published
    if incident.first_statement_at is not None:
        step = _first(
            events,
            lambda e: e.kind == Event.Kind.TRANSITION
            and e.data.get("to") == State.INFO_PUBLISHED
            and e.at == incident.first_statement_at,
        )
        if step is not None:
            return step
    return None


def lint_errors_of(events: list[Event]) -> dict[tuple[int, int], int]:
    """(statement, version) -> the linter's error count when that version was saved."""
    errors = {}
    for e in events:
        if e.kind in (SAVED, DRAFTED) and e.data.get("version") is not None and "errors" in e.data:
            errors[(e.data.get("statement"), e.data.get("version"))] = int(e.data.get("errors") or 0)
    return errors


def _is_public(kind: str) -> bool:
    return kind not in INTERNAL_KINDS


def _compute(incident: Incident, now: datetime) -> Figures:
    events = load_events(incident)
    outbreak = incident.detected_at
    reported = _first(events, lambda e: e.kind == Event.Kind.REPORTED)
    confirmed = _transition_to(events, State.CONFIRMED)
    activated = _transition_to(events, State.PLAN_ACTIVATED)
    assembled = _transition_to(events, State.TEAM_ASSEMBLED)
    first = first_statement_event(incident, events)
    first_at = first.at if first is not None else incident.first_statement_at

    metrics = [
        _duration("time_to_report", _("Time to report"), outbreak, incident.reported_at, [reported and reported.seq]),
        _duration(
            "time_to_confirm", _("Time to confirm"), outbreak, confirmed and confirmed.at, [confirmed and confirmed.seq]
        ),
        _duration(
            "time_to_activate",
            _("Time to activate the plan"),
            outbreak,
            activated and activated.at,
            [activated and activated.seq],
        ),
        _duration(
            "time_to_assemble",
            _("Time to assemble the team"),
            outbreak,
            assembled and assembled.at,
            [assembled and assembled.seq],
        ),
        _duration(
            "time_to_first_statement",
            _("Time to the first public statement"),
            outbreak,
            first_at,
            [first and first.seq],
        ),
    ]
    metrics.append(_golden(incident, now, first))
    metrics.append(_clean_statement(events, outbreak))
    approvals = _approval_latency(events)
    for row in approvals:
        metrics.append(
            Metric(
                f"approval_latency_{row['role']}",
                _("Approval latency: %(role)s") % {"role": row["label"]},
                row["median"],
                duration_text(row["median"]),
                row["events"],
                group="approvals",
            )
        )
    by_role, by_stage, task_seqs = _tasks(incident, events, now)
    on_time = sum(r["on_time"] for r in by_role)
    finished_or_due = sum(r["on_time"] + r["late"] + r["overdue"] for r in by_role)
    metrics.append(
        Metric(
            "tasks_on_time",
            _("Tasks on time"),
            (on_time / finished_or_due) if finished_or_due else None,
            (
                _("%(on_time)d of %(count)d (%(pct)d%%)")
                % {"on_time": on_time, "count": finished_or_due, "pct": round(100 * on_time / finished_or_due)}
            )
            if finished_or_due
            else _("no data"),
            task_seqs,
            group="tasks",
        )
    )
    escalations = [e for e in events if e.kind == Event.Kind.ALERT and e.data.get("alert") in ESCALATIONS]
    metrics.append(
        Metric(
            "escalations",
            _("Escalations fired"),
            len(escalations),
            ngettext("%(n)d escalation", "%(n)d escalations", len(escalations)) % {"n": len(escalations)},
            [e.seq for e in escalations],
            group="tasks",
        )
    )
    metrics.extend(_provided(incident))
    return Figures(
        milestones=_milestones(incident, events, first),
        metrics=metrics,
        tasks_by_role=by_role,
        tasks_by_stage=by_stage,
        approvals_by_role=approvals,
    )


def _golden(incident: Incident, now: datetime, first: Event | None) -> Metric:
    result = golden_clock.outcome(incident, now)
    seqs = [first.seq] if first is not None else []
    if result.state == "none":
        return Metric("golden_hours", _("Golden hours"), None, _("no clock for this incident"), seqs)
    margin = duration_text(result.margin)
    text = {
        "met": _("met, %(margin)s to spare") % {"margin": margin},
        "missed": _("missed by %(margin)s") % {"margin": margin},
        "running": _("running, %(margin)s left") % {"margin": margin},
    }[result.state]
    if result.state == "missed" and incident.first_statement_at is None:
        text = _("missed by %(margin)s so far (no statement yet)") % {"margin": margin}
    signed = result.margin if result.state != "missed" else -result.margin
    return Metric("golden_hours", _("Golden hours"), signed, text, seqs, note=result.state)


def _clean_statement(events: list[Event], outbreak: datetime) -> Metric:
    """The first public statement published whose version the linter found no error in
    (all three elements: attitude, facts, action)."""
    errors = lint_errors_of(events)
    for e in events:
        if e.kind not in (PUBLISHED, CORRECTED) or not _is_public(e.data.get("kind", "")):
            continue
        found = errors.get((e.data.get("statement"), e.data.get("version")))
        if found == 0:
            saved = [
                s.seq
                for s in events
                if s.kind in (SAVED, DRAFTED)
                and (s.data.get("statement"), s.data.get("version")) == (e.data.get("statement"), e.data.get("version"))
            ]
            return _duration(
                "time_to_clean_statement", _("Time to a first lint-clean statement"), outbreak, e.at, [*saved, e.seq]
            )
    return Metric("time_to_clean_statement", _("Time to a first lint-clean statement"), None, _("no data"))


def _approval_latency(events: list[Event]) -> list[dict]:
    requested: dict[tuple, Event] = {}
    waits: dict[str, list[tuple[timedelta, list[int]]]] = defaultdict(list)
    for e in events:
        key = (e.data.get("statement"), e.data.get("version"))
        if e.kind == REQUESTED:
            requested[key] = e
        elif e.kind == APPROVED and key in requested:
            asked = requested[key]
            waits[e.data.get("role", "")].append((e.at - asked.at, [asked.seq, e.seq]))
    rows = []
    for role in Role.values:
        if role not in waits:
            continue
        spans = [w for w, _s in waits[role]]
        rows.append(
            {
                "role": role,
                "label": Role(role).label,
                "count": len(spans),
                "median": timedelta(seconds=statistics.median(s.total_seconds() for s in spans)),
                "longest": max(spans),
                "events": sorted({seq for _w, seqs in waits[role] for seq in seqs}),
            }
        )
    for row in rows:
        row["median_text"] = duration_text(row["median"])
        row["longest_text"] = duration_text(row["longest"])
    return rows


def _tasks(incident: Incident, events: list[Event], now: datetime):
    done_event = {}
    for e in events:
        if e.kind == Event.Kind.TASK and e.data.get("after") == "done" and e.task_id:
            done_event[e.task_id] = e.seq
    roles: dict[str, dict] = {}
    stages: dict[str, dict] = {}
    seqs = []
    tasks = Task.objects.filter(incident=incident).values_list(
        "id", "role", "stage", "status", "due_at", "completed_at"
    )
    for pk, role, stage, status, due, completed in tasks:
        if status in ("skipped", "cancelled"):
            verdict = "skipped"
        elif status == "done":
            verdict = "on_time" if due is None or (completed and completed <= due) else "late"
            if pk in done_event:
                seqs.append(done_event[pk])
        elif due is not None and due < now:
            verdict = "overdue"
        else:
            verdict = "open"
        for table, name in ((roles, role), (stages, stage)):
            row = table.setdefault(name, {"key": name, "on_time": 0, "late": 0, "overdue": 0, "open": 0, "skipped": 0})
            row[verdict] += 1
    by_role = [dict(roles[r], label=Role(r).label) for r in Role.values if r in roles]
    by_stage = [dict(stages[s], label=Stage(s).label) for s in Stage.values if s in stages]
    return by_role, by_stage, sorted(seqs)


def _provided(incident: Incident) -> list[Metric]:
    """The figures other apps give, in EXPECTED's order. A provider may give several at
    once (a list): the names among them count as given."""
    out: list[Metric] = []
    given: set[str] = set()
    names = list(EXPECTED) + [n for n in _providers if n not in EXPECTED]
    for name in names:
        if name in given:
            continue
        fn = _providers.get(name)
        found = fn(incident) if fn is not None else None
        if found is None:
            label = EXPECTED.get(name, name)
            out.append(Metric(name, label, None, _("no data"), group="outside"))
            given.add(name)
            continue
        for metric in found if isinstance(found, list) else [found]:
            if metric.key not in given:
                out.append(metric)
                given.add(metric.key)
        given.add(name)
    for m in out:
        m.group = "outside"
    return out


def statement_kind_label(key: str) -> str:
    """The name of a kind of statement in the reader's language (its key if unknown)."""
    from crisisflow.statements import kinds

    found = kinds.KINDS.get(key)
    return str(found.label) if found is not None else key


MILESTONE_LABELS = {
    "outbreak": gettext_lazy("Outbreak"),
    "reported": gettext_lazy("Reported"),
    "confirmed": gettext_lazy("Confirmed"),
    "plan_activated": gettext_lazy("Plan activated"),
    "team_assembled": gettext_lazy("Team assembled"),
    "internal_notice": gettext_lazy("Internal notice"),
    "first_statement": gettext_lazy("First public statement"),
    "statement": gettext_lazy("Later statement"),
    "remediating": gettext_lazy("Remediation"),
    "in_review": gettext_lazy("Review"),
    "closed": gettext_lazy("Closed"),
}


def _milestones(incident: Incident, events: list[Event], first: Event | None) -> list[Milestone]:
    found: list[Milestone] = [Milestone("outbreak", str(MILESTONE_LABELS["outbreak"]), incident.detected_at)]

    def add(key: str, event: Event | None, label: str | None = None) -> None:
        if event is not None:
            found.append(Milestone(key, label or str(MILESTONE_LABELS[key]), event.at, event.seq))

    add("reported", _first(events, lambda e: e.kind == Event.Kind.REPORTED))
    for state in (State.CONFIRMED, State.PLAN_ACTIVATED, State.TEAM_ASSEMBLED):
        add(str(state), _transition_to(events, state))
    add("internal_notice", _first(events, lambda e: e.kind == PUBLISHED and e.data.get("kind") in INTERNAL_KINDS))
    add("first_statement", first)
    for e in events:
        if e.kind in (PUBLISHED, CORRECTED) and e is not first and _is_public(e.data.get("kind", "")):
            label = _("Correction") if e.kind == CORRECTED else str(MILESTONE_LABELS["statement"])
            add(
                "statement",
                e,
                f"{label} ({statement_kind_label(e.data.get('kind', ''))}, v{e.data.get('version', '')})",
            )
    add("remediating", _transition_to(events, State.REMEDIATING))
    add("in_review", _last_transition_to(events, State.IN_REVIEW))
    add("closed", _last_transition_to(events, State.CLOSED))
    for fn in _milestone_providers.values():
        found.extend(fn(incident) or [])
    found.sort(key=lambda m: (m.at, m.seq or 0))
    previous = None
    for m in found:
        m.since_outbreak = m.at - incident.detected_at
        m.since_previous = m.at - previous if previous is not None else None
        previous = m.at
    return found
