"""A subscriber's data on request (PIPL): everything kept about an address, as JSON, and
erasing all of it — the subscriptions, their consent records and the messages sent to
them (the outbox rows). Nothing about subscribers is on the append-only timeline (the
fan-out event counts them), so nothing is left behind there."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q

from crisisflow import clock
from crisisflow.alerts.models import Channel, Notification
from crisisflow.subscribers.models import Subscriber
from crisisflow.subscribers.subscriptions import clean_address

log = logging.getLogger(__name__)


def _normal(address: str) -> list[str]:
    """The forms the address may be stored in (an e-mail lower-cased, a number with +86)."""
    forms = {address.strip()}
    for kind in (Subscriber.Kind.EMAIL, Subscriber.Kind.SMS):
        try:
            forms.add(clean_address(kind, address))
        except Exception:
            pass
    return sorted(forms)


def subscribers_of(address: str):
    return Subscriber.objects.filter(address__in=_normal(address)).select_related("incident").order_by("pk")


def export(address: str) -> dict:
    """All that is kept about `address`."""
    subscriptions = []
    for s in subscribers_of(address).prefetch_related("consents"):
        sent = Notification.objects.filter(channel=Channel.SUBSCRIBER, target=s.target).order_by("pk")
        subscriptions.append(
            {
                "kind": s.kind,
                "address": s.address,
                "notice": s.incident.reference if s.incident_id else "all",
                "language": s.language,
                "state": s.state,
                "subscribed_at": s.created_at.isoformat(),
                "confirmed_at": s.confirmed_at.isoformat() if s.confirmed_at else None,
                "unsubscribed_at": s.unsubscribed_at.isoformat() if s.unsubscribed_at else None,
                "webhook_secret_kept": bool(s.secret) and s.kind == Subscriber.Kind.WEBHOOK,
                "consents": [
                    {
                        "action": c.action,
                        "at": c.at.isoformat(),
                        "to_what": c.scope,
                        "from_network_address": c.network_address,
                        "wording": c.wording,
                        "wording_version": c.wording_version,
                        "language": c.language,
                    }
                    for c in s.consents.all()
                ],
                "messages": [
                    {
                        "id": n.idempotency_key,
                        "publication": n.payload.get("publication"),
                        "state": n.state,
                        "created_at": n.created_at.isoformat(),
                        "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None,
                    }
                    for n in sent
                ],
            }
        )
    return {"address": address, "exported_at": clock.now().isoformat(), "subscriptions": subscriptions}


@transaction.atomic
def erase(address: str) -> dict[str, int]:
    """Delete everything kept about `address`; counts of what went."""
    found = list(subscribers_of(address).select_for_update(of=("self",)))
    return erase_subscribers(found)


@transaction.atomic
def erase_subscribers(found) -> dict[str, int]:
    targets = [s.target for s in found]
    messages = 0
    if targets:
        messages, _ = Notification.objects.filter(Q(channel=Channel.SUBSCRIBER) & Q(target__in=targets)).delete()
    consents = sum(s.consents.count() for s in found)
    Subscriber.objects.filter(pk__in=[s.pk for s in found]).delete()
    # No address in the log: only how much was erased.
    log.info("erased %d subscriptions, %d consent records, %d messages", len(found), consents, messages)
    return {"subscriptions": len(found), "consents": consents, "messages": messages}
