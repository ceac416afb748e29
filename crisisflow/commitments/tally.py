"""How an incident's commitments turned out, counted: kept on time, kept late, broken,
withdrawn, still open (and of those, overdue). Public, for the review's figures and the
analytics across incidents (crisisflow.reviews)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet

from crisisflow.commitments.models import Commitment, CommitmentStatus

KEPT_ON_TIME = Q(status=CommitmentStatus.KEPT, kept_at__lte=F("due_at"))
KEPT_LATE = Q(status=CommitmentStatus.KEPT, kept_at__gt=F("due_at"))
UNKEPT = Q(status__in=(CommitmentStatus.OPEN, CommitmentStatus.LATE))


@dataclass
class Tally:
    kept: int = 0  # kept by the due time
    late: int = 0  # kept, after the due time
    broken: int = 0
    withdrawn: int = 0
    open: int = 0  # not kept yet, overdue ones included
    overdue: int = 0  # of the open ones, past their due time

    @property
    def total(self) -> int:
        return self.kept + self.late + self.broken + self.withdrawn + self.open

    @property
    def decided(self) -> int:
        """Those whose due time has come, or that were kept or broken before it
        (withdrawn ones are not counted either way)."""
        return self.kept + self.late + self.broken + self.overdue

    @property
    def kept_rate(self) -> float | None:
        """Kept (on time or late) out of those decided; None when none is."""
        return (self.kept + self.late) / self.decided if self.decided else None

    def add(self, other: Tally) -> None:
        for name in ("kept", "late", "broken", "withdrawn", "open", "overdue"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def category(status: str, due_at: datetime, kept_at: datetime | None, now: datetime) -> str:
    """kept, late, broken, withdrawn, overdue or open: where one commitment stands."""
    if status == CommitmentStatus.KEPT:
        return "late" if kept_at is not None and kept_at > due_at else "kept"
    if status in (CommitmentStatus.BROKEN, CommitmentStatus.WITHDRAWN):
        return status
    return "overdue" if due_at <= now else "open"


def tally_by_incident(incident_ids: QuerySet, now: datetime) -> dict[int, Tally]:
    """incident id → its Tally, for the incidents of a subquery (`values("pk")`). One
    query, however many incidents."""
    rows = (
        Commitment.objects.filter(incident_id__in=incident_ids)
        .order_by()
        .values("incident_id")
        .annotate(
            kept=Count("id", filter=KEPT_ON_TIME),
            late=Count("id", filter=KEPT_LATE),
            broken=Count("id", filter=Q(status=CommitmentStatus.BROKEN)),
            withdrawn=Count("id", filter=Q(status=CommitmentStatus.WITHDRAWN)),
            open=Count("id", filter=UNKEPT),
            overdue=Count("id", filter=UNKEPT & Q(due_at__lte=now)),
        )
    )
    return {
        row["incident_id"]: Tally(
            kept=row["kept"],
            late=row["late"],
            broken=row["broken"],
            withdrawn=row["withdrawn"],
            open=row["open"],
            overdue=row["overdue"],
        )
        for row in rows
    }
