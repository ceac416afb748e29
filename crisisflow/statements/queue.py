"""The "waiting for my approval" queue on the dashboard and My tasks, for legal,
executives and everyone else who approves statements (approvals.waiting_for)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from crisisflow import clock
from crisisflow.statements import approvals, kinds
from crisisflow.statements.models import Statement


@dataclass(frozen=True)
class Waiting:
    statement: Statement
    kind_label: str
    url: str
    due_at: datetime | None
    overdue: bool


def waiting_rows(user, limit: int | None = None) -> list[Waiting]:
    now = clock.now()
    rows = []
    for statement in approvals.waiting_for(user)[:limit] if limit else approvals.waiting_for(user):
        kind = kinds.KINDS.get(statement.kind)
        rows.append(
            Waiting(
                statement=statement,
                kind_label=str(kind.label) if kind else statement.kind,
                url=reverse("statements:edit", args=[statement.incident.reference, statement.pk]) + "#approval",
                due_at=statement.approval_due_at,
                overdue=statement.approval_due_at is not None and statement.approval_due_at <= now,
            )
        )
    return rows
