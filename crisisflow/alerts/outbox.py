"""Writing the notification rows for a fired rung (in the sweep's transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from crisisflow.alerts.ladder import Kind
from crisisflow.alerts.memo import remembered
from crisisflow.alerts.models import Channel, Notification, WebhookEndpoint
from crisisflow.vocab import severity_at_least


def incident_url(incident, task=None) -> str:
    path = reverse("incident-detail", args=[incident.reference])
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


def endpoints_for(kind: str, severity: str) -> list[WebhookEndpoint]:
    chosen = []
    active = remembered("endpoints", lambda: list(WebhookEndpoint.objects.filter(active=True)))
    for endpoint in active:
        if endpoint.escalations_only and kind in Kind.WARNINGS:
            continue
        if severity and not severity_at_least(severity, endpoint.min_severity):
            continue
        chosen.append(endpoint)
    return chosen


def write(
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
) -> list[Notification]:
    """One row per person per channel, and one per team webhook. In-app rows are
    delivered the moment they are written; the others wait for a delivery worker."""
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
        for channel in channels_for(person, kind, incident.severity):
            in_app = channel == Channel.IN_APP
            rows.append(
                Notification(
                    **common,
                    channel=channel,
                    recipient=person,
                    target=f"user:{person.pk}",
                    state=Notification.State.DELIVERED if in_app else Notification.State.PENDING,
                    delivered_at=now if in_app else None,
                    next_attempt_at=None if in_app else now,
                    enqueued_at=None if in_app else now,
                )
            )
    if team_channels:
        for endpoint in endpoints_for(kind, incident.severity):
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
    # The claim in the sweep means a rung never gets here twice; should it ever, the
    # unique key on (source, channel, target) refuses the second write outright.
    Notification.objects.bulk_create(rows)
    return rows
