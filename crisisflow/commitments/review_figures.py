"""The commitments' figures and milestones on an incident's review (registered with
crisisflow.reviews.metrics): how many were kept on time, kept late, broken, withdrawn,
or are still open, each linking to the timeline events that settled them."""

from __future__ import annotations

from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.commitments import actions
from crisisflow.commitments.models import Commitment
from crisisflow.commitments.tally import category
from crisisflow.incidents.models import Event, Incident
from crisisflow.reviews import metrics

# The event that settles a commitment of each category.
SETTLED_BY = {"kept": actions.KEPT, "late": actions.KEPT, "broken": actions.BROKEN, "withdrawn": actions.WITHDRAWN}
SHORT = 60


def _ledger(incident: Incident) -> tuple[list[tuple], dict[tuple[int, str], Event]]:
    """The incident's commitments (id, text, status, due, kept) and, per (commitment,
    kind), the last event of that kind. Two queries."""
    rows = list(
        Commitment.objects.filter(incident=incident)
        .order_by("due_at", "id")
        .values_list("id", "text", "status", "due_at", "kept_at")
    )
    events: dict[tuple[int, str], Event] = {}
    if rows:
        kinds = (actions.CREATED, actions.KEPT, actions.BROKEN, actions.WITHDRAWN)
        for event in Event.objects.filter(incident=incident, kind__in=kinds).only("seq", "at", "kind", "data"):
            events[(event.data.get("commitment"), event.kind)] = event
    return rows, events


@metrics.provider("commitments_kept")
def commitment_figures(incident: Incident) -> list[metrics.Metric]:
    rows, events = _ledger(incident)
    now = clock.now()
    found: dict[str, list[int]] = {"kept": [], "late": [], "broken": [], "withdrawn": [], "open": []}
    overdue = 0
    for pk, _text, status, due_at, kept_at in rows:
        where = category(status, due_at, kept_at, now)
        if where == "overdue":
            overdue += 1
            where = "open"
        event = events.get((pk, SETTLED_BY.get(where, actions.CREATED)))
        found[where].append(event.seq if event is not None else 0)
    total = len(rows)
    labels = {
        "kept": _("Commitments kept"),
        "late": _("Commitments kept late"),
        "broken": _("Commitments broken"),
        "withdrawn": _("Commitments withdrawn"),
        "open": _("Commitments still open"),
    }
    out = []
    for key, seqs in found.items():
        if not total:
            text = _("no commitments were made")
        elif key == "open" and overdue:
            text = _("%(n)d of %(total)d (%(overdue)d overdue)") % {"n": len(seqs), "total": total, "overdue": overdue}
        else:
            text = _("%(n)d of %(total)d") % {"n": len(seqs), "total": total}
        out.append(metrics.Metric(f"commitments_{key}", labels[key], len(seqs), text, sorted(s for s in seqs if s)))
    return out


@metrics.milestones_from("commitments")
def commitment_milestones(incident: Incident) -> list[metrics.Milestone]:
    """Each commitment kept (on time or late) or broken when it was, and each that went
    past its due time unkept (kept late, or still open), at that time."""
    rows, events = _ledger(incident)
    now = clock.now()
    found = []
    for pk, text, status, due_at, kept_at in rows:
        short = text if len(text) <= SHORT else text[: SHORT - 1] + "…"
        where = category(status, due_at, kept_at, now)
        if where in ("late", "overdue"):
            found.append(metrics.Milestone("commitment_late", _("Commitment late: %(text)s") % {"text": short}, due_at))
        settled = events.get((pk, SETTLED_BY.get(where, "")))
        if settled is not None and where in ("kept", "late", "broken"):
            label = {
                "kept": _("Commitment kept: %(text)s"),
                "late": _("Commitment kept late: %(text)s"),
                "broken": _("Commitment broken: %(text)s"),
            }[where] % {"text": short}
            key = {"kept": "commitment_kept", "late": "commitment_kept_late", "broken": "commitment_broken"}[where]
            found.append(metrics.Milestone(key, label, settled.at, settled.seq))
    return found
