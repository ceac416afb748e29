"""Action items on the deadline engine: a reminder a day before, a note when due, and an
escalation to the commander a day after — also once the incident has closed (its
tasks' ladders stop at close; these are the work that follows it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow.alerts import outbox
from crisisflow.alerts.ladder import Kind
from crisisflow.alerts.sources import DeadlineSource, Row, backoff_delay
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describes, record

ALERT = "action_item_alert"
DAY = timedelta(days=1)
# (kind, offset from the due time, the commander hears it too)
LADDER = ((Kind.REMINDER, -DAY, False), (Kind.DUE, timedelta(0), False), (Kind.ESCALATION, DAY, True))


def _rung_at(item, step: int) -> datetime | None:
    return item.due_at + LADDER[step][1] if step < len(LADDER) else None


def plan(item, now: datetime) -> None:
    """Start the ladder at its first rung still ahead (a reminder already past is skipped)."""
    step = 0
    while step < len(LADDER) and LADDER[step][0] == Kind.REMINDER and _rung_at(item, step) <= now:
        step += 1
    item.alert_step = step
    item.next_alert_at = _rung_at(item, step)


def due(now: datetime, limit: int) -> list[Row]:
    from crisisflow.reviews.models import ActionItem

    return list(
        ActionItem.objects.filter(next_alert_at__lte=now)
        .order_by("next_alert_at")
        .values_list("id", "alert_step", "incident_id")[:limit]
    )


def fire(row: Row, now: datetime):
    from crisisflow.reviews.models import ActionItem, ActionItemStatus

    pk, step, incident_id = row
    with transaction.atomic():
        incident = Incident.objects.select_for_update(of=("self",)).get(pk=incident_id)
        item = ActionItem.objects.select_related("owner").filter(pk=pk, alert_step=step).first()
        if item is None or item.status != ActionItemStatus.OPEN or item.next_alert_at is None:
            return None
        claimed = ActionItem.objects.filter(pk=pk, alert_step=step).update(
            alert_step=step + 1, next_alert_at=_rung_at(item, step + 1), alert_failures=0
        )
        if not claimed:
            return None  # another sweeper got it
        kind, _offset, tell_commander = LADDER[step]
        people = [item.owner]
        if tell_commander and incident.commander is not None and incident.commander_id != item.owner_id:
            people.append(incident.commander)
        rung = f"action_item:{item.pk}:{step}"
        payload = outbox.payload_for(kind, rung, incident, due_at=item.due_at)
        # Read as a task by the messages: its title is the action item's.
        payload["task"] = {"id": None, "key": "action_item", "title": {"en": item.title, "zh": item.title}, "role": ""}
        rows = outbox.rows_for(
            source=rung,
            kind=kind,
            rung=rung,
            incident=incident,
            people=people,
            payload=payload,
            now=now,
            due_at=_rung_at(item, step),
            team_channels=False,
        )
        from crisisflow.alerts.models import Notification

        Notification.objects.bulk_create(rows)
        record(
            incident,
            None,
            ALERT,
            {"item": item.pk, "title": item.title, "alert": kind, "recipients": [str(p) for p in people]},
            at=now,
        )
        return f"{incident.reference} action item {item.pk} {kind}", outbox.handed_back(rows)


def back_off(row: Row, now: datetime) -> None:
    from crisisflow.reviews.models import ActionItem

    pk, step = row[0], row[1]
    failures = ActionItem.objects.filter(pk=pk).values_list("alert_failures", flat=True).first() or 0
    ActionItem.objects.filter(pk=pk, alert_step=step).update(
        next_alert_at=now + backoff_delay(failures), alert_failures=min(failures + 1, 1000)
    )


ACTION_ITEMS = DeadlineSource(name="action_item", due=due, fire=fire, back_off=back_off)

WORDS = {
    Kind.REMINDER: gettext_lazy("Reminder"),
    Kind.DUE: gettext_lazy("Due now"),
    Kind.ESCALATION: gettext_lazy("Escalation: overdue"),
}


@describes(ALERT, label=gettext_lazy("Action item reminder or escalation"))
def _alert(event: Event) -> str:
    d = event.data
    return _("%(what)s: action item “%(title)s” → %(people)s") % {
        "what": WORDS.get(d.get("alert"), d.get("alert")),
        "title": d.get("title", ""),
        "people": ", ".join(d.get("recipients") or []) or _("nobody"),
    }
