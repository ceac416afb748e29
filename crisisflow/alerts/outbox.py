"""Writing the notification rows for a fired rung (in the sweep's transaction), and
bundling what one sweep wrote for one target into a digest (gather).

Who may be told: recipients.resolve names only people who may see the incident; a team
webhook (a chat group, seen by whoever is in it) gets nothing about a restricted incident
unless the endpoint is marked for restricted incidents.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import get_script_prefix, get_urlconf, reverse

from crisisflow import bulk
from crisisflow.alerts.ladder import Kind
from crisisflow.alerts.memo import remembered
from crisisflow.alerts.messages import URGENCY
from crisisflow.alerts.models import Channel, Notification, WebhookEndpoint
from crisisflow.conf import setting
from crisisflow.vocab import severity_at_least

log = logging.getLogger(__name__)


# Incident paths already resolved, by URL configuration and reference: resolving one
# cost more than the rest of a notification's payload, and a burst of deadlines falls on
# the same few hundred incidents again and again. Bounded; cleared when full.
_paths: dict[tuple[str | None, str, str, str], str] = {}
MAX_PATHS = 10_000


def incident_path(reference: str) -> str:
    key = (get_urlconf(), settings.ROOT_URLCONF, get_script_prefix(), reference)
    path = _paths.get(key)
    if path is None:
        if len(_paths) >= MAX_PATHS:
            _paths.clear()
        path = _paths[key] = reverse("incident-detail", args=[reference])
    return path


def incident_url(incident, task=None) -> str:
    path = incident_path(incident.reference)
    return settings.SITE_URL.rstrip("/") + path + (f"#task-{task.pk}" if task is not None else "")


def payload_for(kind: str, rung: str, incident, task=None, due_at: datetime | None = None, **extra: Any) -> dict:
    """The message as data; messages.render() turns it into words in any language."""
    data = {
        "kind": kind,
        "rung": rung,
        "incident": {
            "reference": incident.reference,
            "title": incident.title,
            "severity": incident.severity,
            "state": incident.state,
        },
        "due_at": due_at.isoformat() if due_at else None,
        "url": incident_url(incident, task),
        # Who may read it is decided when it is read (messages.readable_incidents).
        "incident_id": incident.pk,
        "restricted": incident.restricted,
    }
    if task is not None:
        data["task"] = {"id": task.pk, "key": task.key, "title": task.title, "role": task.role}
    data.update(extra)
    return data


def channels_for(user, kind: str, severity: str) -> list[str]:
    channels = []
    if user.alert_in_app:
        channels.append(Channel.IN_APP)
    if user.alert_email and user.email:
        channels.append(Channel.EMAIL)
    # Passed deadlines, and anything on a critical incident, reach at least the app.
    if not channels and (kind in Kind.CRITICAL or severity == "critical"):
        channels.append(Channel.IN_APP)
    return channels


def endpoints_for(kind: str, severity: str, restricted: bool = False) -> list[WebhookEndpoint]:
    chosen = []
    active = remembered("endpoints", lambda: list(WebhookEndpoint.objects.filter(active=True)))
    for endpoint in active:
        if restricted and not endpoint.restricted_incidents:
            continue  # a chat group is not the restricted incident's team
        if endpoint.escalations_only and kind in Kind.WARNINGS:
            continue
        if severity and not severity_at_least(severity, endpoint.min_severity):
            continue
        chosen.append(endpoint)
    return chosen


def rows_for(
    *,
    source: str,
    kind: str,
    rung: str,
    incident,
    people,
    payload: dict,
    now: datetime,
    due_at: datetime,
    task=None,
    team_channels: bool = True,
    told: frozenset[str] = frozenset(),
) -> list[Notification]:
    """One row per person per channel, and one per team webhook (but none to the targets
    in `told`, see told_before), not saved yet: the sweep saves a whole chunk of
    rungs' rows with one insert."""
    rows = []
    common = dict(
        incident=incident,
        task=task,
        source=source,
        kind=kind,
        rung=rung,
        payload=payload,
        due_at=due_at,
        created_at=now,
    )
    for person in people:
        if user_target(person) in told:
            continue
        for channel in channels_for(person, kind, incident.severity):
            in_app = channel == Channel.IN_APP
            rows.append(
                Notification(
                    **common,
                    channel=channel,
                    recipient=person,
                    target=user_target(person),
                    state=Notification.State.DELIVERED if in_app else Notification.State.PENDING,
                    delivered_at=now if in_app else None,
                    next_attempt_at=None if in_app else now,
                    enqueued_at=None if in_app else now,
                )
            )
    if team_channels:
        for endpoint in endpoints_for(kind, incident.severity, incident.restricted):
            if f"endpoint:{endpoint.pk}" in told:
                continue
            rows.append(
                Notification(
                    **common,
                    channel=Channel.WEBHOOK,
                    endpoint=endpoint,
                    target=f"endpoint:{endpoint.pk}",
                    state=Notification.State.PENDING,
                    next_attempt_at=now,
                    enqueued_at=now,
                )
            )
    return rows


