"""The deadline sweep: find due rungs through the partial indexes, claim each one, write
its notifications and its timeline event in one transaction, then hand the
notifications to the delivery workers.

Safe with several sweepers at once: each claim locks the incident row and then moves the
deadline on with a compare-and-set update; "0 rows updated" means another sweeper got it
first. A rung that fails is logged and backed off (see sources.backoff_delay); it cannot stop
the others. What to sweep comes from the registry in sources.py: the engine registers
the golden clock, triage and tasks, and every app its own deadlines. Task rungs are
fired a chunk at a time, with a few statements per chunk rather than several per rung
(one claim, one insert of notifications, one of timeline events); see fire_task_chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from crisisflow import bulk, clock
from crisisflow.alerts import memo, outbox
from crisisflow.alerts.ladder import Kind, alert_time, clock_rungs, first_step, triage_rungs
from crisisflow.alerts.models import Notification
from crisisflow.alerts.recipients import people_by_id, read_teams, resolve
from crisisflow.alerts.schedule import rungs_of_task
from crisisflow.alerts.sources import DeadlineSource, Row, backoff_delay, register, registered
from crisisflow.conf import setting
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.incidents.timeline import Entry, record, record_many

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


@dataclass
class Speech:
    """One rung a fired task says: its rows and its timeline event, built, not saved."""

    rung: object
    people: list
    source: str
    rows: list[Notification] = field(default_factory=list)
    entry: Entry | None = None


@dataclass
class Planned:
    """A due task rung of a chunk, worked out in Python: the claim to make and what to
    say once it is made (fire_task_chunk writes a whole chunk's at once)."""

    incident: Incident
    task: Task
    step: int
    generation: int
    following: int
    next_at: datetime | None
    text: str
    speeches: list[Speech]


@dataclass
class Locked:
    """The incident and the task as a chunk's transaction read them, the incident locked;
    `plans` gathers the chunk's work (see fire_task_chunk)."""

    incident: Incident
    task: Task | None
    plans: list[Planned]


def fire_task_rung(
    task_id: int,
    step: int,
    generation: int,
    now: datetime,
    incident_id: int | None = None,
    locked: Locked | None = None,
) -> tuple[str, list[int]] | None:
    """Fire rung `step` of the task's current ladder, if it is still due and still ours.

    The sweep passes the task's incident (a task never moves to another), or `locked`
    for a chunk of rungs at once (fire_task_chunk): then nothing is written here; what
    the rung would claim and say goes into `locked.plans`, and the chunk claims and
    writes every rung of it with a few statements.
    """
    # A chunk's rung only reads: no savepoint of its own (what it plans is written by the chunk).
    with transaction.atomic() if locked is None else nullcontext():
        if locked is not None:
            incident, task = locked.incident, locked.task
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
        if locked is not None:
            locked.plans.append(_plan(incident, task, step, generation, now, rungs, speak, saying, following))
            return None
        # The claim: move the deadline on only if nobody did since we read it.
        claimed = Task.objects.filter(pk=task_id, alert_step=step, alert_generation=generation).update(
            alert_step=following, next_alert_at=alert_time(rungs, following), alert_failures=0
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


@dataclass(frozen=True)
class IncidentLadder:
    """A deadline kept on the incident row itself: the golden clock, triage. `prefix`
    names its columns (<prefix>_next_alert_at, _step, _generation, _failures)."""

    name: str
    prefix: str
    rungs: Callable[[Incident], list]
    due_at: Callable[[Incident], datetime | None]
    label: str

    def field(self, suffix: str) -> str:
        return f"{self.prefix}_{suffix}"


GOLDEN_CLOCK = IncidentLadder(
    "golden_clock", "clock", lambda i: clock_rungs(i.statement_due_at), lambda i: i.statement_due_at, "golden clock"
)
TRIAGE = IncidentLadder(
    "triage", "triage", lambda i: triage_rungs(i.triage_due_at), lambda i: i.triage_due_at, "triage"
)


def fire_incident_rung(
    ladder: IncidentLadder, incident_id: int, step: int, generation: int, now: datetime
) -> tuple[str, list[int]] | None:
    f = ladder.field
    with transaction.atomic():
        incident = _lock_incident(incident_id)
        if getattr(incident, f("step")) != step or getattr(incident, f("generation")) != generation:
            return None
        next_at = getattr(incident, f("next_alert_at"))
        if next_at is None or next_at > now:
            return None
        rungs = ladder.rungs(incident)
        speak = skip_stale(rungs, step, now)
        following = first_step(rungs, now, speak + 1)
        claimed = Incident.objects.filter(**{"pk": incident_id, f("step"): step, f("generation"): generation}).update(
            **{f("step"): following, f("next_alert_at"): alert_time(rungs, following), f("failures"): 0}
        )
        if claimed != 1 or speak >= len(rungs):
            return None
        rung = rungs[speak]
        people = resolve(rung.audience, incident)
        due_at = ladder.due_at(incident)
        left = max(timedelta(0), due_at - now)
        pending = _speak(
            rung,
            incident,
            people,
            now,
            source=f"{ladder.prefix}:{incident.pk}:{generation}:{speak}",
            due_at=due_at,
            minutes_left=int(left.total_seconds() // 60),
        )
        return f"{incident.reference} {ladder.label} {rung.name}", pending


def fire_clock_rung(incident_id: int, step: int, generation: int, now: datetime) -> tuple[str, list[int]] | None:
    return fire_incident_rung(GOLDEN_CLOCK, incident_id, step, generation, now)


def _plan(incident, task, step, generation, now, rungs, speak, saying, following) -> Planned:
    said: list[str] = []
    speeches: list[Speech] = []
    if speak < len(rungs):
        for index in saying:
            rung = rungs[index]
            people = resolve(rung.audience, incident, task)
            said.append(rung.name if people else f"{rung.name} (nobody to tell)")
            if people:
                speeches.append(Speech(rung, people, f"task:{task.pk}:{generation}:{index}"))
    return Planned(
        incident=incident,
        task=task,
        step=step,
        generation=generation,
        following=following,
        next_at=alert_time(rungs, following),
        text=f"{incident.reference} task {task.pk} {', '.join(said)}" if said else "",
        speeches=speeches,
    )


def _words(
    rung, incident, people, now: datetime, *, source: str, due_at: datetime, task=None, told=frozenset(), **extra
) -> tuple[list[Notification], Entry] | None:
    """A fired rung's notification rows and timeline event, built but not saved; None
    if everyone it names heard this rung already (told, see outbox.told_before)."""
    people = [person for person in people if outbox.user_target(person) not in told]
    if not people:
        return None
    payload = outbox.payload_for(rung.kind, rung.name, incident, task, due_at=due_at, **extra)
    rows = outbox.rows_for(
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
    return rows, Entry(incident, None, Event.Kind.ALERT, data, task=task, at=now)


def _speak(rung, incident, people, now: datetime, *, source: str, due_at: datetime, task=None, **extra) -> list[int]:
    """Write a fired rung's notifications and its timeline event; the ids of the rows
    written (sweep() bundles them and hands over those to deliver)."""
    # Nobody hears the same rung twice, even from a rebuilt ladder (outbox.told_before).
    told = outbox.told_before(incident, task, rung.name, rung.at)
    words = _words(rung, incident, people, now, source=source, due_at=due_at, task=task, told=told, **extra)
    if words is None:
        return []
    rows, entry = words
    # The claim in the sweep means a rung never gets here twice; should it ever, the
    # unique key on (source, channel, target) refuses the second write outright.
    bulk.insert(rows)
    record(entry.incident, entry.actor, entry.kind, entry.data, task=entry.task, at=entry.at)
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


# Due task rungs fired in one transaction, with a few statements whatever their number
# (fire_task_chunk): the fewer chunks, the less each rung costs; small enough that no
# incident stays locked for long (a chunk takes some tens of milliseconds).
CHUNK = 50


# The columns a chunk reads of its incidents and tasks: what working out, addressing and
# writing a rung needs (the ladder, the audience, the payload). Tasks and incidents are
# wide rows (instructions, checklists, a dozen timestamps) and turning whole ones into
# models was much of a chunk's cost. A column left out here would be read row by row
# if used (tests/test_alerts__sweep_chunk.py counts the queries).
INCIDENT_FIELDS_FIRED = (
    "reference",
    "title",
    "severity",
    "state",
    "restricted",
    "reporter",
    "commander",
    "team_assembled_at",
    "clock_generation",
)
TASK_FIELDS_FIRED = (
    "incident",
    "key",
    "title",
    "role",
    "status",
    "assignee",
    "due_at",
    "ladder",
    "next_alert_at",
    "alert_step",
    "alert_generation",
    "alert_window_start",
)


def fire_task_chunk(chunk: list[Row], now: datetime) -> list[tuple[str, list[int]]]:
    """Fire a chunk of due task rungs in one transaction, with a few statements however
    many rungs it has: the incidents are locked in id order (the same order any other
    sweeper uses, so two sweepers cannot deadlock) and the tasks read; each rung is then
    worked out in Python (fire_task_rung), one that fails there is backed off without
    the others; the rest are claimed with one compare-and-set update, and their
    notifications and timeline events written with one insert each. Should a write
    fail, the chunk raises and the sweep fires its rungs one by one."""
    results: list[tuple[str, list[int]]] = []
    failed: list[tuple[Row, Exception]] = []
    with transaction.atomic():
        incident_ids = sorted({row[3] for row in chunk})
        incidents = {
            incident.pk: incident
            for incident in Incident.objects.select_for_update(of=("self",))
            .only(*INCIDENT_FIELDS_FIRED)
            .filter(pk__in=incident_ids)
            .order_by("pk")
        }
        tasks = Task.objects.only(*TASK_FIELDS_FIRED).in_bulk([row[0] for row in chunk])
        # The same few people own many tasks: each is read once (remembered for the sweep).
        owners = people_by_id({task.assignee_id for task in tasks.values() if task.assignee_id is not None})
        for task in tasks.values():
            if task.assignee_id is not None:
                task.assignee = owners[task.assignee_id]
        read_teams(incidents.values())
        plans: list[Planned] = []
        rows_of: dict[int, Row] = {}
        for row in chunk:
            pk, step, generation, incident_id = row
            incident = incidents.get(incident_id)
            if incident is None:
                continue  # deleted meanwhile
            rows_of[pk] = row
            try:
                # Looked up when called, like the single-rung path, so tests can stand in.
                fire_task_rung(pk, step, generation, now, incident_id, Locked(incident, tasks.get(pk), plans))
            except DatabaseError:
                raise  # the transaction is spoilt: the sweep goes one by one
            except Exception as exc:  # one broken row must not stop the others
                log.exception("deadline sweep: task %s step %s failed", pk, step)
                failed.append((row, exc))
        plans = _put_into_words(plans, now, rows_of, failed)
        claimed = _claim(plans)
        plans = [plan for plan in plans if plan.task.pk in claimed]
        bulk.insert([row for plan in plans for speech in plan.speeches for row in speech.rows])
        record_many([speech.entry for plan in plans for speech in plan.speeches if speech.entry is not None])
        for plan in plans:
            if plan.text:
                written = [row for speech in plan.speeches for row in speech.rows]
                results.append((plan.text, outbox.handed_back(written)))
    for row, exc in failed:
        back_off_task(row, now)
        results.append((f"error: task {row[0]}: {exc}", []))
    return results


def _put_into_words(plans: list[Planned], now: datetime, rows_of: dict, failed: list) -> list[Planned]:
    """Build each planned rung's rows and event, asking once for the whole chunk who
    heard its rungs already; a rung that fails here is backed off like one that failed
    being planned (nothing of it is claimed or written)."""
    speeches = [(plan, speech) for plan in plans for speech in plan.speeches]
    told = outbox.told_before_each([(p.incident, p.task, s.rung.name, s.rung.at) for p, s in speeches])
    told_of = {id(speech): heard for (_, speech), heard in zip(speeches, told, strict=True)}
    kept = []
    for plan in plans:
        try:
            for speech in plan.speeches:
                words = _words(
                    speech.rung,
                    plan.incident,
                    speech.people,
                    now,
                    source=speech.source,
                    due_at=plan.task.due_at,
                    task=plan.task,
                    told=told_of[id(speech)],
                )
                if words is not None:
                    speech.rows, speech.entry = words
        except DatabaseError:
            raise  # the transaction is spoilt: the sweep goes one by one
        except Exception as exc:  # one broken row must not stop the others
            log.exception("deadline sweep: task %s step %s failed", plan.task.pk, plan.step)
            failed.append((rows_of[plan.task.pk], exc))
            continue
        kept.append(plan)
    return kept


class _Partly(Exception):
    """Some rungs of a chunk were claimed by someone else meanwhile."""


def _claim(plans: list[Planned]) -> set[int]:
    """Move every planned rung's deadline on, if nobody did since it was read: one
    compare-and-set update for the chunk; the ids of the tasks claimed. Should another
    sweeper or a change of plan have moved any of them (fewer rows updated than asked,
    rare: the incidents are locked), the update is undone and each claimed alone."""
    if not plans:
        return set()
    try:
        with transaction.atomic():
            if _claim_all(plans) != len(plans):
                raise _Partly
        return {plan.task.pk for plan in plans}
    except _Partly:
        pass
    claimed = set()
    for plan in plans:
        if Task.objects.filter(pk=plan.task.pk, alert_step=plan.step, alert_generation=plan.generation).update(
            alert_step=plan.following, next_alert_at=plan.next_at, alert_failures=0
        ):
            claimed.add(plan.task.pk)
    return claimed


def _claim_all(plans: list[Planned]) -> int:
    """UPDATE … SET step = CASE id …, next_alert_at = CASE id … WHERE (id, step,
    generation) is what was read, for each: how many rows it updated. Written out by
    hand: the ORM's Case/When costs more CPU to build than the rest of the claim."""
    quote = connection.ops.quote_name
    column = {name: quote(Task._meta.get_field(name).column) for name in TASK_CLAIM_FIELDS}
    # PostgreSQL needs the type of a CASE whose values may all be NULL.
    moment = "%s::timestamptz" if connection.vendor == "postgresql" else "%s"
    pk = column["id"]
    steps = " ".join(f"WHEN {pk} = %s THEN %s" for _ in plans)
    moments = " ".join(f"WHEN {pk} = %s THEN {moment}" for _ in plans)
    read = f"({pk} = %s AND {column['alert_step']} = %s AND {column['alert_generation']} = %s)"
    which = " OR ".join(read for _ in plans)
    sql = (
        f"UPDATE {quote(Task._meta.db_table)} SET {column['alert_step']} = CASE {steps} END, "
        f"{column['next_alert_at']} = CASE {moments} END, {column['alert_failures']} = 0 WHERE {which}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params: list = []
    for plan in plans:
        params += [plan.task.pk, plan.following]
    for plan in plans:
        params += [plan.task.pk, adapt(plan.next_at)]
    for plan in plans:
        params += [plan.task.pk, plan.step, plan.generation]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


TASK_CLAIM_FIELDS = ("id", "alert_step", "alert_generation", "next_alert_at", "alert_failures")


def due_tasks(now: datetime, limit: int) -> list[Row]:
    return list(
        Task.objects.filter(next_alert_at__lte=now)
        .order_by("next_alert_at")
        .values_list("id", "alert_step", "alert_generation", "incident_id")[:limit]
    )


def back_off_task(row: Row, now: datetime) -> None:
    pk, step, generation = row[0], row[1], row[2]
    failures = Task.objects.filter(pk=pk).values_list("alert_failures", flat=True).first() or 0
    Task.objects.filter(pk=pk, alert_step=step, alert_generation=generation).update(
        next_alert_at=now + backoff_delay(failures), alert_failures=min(failures + 1, 1000)
    )


def incident_ladder_source(ladder: IncidentLadder) -> DeadlineSource:
    f = ladder.field

    def due(now: datetime, limit: int) -> list[Row]:
        return list(
            Incident.objects.filter(**{f("next_alert_at") + "__lte": now})
            .order_by(f("next_alert_at"))
            .values_list("id", f("step"), f("generation"))[:limit]
        )

    def fire(row: Row, now: datetime):
        return fire_incident_rung(ladder, row[0], row[1], row[2], now)

    def back_off(row: Row, now: datetime) -> None:
        pk, step, generation = row
        failures = Incident.objects.filter(pk=pk).values_list(f("failures"), flat=True).first() or 0
        Incident.objects.filter(**{"pk": pk, f("step"): step, f("generation"): generation}).update(
            **{f("next_alert_at"): now + backoff_delay(failures), f("failures"): min(failures + 1, 1000)}
        )

    return DeadlineSource(name=ladder.name, due=due, fire=fire, back_off=back_off)


def fire_one_task(row: Row, now: datetime):
    pk, step, generation, incident_id = row
    return fire_task_rung(pk, step, generation, now, incident_id)


def register_builtin_sources() -> None:
    """The engine's own deadlines: the golden clock, triage, tasks (alerts' ready())."""
    register(incident_ladder_source(GOLDEN_CLOCK))
    register(incident_ladder_source(TRIAGE))
    register(
        DeadlineSource(
            name="task",
            due=due_tasks,
            fire=fire_one_task,
            back_off=back_off_task,
            fire_many=fire_task_chunk,
            chunk=CHUNK,
        )
    )


def sweep(
    now: datetime | None = None,
    *,
    limit: int | None = None,
    on_fired: Callable[[list[int]], None] | None = None,
) -> SweepReport:
    """One pass: fire every due rung of every registered deadline source (up to `limit`
    each), re-queue lost deliveries.

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

    def take(results: list[tuple[str, list[int]]]) -> None:
        ids: list[int] = []
        for what, pending in results:
            if what.startswith("error: "):
                report.errors.append(what[len("error: ") :])
                continue
            report.fired.append(what)
            ids.extend(pending)
        report.notifications.extend(ids)
        if on_fired is not None and ids:
            on_fired(ids)

    def one_by_one(source: DeadlineSource, rows: list[Row]) -> None:
        for row in rows:
            try:
                result = source.fire(row, now)
            except Exception as exc:  # one broken row must not stop the sweep
                log.exception("deadline sweep: %s %s failed", source.name, row[0])
                report.errors.append(f"{source.name} {row[0]}: {exc}")
                try:
                    source.back_off(row, now)
                except Exception:
                    log.exception("deadline sweep: could not back off %s %s", source.name, row[0])
                continue
            if result is not None:
                take([result])

    for source in registered():
        try:
            rows = source.due(now, limit)
        except Exception as exc:
            log.exception("deadline sweep: source %s could not list its due rows", source.name)
            report.errors.append(f"{source.name}: {exc}")
            continue
        if source.fire_many is None:
            one_by_one(source, rows)
            continue
        for start in range(0, len(rows), source.chunk):
            chunk = rows[start : start + source.chunk]
            try:
                take(source.fire_many(chunk, now))
            except Exception:
                # The chunk as a whole failed (a lock timeout, a lost connection at
                # commit): nothing of it was written. Fire its rows one by one.
                log.exception("deadline sweep: a chunk of %d %s rows failed; one by one", len(chunk), source.name)
                one_by_one(source, chunk)
    report.redriven = redrive(now, limit)
    return report
