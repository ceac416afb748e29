"""Where the ledger holds the incident back.

- Closing: every commitment kept, withdrawn with a reason, or carried over to a named
  owner (still tracked after the close).
- Approving a public statement: each promise in it (a `vague_promise` sentence) must be
  a commitment of this statement with an owner and a due date, or be reworded. Legal may
  approve anyway with a written reason (kept on the timeline).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crisisflow.commitments.models import Commitment, CommitmentStatus
from crisisflow.commitments.promises import normal, promises
from crisisflow.incidents.gates import gate
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describes, record
from crisisflow.statements import approvals, kinds
from crisisflow.vocab import Role, State

PROMISE_OVERRIDDEN = "commitment_check_overridden"


@gate(State.CLOSED)
def commitments_settled(incident: Incident):
    waiting = [
        c
        for c in Commitment.objects.filter(incident=incident).select_related("owner").order_by("due_at", "id")
        if not c.settled
    ]
    if waiting:
        yield ngettext(
            "%(n)d commitment is not kept, withdrawn with a reason or carried over to an owner: %(list)s",
            "%(n)d commitments are not kept, withdrawn with a reason or carried over to an owner: %(list)s",
            len(waiting),
        ) % {"n": len(waiting), "list": "; ".join(f"“{' '.join(c.text.split())[:60]}”" for c in waiting[:5])}


def uncovered(statement, version) -> list[str]:
    """The promise sentences of `version` no commitment of the statement holds yet."""
    found = promises(version)
    if not found:
        return []
    held = {
        normal(s)
        for s in Commitment.objects.filter(statement=statement)
        .exclude(status=CommitmentStatus.WITHDRAWN)
        .exclude(due_at__isnull=True)
        .values_list("sentence", flat=True)
    }
    return [p.sentence for p in found if p.sentence not in held]


def promise_check(statement, version, role: str, override_reason: str):
    if not kinds.kind(statement.kind).public:
        return
    missing = uncovered(statement, version)
    if not missing:
        return
    if role == Role.LEGAL.value and (override_reason or "").strip():
        record(
            statement.incident,
            None,
            PROMISE_OVERRIDDEN,
            {
                "statement": statement.pk,
                "kind": statement.kind,
                "version": version.number,
                "sentences": missing[:10],
                "reason": override_reason.strip()[:2000],
            },
        )
        return
    for sentence in missing:
        yield _(
            "the promise “%(sentence)s” is not a commitment with an owner and a due date yet; "
            "make it one or reword it (legal may approve with a written reason)"
        ) % {"sentence": sentence[:120]}


def register_approval_check() -> None:
    approvals.approval_check(promise_check)


@describes(PROMISE_OVERRIDDEN, label=gettext_lazy("Promise check overridden by legal"))
def _overridden(event: Event) -> str:
    return _("Legal approved promises that are not commitments yet: %(reason)s") % {
        "reason": event.data.get("reason", "")
    }
