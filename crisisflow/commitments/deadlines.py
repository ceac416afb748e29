"""Commitments as a deadline source of the sweep (Commitment.next_alert_at).

Before the due date the owner is reminded (7 days and 1 day before); at the due date an
unkept commitment turns late and the owner and the commander are told; a day later the
executive sponsor and the commander are. A carried-over commitment keeps its ladder
after the incident closes. The same column/step/generation pattern as the other sources:
each rung is claimed with a compare-and-set update; a failing row backs off.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow.alerts import outbox
from crisisflow.alerts.ladder import Kind, Rung, alert_time, first_step
from crisisflow.alerts.recipients import may_hear, stand_ins
from crisisflow.alerts.sources import DeadlineSource, Row, backoff_delay, register
from crisisflow.commitments.models import Commitment, CommitmentStatus
from crisisflow.incidents.models import Event, Incident, TeamMember
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import person_name
from crisisflow.people.models import User
from crisisflow.vocab import OPEN_STATES, Role

SOURCE = "commitment"
ALERT_EVENT = "commitment_alert"
LATE_EVENT = "commitment_late"
REMIND_BEFORE = (7 * 86400, 86400)
EXECUTIVE_AFTER = 86400
LIVE = (CommitmentStatus.OPEN, CommitmentStatus.LATE)


def rungs(c: Commitment) -> list[Rung]:
    ladder = [Rung(f"before_{s}s", c.due_at - timedelta(seconds=s), Kind.REMINDER, ("owner",)) for s in REMIND_BEFORE]
    ladder.append(Rung("due", c.due_at, Kind.DUE, ("owner", "commander")))
    ladder.append(
        Rung(
            "late_executive", c.due_at + timedelta(seconds=EXECUTIVE_AFTER), Kind.ESCALATION, ("executive", "commander")
        )
    )
    return ladder


def plan(c: Commitment, now: datetime) -> None:
    """(Re)start the ladder (a new commitment, a new owner or due date). Sets fields only."""
    c.alert_generation += 1
    c.alert_failures = 0
    ladder = rungs(c)
    c.alert_step = first_step(ladder, now)
    c.next_alert_at = alert_time(ladder, c.alert_step)


def stop(c: Commitment) -> None:
    c.alert_generation += 1
    c.alert_step = 0
    c.next_alert_at = None


def _audience(who: str, c: Commitment, incident: Incident) -> list[User]:
    if who == "owner":
        people = [c.owner]
    elif who == "executive":
        people = [
            m.user
            for m in TeamMember.objects.filter(incident=incident, role=Role.EXECUTIVE, user__is_active=True)
            .select_related("user")
            .order_by("-is_lead", "id")
        ]
    else:
        people = [incident.commander] if incident.commander_id else []
    return [p for p in people if may_hear(p, incident)]


def payload(c: Commitment) -> dict:
    """What a reminder or escalation says about the commitment (worded per reader by
    crisisflow.alerts.messages: the promise, whom it is for, its owner, its due date)."""
    return {
        "commitment": {
            "id": c.pk,
            "text": " ".join(c.text.split())[:300],
            "scope": " ".join(c.scope.split())[:300],
            "owner": person_name(c.owner),
        }
    }


def due(now: datetime, limit: int) -> list[Row]:
    return list(
        Commitment.objects.filter(next_alert_at__lte=now)
        .order_by("next_alert_at")
        .values_list("id", "alert_step", "alert_generation", "incident_id")[:limit]
    )


def fire(row: Row, now: datetime) -> tuple[str, list[int]] | None:
    pk, step, generation, incident_id = row
    with transaction.atomic():
        incident = Incident.objects.select_for_update(of=("self",)).get(pk=incident_id)
        c = Commitment.objects.select_related("owner").get(pk=pk)
        if c.alert_step != step or c.alert_generation != generation:
            return None
        if c.next_alert_at is None or c.next_alert_at > now:
            return None
        ladder = rungs(c)
        following = first_step(ladder, now, step + 1)
        claimed = Commitment.objects.filter(pk=pk, alert_step=step, alert_generation=generation).update(
            alert_step=following, next_alert_at=alert_time(ladder, following), alert_failures=0
        )
        if claimed != 1 or step >= len(ladder) or c.status not in LIVE:
            return None
        if incident.state not in OPEN_STATES and not c.carried_over:
            return None
        rung = ladder[step]
        turned_late = rung.name == "due" and c.status == CommitmentStatus.OPEN
        if turned_late:
            Commitment.objects.filter(pk=pk).update(status=CommitmentStatus.LATE)
        people: list[User] = []
        for who in rung.audience:
            for person in _audience(who, c, incident):
                if person not in people:
                    people.append(person)
        people = people or stand_ins(incident)
        ids = _notify(incident, people, rung, c, now, f"commitment:{pk}:{generation}:{step}")
        data = {
            "commitment": pk,
            "text": c.text[:200],
            "alert": rung.kind,
            "rung": rung.name,
            "due_at": c.due_at.isoformat(),
            "recipients": [str(p) for p in people],
        }
        record(incident, None, ALERT_EVENT, data, at=now)
        if turned_late:
            from crisisflow.commitments.actions import changed

            record(incident, None, LATE_EVENT, {"commitment": pk, "text": c.text[:200]}, at=now)
            changed(incident)
        return f"{incident.reference} commitment {pk} {rung.name}", ids


def _notify(incident: Incident, people: list[User], rung: Rung, c: Commitment, now: datetime, source: str) -> list[int]:
    """Write the notifications (the outbox) and queue them once the transaction commits."""
    message = outbox.payload_for(rung.kind, rung.name, incident, due_at=c.due_at)
    message.update(payload(c))
    rows = outbox.rows_for(
        source=source,
        kind=rung.kind,
        rung=rung.name,
        incident=incident,
        people=people,
        payload=message,
        now=now,
        due_at=c.due_at,
        team_channels=False,
    )
    return outbox.save_and_queue(rows)


def back_off(row: Row, now: datetime) -> None:
    pk, step, generation = row[0], row[1], row[2]
    failures = Commitment.objects.filter(pk=pk).values_list("alert_failures", flat=True).first() or 0
    Commitment.objects.filter(pk=pk, alert_step=step, alert_generation=generation).update(
        next_alert_at=now + backoff_delay(failures), alert_failures=min(failures + 1, 1000)
    )


def register_source() -> None:
    register(DeadlineSource(name=SOURCE, due=due, fire=fire, back_off=back_off))


@describes(ALERT_EVENT, label=gettext_lazy("Commitment reminder or escalation"))
def _alert(event: Event) -> str:
    d = event.data
    return _("Commitment “%(text)s” (%(rung)s) → %(people)s") % {
        "text": d.get("text", ""),
        "rung": d.get("rung", ""),
        "people": ", ".join(d.get("recipients", [])) or _("nobody"),
    }


@describes(LATE_EVENT, label=gettext_lazy("Commitment late"))
def _late(event: Event) -> str:
    return _("Commitment “%(text)s” is late: its due date passed and it is not kept") % event.data
