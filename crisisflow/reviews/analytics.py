"""Figures across incidents: what the managers and executives read to improve the plans.

Every figure comes from the incidents' own columns and timelines; only the incidents
the reader may see count (a restricted incident outside their reach never does).
Incidents dismissed as false alarms are counted apart, never in the rates. Drills
(crisisflow.notices.drills) never count at all: not in a figure, a list or the CSV.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.db.models import Count, F, FloatField, Func, Q

from crisisflow import clock
from crisisflow.commitments.tally import Tally, tally_by_incident
from crisisflow.incidents import permissions
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.incidents.models.task import UNFINISHED
from crisisflow.notices.drills import without_drills
from crisisflow.reviews import charts
from crisisflow.reviews.metrics import APPROVED, REQUESTED, duration_text
from crisisflow.vocab import Role, State
from crisisflow.watch.incident_brands import brand_names, incident_ids_of_brand


class Epoch(Func):
    """A moment as seconds since 1970 (NULL stays NULL)."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)", **extra
        )


@dataclass
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    crisis_type: str = ""
    severity: str = ""
    brand: str = ""  # a brand's or product's key (crisisflow.watch)

    @classmethod
    def from_form(cls, cleaned: dict) -> Filters:
        """From the cleaned data of the page's filter form or the API's query."""
        since, until = cleaned.get("since"), cleaned.get("until")
        return cls(
            since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
            until=datetime.combine(until, time.max, tzinfo=UTC) if until else None,
            crisis_type=cleaned.get("crisis_type") or "",
            severity=cleaned.get("severity") or "",
            brand=cleaned.get("brand") or "",
        )


@dataclass
class Analytics:
    incidents: int = 0
    dismissed: int = 0
    open: int = 0
    golden_decided: int = 0
    golden_met: int = 0
    first_statement: list[float] = field(default_factory=list)  # seconds after the outbreak
    to_close: list[float] = field(default_factory=list)
    overdue_by_role: list[dict] = field(default_factory=list)
    approvals_by_role: list[dict] = field(default_factory=list)
    root_causes: list[tuple[str, int]] = field(default_factory=list)
    commitments: Tally = field(default_factory=Tally)
    months: list[dict] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)

    @property
    def commitments_kept_rate(self) -> float | None:
        """Commitments kept (on time or late) out of those whose due time came or that
        were settled; withdrawn ones and those not yet due are left out."""
        return self.commitments.kept_rate

    @property
    def commitments_kept(self) -> int:
        return self.commitments.kept + self.commitments.late

    @property
    def golden_rate(self) -> float | None:
        return self.golden_met / self.golden_decided if self.golden_decided else None

    def median_first_statement(self):
        return _median(self.first_statement)

    def p90_first_statement(self):
        return _percentile(self.first_statement, 0.9)

    def median_to_close(self):
        return _median(self.to_close)

    def text(self, value):
        return duration_text(value)

    def trend_chart(self) -> str:
        return charts.bar_chart(
            [(m["month"], (100 * m["met"] / m["decided"]) if m["decided"] else None) for m in self.months], unit="%"
        )

    def first_statement_chart(self) -> str:
        return charts.bar_chart([(m["month"], charts.hours(m["median_first"])) for m in self.months], unit=" h")


def _median(values: list[float]):
    """The median of durations in seconds (or timedeltas), as a timedelta."""
    if not values:
        return None
    middle = statistics.median(v.total_seconds() if isinstance(v, timedelta) else v for v in values)
    return timedelta(seconds=middle)


def _percentile(values: list[float], q: float):
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(q * (len(ordered) - 1)))))
    return timedelta(seconds=ordered[index])