def save_and_queue(rows: list[Notification]) -> list[int]:
    """Write rows built by rows_for with one insert and queue the ones to send once the
    transaction commits (without a broker they wait, and the sweep's redrive queues
    them). The ids written. For an app's deadline source that fires one rung at a time."""
    bulk.insert(rows)
    to_send = [row.pk for row in rows if row.state == Notification.State.PENDING]
    if to_send:
        transaction.on_commit(lambda: _enqueue(to_send))
    return [row.pk for row in rows]


def _enqueue(ids: list[int]) -> None:
    from crisisflow.alerts.tasks import enqueue

    try:
        enqueue(ids)
    except Exception:  # noqa: BLE001 - the sweep's redrive is the safety net
        log.warning("could not queue %d notifications; the sweep will", len(ids))


# The rows this process's sweep wrote, by id, until gather bundles them: gather then
# reads back only what may have changed since (state, attempts, read, bundled), not every
# row's payload again. Emptied by each gather.
_written: dict[int, Notification] = {}


def handed_back(rows: list[Notification]) -> list[int]:
    """The ids a fired rung hands back to the sweep: with digests every row written
    (gather bundles them once the sweep is over); without, the rows to deliver."""
    if setting("DIGESTS"):
        for row in rows:
            _written[row.pk] = row
        return [row.pk for row in rows]
    return [row.pk for row in rows if row.state == Notification.State.PENDING]


def user_target(person) -> str:
    return f"user:{person.pk}"


def told_before(incident, task, rung: str, at: datetime) -> frozenset[str]:
    """The targets already told of this very rung (the same name at the same moment of
    the same deadline) by an earlier ladder of it.

    A ladder is rebuilt when a task gets a new owner or the golden clock is re-planned;
    its rungs already past then fire again. An escalation of a task that was overdue when
    it was handed to its role lead would reach the commander twice. Whoever heard a rung
    does not hear it again; a new owner still does. Only a rebuilt ladder can repeat a
    rung (the claim stops repeats within one), and only a rung due before it was
    rebuilt: otherwise no query is made."""
    return told_before_each([(incident, task, rung, at)])[0]


def _may_repeat(incident, task, at: datetime) -> bool:
    if task is not None:
        return task.alert_generation > 1 and task.alert_window_start is not None and at <= task.alert_window_start
    return incident.clock_generation > 1


def told_before_each(rungs: list[tuple]) -> list[frozenset[str]]:
    """told_before for many rungs, each an (incident, task, rung name, at), with one
    query for all those that may repeat (none if none may)."""
    asked = [(incident, task, name, at) for incident, task, name, at in rungs if _may_repeat(incident, task, at)]
    if not asked:
        return [frozenset()] * len(rungs)
    which = Q()
    for incident, task, name, at in asked:
        which |= Q(incident=incident, task=task, rung=name, due_at=at)
    told: dict[tuple, set[str]] = defaultdict(set)
    for incident_id, task_id, name, at, target in Notification.objects.filter(which).values_list(
        "incident_id", "task_id", "rung", "due_at", "target"
    ):
        told[(incident_id, task_id, name, at)].add(target)
    return [
        frozenset(told.get((incident.pk, task.pk if task is not None else None, name, at), ()))
        for incident, task, name, at in rungs
    ]


# --- digests ----------------------------------------------------------------------------------


def _urgency(row: Notification) -> tuple:
    kind = row.kind
    rank = URGENCY.index(kind) if kind in URGENCY else len(URGENCY)
    return (rank, row.due_at, (row.payload.get("incident") or {}).get("reference", ""), row.pk)


