"""Sending one subscriber notification (the outbox's "subscriber" channel) by e-mail,
webhook or SMS, in the subscriber's language.

The outbox row holds only which publication it is about; the words are made here from
the published version (read once per process and publication, however many thousand
subscribers it goes to). Every e-mail carries an unsubscribe link and the
List-Unsubscribe and List-Unsubscribe-Post (one-click, RFC 8058) headers; every message
carries the row's idempotency key, so a repeat after a worker died mid-send can be
dropped by whoever receives it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from crisisflow.alerts import channels
from crisisflow.alerts.models import Notification
from crisisflow.statements import kinds
from crisisflow.statements.models import Publication
from crisisflow.subscribers import notices, pairing, sms, subscriptions
from crisisflow.subscribers.models import Subscriber

KIND = "public_update"
SMS_TEXT_LIMIT = 60


@dataclass(frozen=True)
class Published:
    """What a publication says, as the public may read it."""

    publication: int
    reference: str
    kind: str
    language: str
    title: str
    body: str
    correction: bool
    what_changed: str
    published_at: str
    notice_url: str


@lru_cache(maxsize=64)
def published(publication_id: int) -> Published:
    pub = Publication.objects.select_related("statement__incident", "statement_version").get(pk=publication_id)
    version = pub.statement_version
    reference = pub.statement.incident.reference
    return Published(
        publication=pub.pk,
        reference=reference,
        kind=pub.statement.kind,
        language=pub.statement.language,
        title=version.title,
        body=version.body,
        correction=pub.is_correction,
        what_changed=version.correction_note if pub.is_correction else "",
        published_at=pub.published_at.isoformat(),
        notice_url=notices.notice_url(reference),
    )


@dataclass(frozen=True)
class Words:
    subject: str
    intro: str
    text: str
    html: str


@lru_cache(maxsize=256)
def words(publication_id: int, language: str, elsewhere: bool = False) -> Words:
    """The message about a publication in one language, without the per-subscriber
    links (put in with str.replace at send time). `elsewhere`: the statement is not
    published in the reader's language, and the message says so."""
    item = published(publication_id)
    with translation.override(language):
        kind_label = str(kinds.kind(item.kind).label) if item.kind in kinds.KINDS else item.kind
        if item.correction:
            intro = _("A correction was published on the notice you follow.")
        else:
            intro = _("A new statement was published on the notice you follow.")
        if elsewhere:
            intro += " " + _(
                "It is not published in your language yet, so here it is as published; "
                "the notice shows your language's version once there is one."
            )
        subject = item.title or _("Update: %(kind)s") % {"kind": kind_label}
        context = {
            "item": item,
            "intro": intro,
            "kind_label": kind_label,
            "unsubscribe_url": UNSUBSCRIBE_MARK,
        }
        return Words(
            subject=(_("Correction: %(subject)s") % {"subject": subject}) if item.correction else subject,
            intro=intro,
            text=render_to_string("subscribers/email_update.txt", context),
            html=render_to_string("subscribers/email_update.html", context),
        )


UNSUBSCRIBE_MARK = "\ufdd0unsubscribe\ufdd0"


def subscriber_of(notification: Notification) -> Subscriber:
    kind, _sep, pk = notification.target.partition(":")
    subscriber = Subscriber.objects.filter(pk=int(pk)).first() if kind == "subscriber" and pk.isdigit() else None
    if subscriber is None:
        raise channels.Permanent("the subscriber was erased")
    if subscriber.state != Subscriber.State.CONFIRMED:
        raise channels.Permanent("the subscriber unsubscribed before it was sent")
    return subscriber


def send(notification: Notification, now: datetime, batch: channels.Batch) -> None:
    subscriber = subscriber_of(notification)
    try:
        _send(notification, subscriber, now, batch)
    except channels.SendError as err:
        # The reason goes on the incident's timeline, which is append-only: it must not
        # name the subscriber (an erased address would stay there for ever).
        raise type(err)(without_address(err.reason, subscriber)) from None


