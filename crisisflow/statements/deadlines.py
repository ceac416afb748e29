"""The approval deadline: a deadline source of the sweep over Statement.approval_next_alert_at.

Once approval is asked for, the approvers have until `approval_due_at` (30 minutes for a
holding statement by default, per playbook `statements: approval_deadlines:`). Then the
ladder speaks: at the deadline a reminder to the approvers still to decide; later the
leads of the roles still missing (CRISISFLOW["APPROVAL_LADDER"]["lead_after"]); later
the commander (["commander_after"]). The same column/step/generation pattern as the
golden clock: each rung is claimed with a compare-and-set update, and a rung whose
firing fails backs off (sources.backoff_delay).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow.alerts import outbox
from crisisflow.alerts.ladder import Rung, alert_time, first_step
from crisisflow.alerts.recipients import may_hear, stand_ins
from crisisflow.alerts.sources import DeadlineSource, Row, backoff_delay, register
from crisisflow.conf import setting
from crisisflow.incidents.models import Event, Incident, TeamMember
from crisisflow.incidents.timeline import describes, record
from crisisflow.people.models import User
from crisisflow.statements.models import Statement, StatementState
from crisisflow.vocab import OPEN_STATES, Role

SOURCE = "statement_approval"
# Alert kinds (the outbox's `kind`): the deadline is here, and it has passed.
DUE = "approval_due"
OVERDUE = "approval_overdue"
KINDS = (DUE, OVERDUE)
# The timeline event of a fired rung.
ALERT_EVENT = "statement_approval_alert"


def rungs(statement: Statement) -> list[Rung]:
    """The approval ladder of a statement in review (empty without a deadline)."""
    due = statement.approval_due_at
    if due is None:
        return []
    ladder = setting("APPROVAL_LADDER")
    return [
        Rung("approval_due", due, DUE, ("approvers",)),
        Rung("approval_role_lead", due + timedelta(seconds=ladder["lead_after"]), OVERDUE, ("role_lead",)),
        Rung("approval_commander", due + timedelta(seconds=ladder["commander_after"]), OVERDUE, ("commander",)),
    ]


def plan(statement: Statement, now: datetime) -> None:
    """(Re)start the ladder from now: approval was asked for. Only sets fields."""
    statement.approval_generation += 1
    statement.approval_failures = 0
    ladder = rungs(statement)
    statement.approval_step = first_step(ladder, now)
    statement.approval_next_alert_at = alert_time(ladder, statement.approval_step)


def stop(statement: Statement) -> None:
    """Nothing left to remind anyone of (decided, rejected, edited). Only sets fields."""
    statement.approval_generation += 1
    statement.approval_step = 0
    statement.approval_next_alert_at = None


def payload(statement: Statement) -> dict:
    """What a notification says about the statement (rendered in the reader's language)."""
    version = statement.current
    return {
        "id": statement.pk,
        "kind": statement.kind,
        # Both languages: the message is put into words in the reader's.
        "kind_label": {"en": _in("en", statement.kind), "zh": _in("zh-hans", statement.kind)},
        "language": statement.language,
        "version": version.number if version is not None else None,
    }


def _in(language: str, key: str) -> str:
    with translation.override(language):
        return kind_words(key)


def notify(
    incident: Incident,
    people: list[User],
    *,
    kind: str,
    source: str,
    now: datetime,
    due_at: datetime | None,
    rung: str = "",
    statement: dict | None = None,
) -> list[int]:
    """Write the notifications telling `people` (those who may see the incident) and
    queue the ones to send once the transaction commits. The ids written."""
    allowed = [person for person in people if may_hear(person, incident)]
    if not allowed:
        return []
    message = outbox.payload_for(kind, rung or kind, incident, due_at=due_at, statement=statement or {})
    rows = outbox.rows_for(
        source=source,
        kind=kind,
        rung=rung or kind,
        incident=incident,
        people=allowed,
        payload=message,
        now=now,
        due_at=due_at or now,
        team_channels=False,
    )
    return outbox.save_and_queue(rows)


# --- who a rung speaks to ---------------------------------------------------------------------


def _audience(who: str, statement: Statement, incident: Incident) -> list[User]:
    from crisisflow.statements.approvals import approvers, pending_roles

    roles = pending_roles(statement)
    if who == "approvers":
        people = approvers(statement, roles)
    elif who == "role_lead":
        people = [
            m.user
            for m in TeamMember.objects.filter(incident=incident, role__in=roles, is_lead=True, user__is_active=True)
            .select_related("user")
            .order_by("id")
        ]
    else:
        people = [incident.commander] if incident.commander_id else []
    allowed = [p for p in people if may_hear(p, incident)]
    return allowed or stand_ins(incident)


# --- the deadline source ------------------------------------------------------------------------


def due(now: datetime, limit: int) -> list[Row]:
    return list(
        Statement.objects.filter(approval_next_alert_at__lte=now)
        .order_by("approval_next_alert_at")
        .values_list("id", "approval_step", "approval_generation", "incident_id")[:limit]
    )


def fire(row: Row, now: datetime) -> tuple[str, list[int]] | None:
    """Fire rung `step` of the statement's approval ladder if it is still due and ours."""
    pk, step, generation, incident_id = row
    with transaction.atomic():
        incident = Incident.objects.select_for_update(of=("self",)).get(pk=incident_id)
        statement = Statement.objects.select_related("current").get(pk=pk)
        statement.incident = incident
        if statement.approval_step != step or statement.approval_generation != generation:
            return None
        if statement.approval_next_alert_at is None or statement.approval_next_alert_at > now:
            return None
        ladder = rungs(statement)
        following = first_step(ladder, now, step + 1)
        # A rung already due stays due for the next sweep: one rung per sweep keeps the
        # order reminder -> lead -> commander even after a long outage of the sweeper.
        claimed = Statement.objects.filter(pk=pk, approval_step=step, approval_generation=generation).update(
            approval_step=following, approval_next_alert_at=alert_time(ladder, following), approval_failures=0
        )
        if claimed != 1 or step >= len(ladder):
            return None
        if statement.state != StatementState.IN_REVIEW or incident.state not in OPEN_STATES:
            return None
        rung = ladder[step]
        people = _audience(rung.audience[0], statement, incident)
        ids = notify(
            incident,
            people,
            kind=rung.kind,
            source=f"statement:{pk}:{generation}:{step}",
            now=now,
            due_at=statement.approval_due_at,
            rung=rung.name,
            statement=payload(statement),
        )
        record(
            incident,
            None,
            ALERT_EVENT,
            {
                "alert": rung.kind,
                "rung": rung.name,
                "due_at": statement.approval_due_at.isoformat(),
                "recipients": [str(p) for p in people],
                "statement": pk,
                "kind": statement.kind,
            },
            at=now,
        )
        return f"{incident.reference} statement {pk} {rung.name}", ids


def back_off(row: Row, now: datetime) -> None:
    pk, step, generation = row[0], row[1], row[2]
    failures = Statement.objects.filter(pk=pk).values_list("approval_failures", flat=True).first() or 0
    Statement.objects.filter(pk=pk, approval_step=step, approval_generation=generation).update(
        approval_next_alert_at=now + backoff_delay(failures), approval_failures=min(failures + 1, 1000)
    )


def register_source() -> None:
    register(DeadlineSource(name=SOURCE, due=due, fire=fire, back_off=back_off))


# Words for the alert kinds, for the timeline's alert line.
ALERT_WORDS = {
    DUE: gettext_lazy("Approval due"),
    OVERDUE: gettext_lazy("Approval overdue"),
}


def kind_words(key: str) -> str:
    from crisisflow.statements import kinds

    return str(kinds.KINDS[key].label) if key in kinds.KINDS else key


def role_words(roles: list[str]) -> str:
    return ", ".join(str(Role(r).label) if r in Role.values else r for r in roles)


@describes(ALERT_EVENT, label=gettext_lazy("Approval reminder or escalation"))
def _alert(event: Event) -> str:
    d = event.data
    return _("%(what)s: %(statement)s → %(people)s") % {
        "what": ALERT_WORDS.get(d.get("alert"), d.get("alert")),
        "statement": kind_words(d.get("kind", "")),
        "people": ", ".join(d.get("recipients", [])) or _("nobody"),
    }
