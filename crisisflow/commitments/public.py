"""What the public may see of the ledger: the commitments that published public
statements made, with their status (late shows as late) and, when kept, the evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crisisflow import clock
from crisisflow.commitments.actions import effective_status
from crisisflow.commitments.models import Commitment, CommitmentStatus
from crisisflow.statements import kinds

PUBLIC_KINDS = tuple(k.key for k in kinds.KINDS.values() if k.public)


@dataclass(frozen=True)
class PublicCommitment:
    id: int
    text: str
    scope: str
    amount: str
    coverage: str
    period: str
    due_at: datetime
    status: str
    status_label: str
    evidence_summary: str
    evidence_links: tuple[str, ...]
    evidence_figures: tuple[tuple[str, str], ...]
    verified: bool
    kept_at: datetime | None
    reason: str
    language: str


def public_commitments(incident_id: int, now: datetime | None = None) -> list[PublicCommitment]:
    """Commitments made by a public statement that was published (never one recorded on
    its own or from a draft), soonest due first. Two queries."""
    now = now or clock.now()
    rows = (
        Commitment.objects.filter(
            incident_id=incident_id,
            statement__kind__in=PUBLIC_KINDS,
            statement__publications__isnull=False,
        )
        .select_related("statement")
        .distinct()
        .order_by("due_at", "id")
    )
    found = []
    for c in rows:
        status = effective_status(c, now)
        evidence = c.evidence or {} if status == CommitmentStatus.KEPT else {}
        found.append(
            PublicCommitment(
                id=c.pk,
                text=c.text,
                scope=c.scope,
                amount=c.amount,
                coverage=c.coverage,
                period=c.period,
                due_at=c.due_at,
                status=status,
                status_label=str(CommitmentStatus(status).label),
                evidence_summary=evidence.get("summary", ""),
                evidence_links=tuple(evidence.get("links", [])),
                evidence_figures=tuple((f.get("label", ""), f.get("value", "")) for f in evidence.get("figures", [])),
                verified=c.verified_by_id is not None,
                kept_at=c.kept_at,
                reason=c.reason if status in (CommitmentStatus.WITHDRAWN, CommitmentStatus.BROKEN) else "",
                language=c.statement.language if c.statement_id else "",
            )
        )
    return found
