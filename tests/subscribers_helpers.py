"""A published public statement and confirmed subscribers, for the subscribers tests."""

from __future__ import annotations

import time_machine
from django.utils import timezone

from crisisflow.notices.actions import save_notice
from crisisflow.subscribers.models import ALL, Subscriber
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to
from tests.statements_helpers import approve_all, publish_approved, write


def open_notice(commander, incident) -> None:
    save_notice(commander, incident, title_en="Payments outage", title_zh="支付故障", enabled=True)


def incident_with_statement(people):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people, detected_at=T0), State.TEAM_ASSEMBLED)
        # Followers hear of an incident only through its public notice.
        open_notice(people.commander, incident)
        statement = write(people.commander, incident, "holding_statement")
        approve_all(people, statement)
    return incident, statement


def publish(people, statement):
    with time_machine.travel(T0, tick=False):
        return publish_approved(people, statement)


def confirmed(kind="email", address="reader@example.com", *, incident=None, language="en", secret=""):
    return Subscriber.objects.create(
        kind=kind,
        address=address,
        scope=f"incident:{incident.pk}" if incident else ALL,
        incident=incident,
        language=language,
        state=Subscriber.State.CONFIRMED,
        secret=secret,
        created_at=timezone.now(),
        confirmed_at=timezone.now(),
    )


def forget_low_priority_messages(redis_url: str) -> None:
    """The fan-out's deliveries wait on the broker at a lower priority (Redis keeps them
    in lists of their own, "celery\x06\x166"…): drop those left by an earlier run too."""
    if not redis_url:
        return
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match="celery\x06\x16*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