def scope(user, filters: Filters):
    if user.is_superuser:
        qs = Incident.objects.all()
    else:
        # A semi-join on who may see what (the same rule as everywhere), not a DISTINCT
        # over every incident's team rows.
        qs = Incident.objects.filter(pk__in=permissions.visible_incidents(user).order_by().values("pk"))
    if filters.since:
        qs = qs.filter(detected_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(detected_at__lt=filters.until)
    if filters.crisis_type:
        qs = qs.filter(crisis_type=filters.crisis_type)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    if filters.brand:
        qs = qs.filter(pk__in=incident_ids_of_brand(filters.brand))
    return without_drills(qs)


def compute(user, filters: Filters, *, now: datetime | None = None, rows: bool = False) -> Analytics:
    """The figures; `rows`: also one row per incident (for the CSV)."""
    now = now or clock.now()
    qs = scope(user, filters)
    result = Analytics()
    months: dict[str, dict] = defaultdict(lambda: {"count": 0, "met": 0, "decided": 0, "first": []})
    # Times as seconds since the epoch, worked out by the database: parsing 40,000
    # timestamps in Python costs more than all the rest of the page.
    keep_rows = rows
    found = qs.order_by().annotate(
        detected_s=Epoch("detected_at"),
        first_s=Epoch("first_statement_at"),
        due_s=Epoch("statement_due_at"),
        closed_s=Epoch("closed_at"),
    )
    now_s = now.timestamp()
    month_of_day: dict[int, str] = {}
    for pk, ref, state, detected, first, due, closed, ctype, severity in found.values_list(
        "pk", "reference", "state", "detected_s", "first_s", "due_s", "closed_s", "crisis_type", "severity"
    ):
        if state == State.DISMISSED:
            result.dismissed += 1
            continue
        result.incidents += 1
        if state != State.CLOSED:
            result.open += 1
        day = int(detected // 86400)
        label = month_of_day.get(day)
        if label is None:
            label = month_of_day[day] = datetime.fromtimestamp(detected, UTC).strftime("%Y-%m")
        month = months[label]
        month["count"] += 1
        met = None
        if due is not None and (first is not None or now_s > due):
            met = first is not None and first <= due
            result.golden_decided += 1
            month["decided"] += 1
            if met:
                result.golden_met += 1
                month["met"] += 1
        to_first = first - detected if first is not None else None
        to_close = closed - detected if closed is not None else None
        if to_first is not None:
            result.first_statement.append(to_first)
            month["first"].append(to_first)
        if to_close is not None:
            result.to_close.append(to_close)
        if keep_rows:
            result.rows.append([pk, ref, ctype, severity, state, detected, to_first, met, to_close])
    result.months = [
        {
            "month": key,
            "count": m["count"],
            "met": m["met"],
            "decided": m["decided"],
            "median_first": _median(m["first"]),
        }
        for key, m in sorted(months.items())
    ]
    counted = qs.exclude(state=State.DISMISSED)
    overdue = (
        Task.objects.filter(incident__in=counted.values("pk"), due_at__isnull=False)
        .filter(Q(status="done", completed_at__gt=F("due_at")) | Q(status__in=UNFINISHED, due_at__lt=now))
        .values("role")
        .annotate(n=Count("id"))
    )
    by_role = {row["role"]: row["n"] for row in overdue}
    result.overdue_by_role = [
        {"role": r, "label": Role(r).label, "count": by_role[r]} for r in Role.values if r in by_role
    ]
    result.approvals_by_role = _approval_latency(counted)
    from crisisflow.reviews.models import Review

    causes: dict[str, int] = defaultdict(int)
    for content in Review.objects.filter(incident__in=counted.values("pk"), version__gt=0).values_list(
        "content", flat=True
    ):
        cause = " ".join(((content or {}).get("root_cause") or "").split()).lower()[:120]
        if cause:
            causes[cause] += 1
    result.root_causes = sorted(((c, n) for c, n in causes.items() if n > 1), key=lambda x: -x[1])
    tallies = tally_by_incident(counted.values("pk"), now)
    for one in tallies.values():
        result.commitments.add(one)
    if keep_rows:
        brands = brand_names(counted.values("pk"))
        for row in result.rows:
            pk = row.pop(0)
            one = tallies.get(pk) or Tally()
            row += [brands.get(pk, ""), one.kept + one.late, one.decided]
    return result


def _approval_latency(incidents) -> list[dict]:
    asked: dict[tuple, datetime] = {}
    waits: dict[str, list[timedelta]] = defaultdict(list)
    events = (
        Event.objects.filter(incident__in=incidents.values("pk"), kind__in=(REQUESTED, APPROVED))
        .order_by("incident_id", "seq")
        .values_list("incident_id", "kind", "at", "data")
    )
    for incident_id, kind, at, data in events:
        key = (incident_id, data.get("statement"), data.get("version"))
        if kind == REQUESTED:
            asked[key] = at
        elif key in asked:
            waits[data.get("role", "")].append(at - asked[key])
    return [
        {
            "role": r,
            "label": Role(r).label,
            "count": len(waits[r]),
            "median": _median(waits[r]),
            "median_text": duration_text(_median(waits[r])),
        }
        for r in Role.values
        if r in waits
    ]


def csv_text(result: Analytics) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "reference",
            "crisis_type",
            "severity",
            "state",
            "detected_at",
            "first_statement_hours",
            "golden_met",
            "close_hours",
            "brand",
            "commitments_kept",
            "commitments_due",
        ]
    )
    for ref, ctype, severity, state, detected, first, met, close, brand, kept, due in result.rows:
        writer.writerow(
            [
                ref,
                ctype,
                severity,
                state,
                datetime.fromtimestamp(detected, UTC).isoformat(),
                f"{first / 3600:.2f}" if first is not None else "",
                "" if met is None else ("yes" if met else "no"),
                f"{close / 3600:.2f}" if close is not None else "",
                brand,
                kept,
                due,
            ]
        )
    return out.getvalue()