def without_address(reason: str, subscriber: Subscriber) -> str:
    hidden = "<subscriber>"
    for said in (subscriber.address, channels.where(subscriber.address) if subscriber.kind == "webhook" else ""):
        if said:
            reason = reason.replace(said, hidden)
    return reason


def version_for(notification: Notification, subscriber: Subscriber) -> tuple[int, bool]:
    """The publication this subscriber is told of — the version in their language when
    the fan-out has one — and whether it is in another language."""
    payload = notification.payload or {}
    publication_id = int(payload.get("publication"))
    versions = payload.get("versions")
    if not versions:
        return publication_id, False  # a row written before versions were paired
    return pairing.chosen(versions, subscriber.language, publication_id)


def _send(notification: Notification, subscriber: Subscriber, now: datetime, batch: channels.Batch) -> None:
    if subscriber.kind == Subscriber.Kind.EMAIL:
        channels.send_prepared_email(build_email(notification, subscriber), batch)
    elif subscriber.kind == Subscriber.Kind.WEBHOOK:
        send_webhook(notification, subscriber, now)
    elif subscriber.kind == Subscriber.Kind.SMS:
        send_sms(notification, subscriber)
    else:
        raise channels.Permanent(f"unknown subscriber kind {subscriber.kind!r}")


def build_email(notification: Notification, subscriber: Subscriber) -> EmailMultiAlternatives:
    publication_id, elsewhere = version_for(notification, subscriber)
    said = words(publication_id, subscriber.language, elsewhere)
    leave = subscriptions.unsubscribe_url(subscriber.pk)
    email = EmailMultiAlternatives(
        subject=said.subject,
        body=said.text.replace(UNSUBSCRIBE_MARK, leave),
        to=[subscriber.address],
        headers={
            "Message-ID": channels.message_id(notification),
            channels.KEY_HEADER: notification.idempotency_key,
            "Content-Language": subscriber.language,
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": f"<{leave}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    email.attach_alternative(said.html.replace(UNSUBSCRIBE_MARK, leave), "text/html")
    return email


def webhook_body(notification: Notification, subscriber: Subscriber, now: datetime) -> bytes:
    publication_id, elsewhere = version_for(notification, subscriber)
    item = published(publication_id)
    said = words(publication_id, subscriber.language, elsewhere)
    data = {
        "type": "notice.updated",
        "idempotency_key": notification.idempotency_key,
        "notice": {"reference": item.reference, "url": item.notice_url},
        "statement": {
            "kind": item.kind,
            "language": item.language,
            "title": item.title,
            "body": item.body,
            "correction": item.correction,
            "what_changed": item.what_changed,
            "published_at": item.published_at,
        },
        "text": said.intro,
        "language": subscriber.language,
        "unsubscribe_url": subscriptions.unsubscribe_url(subscriber.pk),
        "sent_at": now.isoformat(),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def send_webhook(notification: Notification, subscriber: Subscriber, now: datetime) -> None:
    body = webhook_body(notification, subscriber, now)
    timestamp = int(now.timestamp())
    key = notification.idempotency_key
    digest = channels.sign(subscriber.secret, key, timestamp, body)
    channels.post(subscriber.address, body, subscriptions.signed_headers(key, timestamp, digest))


def send_sms(notification: Notification, subscriber: Subscriber) -> None:
    gateway = sms.gateway()
    if gateway is None:
        raise channels.Permanent("no SMS gateway is set up")
    publication_id, elsewhere = version_for(notification, subscriber)
    item = published(publication_id)
    said = words(publication_id, subscriber.language, elsewhere)
    title = said.subject if len(said.subject) <= SMS_TEXT_LIMIT else said.subject[: SMS_TEXT_LIMIT - 1] + "…"
    gateway.send(
        subscriber.address,
        {"title": title, "url": item.notice_url},
        template=sms.template("update"),
        key=notification.idempotency_key,
    )
