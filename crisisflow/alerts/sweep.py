"""The deadline sweep: find due rungs through the partial indexes, claim each one, write
its notifications and its timeline event in one transaction, then hand the
notifications to the delivery workers.

Safe with several sweepers at once: each claim locks the incident row and then moves the
deadline on with a compare-and-set update; "0 rows updated" means another sweeper got it
first. A rung that fails is logged and left for the next sweep; it cannot stop the others.
Task rungs are fired a chunk at a time (one transaction, a savepoint per rung) to save
the per-rung locking and reading; see _fire_chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from crisisflow import clock
from crisisflow.alerts import memo, outbox
from crisisflow.alerts.ladder import Kind, alert_time, clock_rungs, first_step
from crisisflow.alerts.models import Notification
from crisisflow.alerts.recipients import resolve
from crisisflow.alerts.schedule import rungs_of_task
from crisisflow.conf import setting
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.incidents.timeline import record

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    fired: list[str] = field(default_factory=list)  # "CF-2026-0001 task 12 due", …
    notifications: list[int] = field(default_factory=list)  # ids written; to deliver, once gathered
    redriven: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"fired {len(self.fired)} rungs, wrote {len(self.notifications)} notifications, "
            f"re-queued {len(self.redriven)}, {len(self.errors)} errors"
        )


def _lock_incident(incident_id: int) -> Incident:
    return Incident.objects.select_for_update(of=("self",)).get(pk=incident_id)


def skip_stale(rungs, step: int, now: datetime) -> int:
    """A warning whose successor is already due is stale ("2 hours left" when the next
    rung says "1 hour left"): say only the latest one."""
    while step + 1 < len(rungs) and rungs[step].kind in Kind.WARNINGS and rungs[step + 1].at <= now:
        step += 1
    return step


def fire_task_rung(
    task_id: int,
    step: int,
    generation: int,
    now: datetime,
    incident_id: int | None = None,
    locked: tuple[Incident, Task | None] | None = None,
) -> tuple[str, list[int]] | None:
    """Fire rung `step` of the task's current ladder, if it is still due and still ours.

    The sweep passes the task's incident (a task never moves to another), or `locked`:
    the incident and the task as its transaction read them with the incident already
    locked, for a chunk of rungs at once (_fire_chunk). Then this is a savepoint in that
    transaction, so a rung that fails still takes nothing else with it.
    """
    with transaction.atomic():
        if locked is not None:
            incident, task = locked
            if task is None:
                return None  # deleted with its incident
        else:
            if incident_id is None:
                incident_id = Task.objects.filter(pk=task_id).values_list("incident_id", flat=True).first()
                if incident_id is None:
                    return None
            incident = _lock_incident(incident_id)
            task = Task.objects.select_related("assignee").get(pk=task_id)
        if task.alert_step != step or task.alert_generation != generation or task.next_alert_at is None:
            return None  # another sweeper fired it, or the deadline moved meanwhile
        if task.next_alert_at > now:
            return None
        rungs = rungs_of_task(task, incident)
        speak = skip_stale(rungs, step, now)
        # Every rung already due fires now, not one per sweep: a task that was overdue
        # when its ladder started says "due" and its escalations together (one digest).
        saying = [speak]
        following = first_step(rungs, now, speak + 1)
        while following < len(rungs) and rungs[following].at <= now:
            saying.append(following)
            following = first_step(rungs, now, following + 1)
        # The claim: move the deadline on only if nobody did since we read it.
        claimed = Task.objects.filter(pk=task_id, alert_step=step, alert_generation=generation).update(
            alert_step=following, next_alert_at=alert_time(rungs, following)
        )
        if claimed != 1 or speak >= len(rungs):
            return None
        said: list[str] = []
        written: list[int] = []
        for index in saying:
            rung = rungs[index]
            people = resolve(rung.audience, incident, task)
            said.append(rung.name if people else f"{rung.name} (nobody to tell)")
            if people:
                written += _speak(
                    rung,
                    incident,
                    people,
                    now,
                    source=f"task:{task.pk}:{generation}:{index}",
                    due_at=task.due_at,
                    task=task,
                )
        return f"{incident.reference} task {task.pk} {', '.join(said)}", written


def fire_clock_rung(incident_id: int, step: int, generation: int, now: datetime) -> tuple[str, list[int]] | None:
    with transaction.atomic():
        incident = _lock_incident(incident_id)
        if incident.clock_step != step or incident.clock_generation != generation:
            return None
        if incident.clock_next_alert_at is None or incident.clock_next_alert_at > now:
            return None
        rungs = clock_rungs(incident.statement_due_at)
        speak = skip_stale(rungs, step, now)
        following = first_step(rungs, now, speak + 1)
        claimed = Incident.objects.filter(pk=incident_id, clock_step=step, clock_generation=generation).update(
            clock_step=following, clock_next_alert_at=alert_time(rungs, following)
        )
        if claimed != 1 or speak >= len(rungs):
            return None
        rung = rungs[speak]
        people = resolve(rung.audience, incident)
        left = max(timedelta(0), incident.statement_due_at - now)
        pending = _speak(
            rung,
            incident,
            people,
            now,
            source=f"clock:{incident.pk}:{generation}:{speak}",
            due_at=incident.statement_due_at,
            minutes_left=int(left.total_seconds() // 60),
        )
        return f"{incident.reference} golden clock {rung.name}", pending


def _speak(rung, incident, people, now: datetime, *, source: str, due_at: datetime, task=None, **extra) -> list[int]:
    """Write a fired rung's notifications and its timeline event; the ids of the rows
    written (sweep() bundles them and hands over those to deliver)."""
    # Nobody hears the same rung twice, even from a rebuilt ladder (outbox.told_before).
    told = outbox.told_before(incident, task, rung.name, rung.at)
    people = [person for person in people if outbox.user_target(person) not in told]
    if not people:
        return []
    payload = outbox.payload_for(rung.kind, rung.name, incident, task, due_at=due_at, **extra)
    rows = outbox.write(
        source=source,
        kind=rung.kind,
        rung=rung.name,
        incident=incident,
        task=task,
        people=people,
        payload=payload,
        now=now,
        due_at=rung.at,
        told=told,
    )
    data = {
        "alert": rung.kind,
        "rung": rung.name,
        "due_at": due_at.isoformat(),
        "recipients": [str(p) for p in people],
        "channels": sorted({r.channel for r in rows}),
    }
    if task is not None:
        data["task_title"] = task.title
    record(incident, None, Event.Kind.ALERT, data, task=task, at=now)
    return outbox.handed_back(rows)


def redrive(now: datetime, limit: int) -> list[int]:
    """Rows whose delivery message was lost (broker restart, worker killed): queue again."""
    lease_over = Q(state=Notification.State.SENDING, lease_until__lte=now)
    queued_long_ago = Q(state=Notification.State.PENDING, next_attempt_at__lte=now) & (
        Q(enqueued_at__isnull=True)
        | Q(enqueued_at__lte=now - timedelta(seconds=setting("DELIVERY_REDRIVE_AFTER_SECONDS")))
    )
    ids = list(
        Notification.objects.filter(lease_over | queued_long_ago)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    if ids:
        # A lapsed lease goes back to pending; the attempt it used stays counted.
        Notification.objects.filter(pk__in=ids).filter(lease_over).update(state=Notification.State.PENDING)
        Notification.objects.filter(pk__in=ids, state=Notification.State.PENDING).update(enqueued_at=now)
    return ids


# Due task rungs fired in one transaction: their incidents are locked and their tasks
# read with one query each per chunk rather than per rung, which is most of what firing
# a rung costs beyond its own writes. Small, so no incident stays locked for long.
CHUNK = 20


def _fire_chunk(chunk: list[tuple[int, int, int, int]], now: datetime, report: SweepReport) -> list[int]:
    """Fire a chunk of due task rungs in one transaction; the ids to deliver, once it
    has committed. The incidents are locked in id order, the same order any other
    sweeper uses, so two sweepers cannot deadlock; each rung is then a savepoint."""
    fired: list[str] = []
    ids: list[int] = []
    errors: list[str] = []
    with transaction.atomic():
        incident_ids = sorted({row[3] for row in chunk})
        incidents = {
            incident.pk: incident
            for incident in Incident.objects.select_for_update(of=("self",)).filter(pk__in=incident_ids).order_by("pk")
        }
        tasks = Task.objects.select_related("assignee").in_bulk([row[0] for row in chunk])
        for pk, step, generation, incident_id in chunk:
            incident = incidents.get(incident_id)
            if incident is None:
                continue  # deleted meanwhile
            try:
                # Looked up when called, like the single-rung path, so tests can stand in.
                result = fire_task_rung(pk, step, generation, now, incident_id, (incident, tasks.get(pk)))
            except Exception as exc:  # one broken row must not stop the others
                log.exception("deadline sweep: task %s step %s failed", pk, step)
                errors.append(f"task {pk}: {exc}")
                continue
            if result is not None:
                fired.append(result[0])
                ids.extend(result[1])
    report.fired.extend(fired)
    report.notifications.extend(ids)
    report.errors.extend(errors)
    return ids


def sweep(
    now: datetime | None = None,
    *,
    limit: int | None = None,
    on_fired: Callable[[list[int]], None] | None = None,
) -> SweepReport:
    """One pass: fire every due rung (up to `limit`), re-queue lost deliveries.

    What the sweep wrote for one person (or team webhook) on one channel goes out as one
    message: once every rung has fired, outbox.gather() bundles each target's alerts into
    a digest. `on_fired`, if given, then gets the ids of the notifications to deliver;
    they are in the report as well. Without digests (setting DIGESTS off) `on_fired`
    gets them as soon as the transaction that wrote them has committed, so delivery can
    begin while a long sweep (a burst of deadlines) is still going.
    """
    now = now or clock.now()
    digests = setting("DIGESTS")
    with memo.one_sweep():
        report = _sweep(now, limit or setting("SWEEP_BATCH"), None if digests else on_fired)
    if digests:
        report.notifications = outbox.gather(report.notifications, now)
        if on_fired is not None and report.notifications:
            on_fired(report.notifications)
    return report


def _sweep(now: datetime, limit: int, on_fired: Callable[[list[int]], None] | None) -> SweepReport:
    report = SweepReport()

    def fired(ids: list[int]) -> None:
        if on_fired is not None and ids:
            on_fired(ids)

    due_clocks = list(
        Incident.objects.filter(clock_next_alert_at__lte=now)
        .order_by("clock_next_alert_at")
        .values_list("id", "clock_step", "clock_generation")[:limit]
    )
    for pk, step, generation in due_clocks:
        try:
            result = fire_clock_rung(pk, step, generation, now)
        except Exception as exc:  # one broken row must not stop the sweep
            log.exception("deadline sweep: golden clock %s step %s failed", pk, step)
            report.errors.append(f"golden clock {pk}: {exc}")
            continue
        if result is not None:
            report.fired.append(result[0])
            report.notifications.extend(result[1])
            fired(result[1])

    due_tasks = list(
        Task.objects.filter(next_alert_at__lte=now)
        .order_by("next_alert_at")
        .values_list("id", "alert_step", "alert_generation", "incident_id")[:limit]
    )
    for start in range(0, len(due_tasks), CHUNK):
        chunk = due_tasks[start : start + CHUNK]
        try:
            fired(_fire_chunk(chunk, now, report))
        except Exception:
            # The chunk as a whole failed (a lock timeout, a lost connection at commit):
            # nothing of it was written. Try its rungs one by one, each on its own.
            log.exception("deadline sweep: a chunk of %d rungs failed; firing them one by one", len(chunk))
            for pk, step, generation, incident_id in chunk:
                try:
                    result = fire_task_rung(pk, step, generation, now, incident_id)
                except Exception as exc:
                    log.exception("deadline sweep: task %s step %s failed", pk, step)
                    report.errors.append(f"task {pk}: {exc}")
                    continue
                if result is not None:
                    report.fired.append(result[0])
                    report.notifications.extend(result[1])
                    fired(result[1])
    report.redriven = redrive(now, limit)
    return report