def gather(ids: list[int], now: datetime) -> list[int]:
    """Bundle what one sweep wrote: each target (a person, a team webhook) gets one
    message per channel — a digest listing every alert, most urgent first — instead of
    one per rung. A target with a single alert gets it as it is. The rung rows stay (the
    timeline, the incident's delivery log and the no-repeat rule read them), marked
    "bundled" and pointing at their digest.

    `ids`: every row the sweep wrote (committed). Returns the ids to deliver: digests and
    single rows still waiting to be sent. If bundling fails, the rows go out one by one."""
    if not ids:
        _written.clear()
        return []
    written = {pk: row for pk in ids if (row := _written.get(pk)) is not None}
    _written.clear()
    try:
        with transaction.atomic():
            return _gather(ids, now, written)
    except Exception:
        log.exception("deadline sweep: could not bundle %d notifications; sending them one by one", len(ids))
        pending = Notification.objects.filter(pk__in=ids, state=Notification.State.PENDING)
        return sorted(pending.values_list("pk", flat=True))


def _fresh(row: Notification) -> bool:
    """Still as written: not claimed by a delivery worker (a redrive in a very long sweep
    can queue it), not read yet, not bundled already."""
    if row.channel == Channel.IN_APP:
        return row.state == Notification.State.DELIVERED and row.read_at is None and row.digest_id is None
    return row.state == Notification.State.PENDING and row.attempts == 0


def _gather(ids: list[int], now: datetime, written: dict[int, Notification]) -> list[int]:
    # Locked, so no worker claims a row while it is being bundled. Of a row this process
    # wrote (`written`), only what may have changed since is read; others are read whole.
    rows: list[Notification] = []
    others: list[int] = []
    locked = Notification.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    for pk, state, attempts, read_at, digest_id in locked.values_list(
        "pk", "state", "attempts", "read_at", "digest_id"
    ):
        row = written.get(pk)
        if row is None:
            others.append(pk)
            continue
        row.state, row.attempts, row.read_at, row.digest_id = state, attempts, read_at, digest_id
        rows.append(row)
    if others:
        rows.extend(Notification.objects.filter(pk__in=others))  # locked above
        rows.sort(key=lambda row: row.pk)
    groups: dict[tuple[str, str], list[Notification]] = defaultdict(list)
    deliver: list[int] = []
    for row in rows:
        if _fresh(row):
            groups[(row.channel, row.target)].append(row)
        elif row.state == Notification.State.PENDING:
            deliver.append(row.pk)
    for (channel, _target), parts in groups.items():
        if len(parts) == 1:
            if channel != Channel.IN_APP:
                deliver.append(parts[0].pk)
            continue
        parts.sort(key=_urgency)
        digest = _digest(parts, now)
        digest.save()
        Notification.objects.filter(pk__in=[part.pk for part in parts]).update(
            state=Notification.State.BUNDLED, digest=digest, next_attempt_at=None, enqueued_at=None
        )
        if channel != Channel.IN_APP:
            deliver.append(digest.pk)
    return sorted(deliver)


def _digest(parts: list[Notification], now: datetime) -> Notification:
    first = parts[0]
    items = [{**part.payload, "notification": part.pk} for part in parts]
    references = {(part.payload.get("incident") or {}).get("reference") for part in parts}
    one = next(iter(references)) if len(references) == 1 else None
    path = reverse("incident-detail", args=[one]) if one else reverse("incident-list")
    url = settings.SITE_URL.rstrip("/") + path
    payload = {
        "kind": Kind.DIGEST,
        "rung": Kind.DIGEST,
        "incident": first.payload.get("incident"),
        "items": items,
        "due_at": min(part.due_at for part in parts).isoformat(),
        "url": url,
    }
    in_app = first.channel == Channel.IN_APP
    return Notification(
        # A digest may span incidents: it is filed under its most urgent one's, and lists all.
        incident_id=first.incident_id,
        source=f"digest:{first.source}",
        kind=Kind.DIGEST,
        rung=Kind.DIGEST,
        channel=first.channel,
        recipient_id=first.recipient_id,
        endpoint_id=first.endpoint_id,
        target=first.target,
        payload=payload,
        state=Notification.State.DELIVERED if in_app else Notification.State.PENDING,
        due_at=min(part.due_at for part in parts),
        created_at=now,
        delivered_at=now if in_app else None,
        next_attempt_at=None if in_app else now,
        enqueued_at=None if in_app else now,
    )
