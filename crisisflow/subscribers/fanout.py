"""Telling subscribers about a publication: exactly once per subscriber per publication.

1. In the publication's transaction (statements.publishing.on_published) a FanOut row
   is written for a public statement's publication — one per published version: the
   same version published on a second channel tells nobody twice. After commit a
   worker task is queued for it. When the other language's version is on the way,
   there are two rows: the readers of the published language now, the others' after
   a wait for their version (crisisflow.subscribers.pairing); both write their rows
   under the publication's one outbox source.
2. The worker (run()) takes the fan-out's lease with a compare-and-set, then walks the
   confirmed subscribers (of its readers' language) of the notice and of all notices in
   id order, a chunk at a time.
   Each chunk is one transaction: the outbox rows, written by one INSERT … SELECT … ON
   CONFLICT DO NOTHING (write_rows), and the fan-out's
   position, moved by a compare-and-set on the lease the worker holds. The rows are
   queued for delivery as each chunk commits.
3. A worker killed mid fan-out leaves its lease behind; once it lapses, the sweep's
   "subscriber_fanout" source queues the fan-out again and the next worker resumes
   after the last committed chunk. The outbox's unique key (source, channel, target),
   here (publication, subscriber), refuses a second row even if two ran at once.

Delivery is the outbox's (crisisflow.alerts.delivery): claims, retries with backoff,
idempotency keys, a failure put on the timeline and told to the commander.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.alerts import channels, sources
from crisisflow.alerts.models import Channel, Notification
from crisisflow.conf import setting
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describes, record
from crisisflow.statements import kinds, publishing
from crisisflow.statements.kinds import Audience
from crisisflow.statements.models import Publication
from crisisflow.subscribers import notices, pairing, sending
from crisisflow.subscribers.models import ALL, FanOut, Subscriber

log = logging.getLogger(__name__)

NOTIFIED = "subscribers_notified"


def connect() -> None:
    """Plug into publishing, the outbox and the sweep (from AppConfig.ready())."""
    publishing.on_published(start)
    channels.register_sender(Channel.SUBSCRIBER, sending.send)
    channels.register_preparer(Channel.SUBSCRIBER, sending.prepare)
    sources.register(sources.DeadlineSource(name="subscriber_fanout", due=due, fire=fire, back_off=back_off))


def tells_subscribers(publication: Publication) -> bool:
    """A public statement of an incident whose public notice is open (not a drill)."""
    kind = kinds.KINDS.get(publication.statement.kind)
    if kind is None or kind.audience != Audience.PUBLIC:
        return False
    return notices.open_to_subscribers(publication.statement.incident)


def start(publication: Publication) -> FanOut | None:
    """Called in the publication's transaction: note the fan-out, queue it after commit.

    The same statement in the other language, published within the pairing window,
    joins the fan-out of its readers instead of starting one (crisisflow.subscribers.pairing).
    Otherwise the readers of this language are told at once, and so are the others'
    unless their version is on the way: their fan-out waits for it (`hold_until`)."""
    if not tells_subscribers(publication):
        return None
    version = publication.statement_version_id
    if FanOut.objects.filter(Q(publication__statement_version=version) | Q(paired__statement_version=version)).exists():
        return None  # this version was already announced (published on another channel)
    now = clock.now()
    partner = pairing.partner(publication, now)
    if partner is not None and FanOut.objects.filter(pk=partner.pk, paired__isnull=True).update(
        paired=publication, hold_until=None
    ):
        # Queued at once: it waited for this one (a fan-out already under way ignores it).
        transaction.on_commit(lambda: queue(partner.pk))
        return partner
    hold = pairing.hold_until(publication, now)
    language = publication.statement.language
    at_once = FanOut.objects.create(
        publication=publication,
        readers=FanOut.Readers.ALL if hold is None else pairing.readers_of(language),
        incident_id=publication.statement.incident_id,
        created_at=now,
        queued_at=now,
    )
    transaction.on_commit(lambda: queue(at_once.pk))
    if hold is not None:
        # Not queued: the sweep's source queues it once the wait is over, or the other
        # language's publication does (above).
        FanOut.objects.create(
            publication=publication,
            readers=pairing.readers_of(pairing.other_language(language)),
            incident_id=publication.statement.incident_id,
            created_at=now,
            queued_at=now,
            hold_until=hold,
        )
    return at_once


def queue(fanout_id: int) -> None:
    from crisisflow.subscribers import tasks

    try:
        tasks.fan_out.delay(fanout_id)
    except Exception:  # the broker is down: the sweep queues it once it is back
        log.exception("fan-out %s: could not queue it; the sweep will", fanout_id)


def scopes(incident_id: int) -> list[str]:
    return [ALL, f"incident:{incident_id}"]


def take(fanout_id: int, now: datetime) -> datetime | None:
    """Take the fan-out's lease (compare-and-set); its end, our token, or None. Not
    while it waits for the other language (the sweep queues it when the wait is over)."""
    until = now + timedelta(seconds=setting("SUBSCRIBER_FANOUT_LEASE_SECONDS"))
    taken = FanOut.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now),
        Q(hold_until__isnull=True) | Q(hold_until__lte=now),
        pk=fanout_id,
        finished_at__isnull=True,
    ).update(lease_until=until)
    return until if taken else None


def run(fanout_id: int, *, chunk: int | None = None, stop_after: int | None = None) -> int:
    """Write the outbox rows of a fan-out, chunk by chunk (SUBSCRIBER_FANOUT_CHUNK
    subscribers per transaction: 100,000 take a few dozen commits, and a killed worker's
    successor redoes at most one); how many rows this call wrote. `stop_after`: chunks
    to do before returning (tests: a worker "killed" midway)."""
    chunk = chunk or setting("SUBSCRIBER_FANOUT_CHUNK")
    lease = take(fanout_id, clock.now())
    if lease is None:
        return 0  # finished, or another worker holds it
    fanout = FanOut.objects.select_related("publication__statement__incident").get(pk=fanout_id)
    publication = fanout.publication
    incident = publication.statement.incident
    readers = fanout.readers
    source = f"publication:{publication.pk}"
    payload = {
        "kind": sending.KIND,
        "publication": publication.pk,
        # Each language's version of it: a subscriber gets theirs (sending.chosen).
        "versions": pairing.versions(fanout),
        "incident": {"reference": incident.reference},
        "incident_id": incident.pk,
    }
    written = 0
    done_chunks = 0
    after = fanout.after
    while True:
        now = clock.now()
        ids = list(
            Subscriber.objects.filter(
                pairing.reading(readers), state=Subscriber.State.CONFIRMED, scope__in=scopes(incident.pk), pk__gt=after
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        new_lease = now + timedelta(seconds=setting("SUBSCRIBER_FANOUT_LEASE_SECONDS"))
        with transaction.atomic():
            new = write_rows(
                publication, incident.pk, source, payload, after, ids[-1] if ids else after, now, readers=readers
            )
            finished = len(ids) < chunk
            moved = FanOut.objects.filter(pk=fanout_id, lease_until=lease, finished_at__isnull=True).update(
                after=ids[-1] if ids else after,
                written=fanout.written + written + len(new),
                lease_until=None if finished else new_lease,
                finished_at=now if finished else None,
            )
            if not moved:
                # Our lease lapsed and another worker took over: it writes from here.
                transaction.set_rollback(True)
                log.warning("fan-out %s: lease lost after %d rows; another worker carries on", fanout_id, written)
                return written
            if finished:
                _record_finished(incident.pk, fanout, fanout.written + written + len(new), now)
        lease = None if finished else new_lease
        written += len(new)
        if new:
            _deliver(new)
        if ids:
            after = ids[-1]
        done_chunks += 1
        if finished:
            return written
        if stop_after is not None and done_chunks >= stop_after:
            return written


# The broker's priority of a fan-out's deliveries (Redis: 0 is served first, then 3, 6,
# 9). 100,000 deliveries are 2,000 messages; at the default priority a resumed fan-out
# or the sweep itself would wait behind all of them.
BULK_PRIORITY = 6


def write_rows(
    publication, incident_id: int, source: str, payload: dict, after: int, upto: int, now, *, readers: str = ""
) -> list[int]:
    """The outbox rows of the confirmed subscribers (who read `readers`' language, or
    everyone) with ids in (after, upto], written by
    one INSERT … SELECT: the database builds every row itself (nothing per subscriber
    travels to and from Python, which costs more than the write), and ON CONFLICT DO
    NOTHING skips the subscribers a dead worker's committed chunk already has. The ids
    of the rows written."""
    if upto <= after:
        return []
    quote = connection.ops.quote_name
    table = quote(Notification._meta.db_table)
    subscribers = quote(Subscriber._meta.db_table)
    at = connection.ops.adapt_datetimefield_value
    # The same split as pairing.reading.
    language = {
        FanOut.Readers.CHINESE: f"AND s.{quote('language')} LIKE 'zh%%'",
        FanOut.Readers.ENGLISH: f"AND s.{quote('language')} NOT LIKE 'zh%%'",
    }.get(readers, "")
    columns = ", ".join(
        quote(c)
        for c in (
            "incident_id", "source", "kind", "rung", "channel", "target", "payload", "state",
            "due_at", "created_at", "attempts", "next_attempt_at", "enqueued_at", "last_error",
        )
    )  # fmt: skip
    sql = (
        f"INSERT INTO {table} ({columns}) "
        f"SELECT %s, %s, %s, %s, %s, %s || s.{quote('id')}, %s, %s, %s, %s, 0, %s, %s, '' "
        f"FROM {subscribers} s WHERE s.{quote('state')} = %s AND s.{quote('scope')} IN (%s, %s) "
        f"AND s.{quote('id')} > %s AND s.{quote('id')} <= %s {language} "
        f"ORDER BY s.{quote('id')} ON CONFLICT DO NOTHING RETURNING {quote('id')}"
    )
    params = [
        incident_id,
        source,
        sending.KIND,
        sending.KIND,
        Channel.SUBSCRIBER,
        "subscriber:",
        connection.ops.adapt_json_value(payload, None),
        Notification.State.PENDING,
        at(publication.published_at),
        at(now),
        at(now),
        at(now),
        Subscriber.State.CONFIRMED,
        *scopes(incident_id),
        after,
        upto,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def _deliver(ids: list[int]) -> None:
    from crisisflow.alerts import tasks

    try:
        for start in range(0, len(ids), tasks.DELIVERY_BATCH):
            tasks.deliver.apply_async((ids[start : start + tasks.DELIVERY_BATCH],), priority=BULK_PRIORITY)
    except Exception:  # the rows are written with enqueued_at: redrive queues them again
        log.exception("fan-out: could not queue %d deliveries; the sweep's redrive will", len(ids))


def _record_finished(incident_id: int, fanout: FanOut, count: int, now: datetime) -> None:
    incident = Incident.objects.select_for_update(of=("self",)).get(pk=incident_id)
    publication = fanout.publication
    data = {"publication": publication.pk, "statement": publication.statement_id, "subscribers": count}
    if fanout.readers:
        data["readers"] = fanout.readers
    if fanout.paired_id is not None:
        data["paired"] = fanout.paired_id
    record(incident, None, NOTIFIED, data, at=now)


@describes(NOTIFIED, label=gettext_lazy("Subscribers notified"))
def _notified(event: Event) -> str:
    count = event.data.get("subscribers", 0)
    readers = event.data.get("readers")
    if readers == FanOut.Readers.CHINESE:
        return _("Public subscribers who read Chinese told of the publication: %(count)s") % {"count": count}
    if readers == FanOut.Readers.ENGLISH:
        return _("Public subscribers who read English told of the publication: %(count)s") % {"count": count}
    return _("Public subscribers told of the publication: %(count)s") % {"count": count}


# --- the sweep's safety net -------------------------------------------------------------------


def due(now: datetime, limit: int) -> list[tuple]:
    """Unfinished fan-outs nobody holds (the worker died, or the task never came) that
    were last queued at least a lease ago, and are not waiting for the other language."""
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    waited = Q(hold_until__isnull=True) | Q(hold_until__lte=now)
    return list(
        FanOut.objects.filter(
            free,
            waited,
            finished_at__isnull=True,
            queued_at__lte=now - timedelta(seconds=setting("SUBSCRIBER_FANOUT_LEASE_SECONDS")),
        )
        .order_by("queued_at")
        .values_list("pk", "queued_at")[:limit]
    )


def fire(row: tuple, now: datetime):
    """Queue the fan-out again (once per sweeper: compare-and-set on queued_at); the
    worker takes the lease and resumes after the last committed chunk."""
    fanout_id, seen = row
    if FanOut.objects.filter(pk=fanout_id, queued_at=seen).update(queued_at=now):
        queue(fanout_id)
    return None


def back_off(row: tuple, now: datetime) -> None:
    FanOut.objects.filter(pk=row[0]).update(queued_at=now)
