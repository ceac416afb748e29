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
import random
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from crisisflow.alerts import channels
from crisisflow.alerts.models import Channel, Notification
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


def subscriber_id(notification: Notification) -> int | None:
    kind, _sep, pk = notification.target.partition(":")
    return int(pk) if kind == "subscriber" and pk.isdigit() else None


@dataclass(frozen=True)
class Prepared:
    """The subscribers of a delivery batch's rows, read in one query: `looked_up` the
    ids asked for, `found` those that still exist."""

    looked_up: frozenset[int]
    found: dict[int, Subscriber]


def prepare(notifications: list[Notification], batch: channels.Batch) -> Prepared:
    """The outbox's preparer of the "subscriber" channel (channels.register_preparer)."""
    ids = frozenset(pk for pk in map(subscriber_id, notifications) if pk is not None)
    return Prepared(looked_up=ids, found=Subscriber.objects.in_bulk(ids) if ids else {})


def subscriber_of(notification: Notification, batch: channels.Batch | None = None) -> Subscriber:
    pk = subscriber_id(notification)
    prepared = batch.prepared.get(Channel.SUBSCRIBER) if batch is not None else None
    if pk is None:
        subscriber = None
    elif isinstance(prepared, Prepared) and pk in prepared.looked_up:
        subscriber = prepared.found.get(pk)
    else:
        subscriber = Subscriber.objects.filter(pk=pk).first()
    if subscriber is None:
        raise channels.Permanent("the subscriber was erased")
    if subscriber.state != Subscriber.State.CONFIRMED:
        raise channels.Permanent("the subscriber unsubscribed before it was sent")
    return subscriber


def send(notification: Notification, now: datetime, batch: channels.Batch) -> None:
    subscriber = subscriber_of(notification, batch)
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
        ready = email_bytes(notification, subscriber)
        if ready is None or not channels.send_mime(*ready, batch):
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
    key = notification.idempotency_key
    return _email(said, subscriber.address, subscriber.language, key, channels.message_id(notification), leave)


def _email(
    said: Words, address: str, language: str, key: str, message_id: str, leave: str, *, date: str | None = None
) -> EmailMultiAlternatives:
    # A Date given here takes the place (after To) where Django would add its own.
    headers = {"Date": date} if date is not None else {}
    headers.update(
        {
            "Message-ID": message_id,
            channels.KEY_HEADER: key,
            "Content-Language": language,
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": f"<{leave}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    )
    email = EmailMultiAlternatives(
        subject=said.subject, body=said.text.replace(UNSUBSCRIBE_MARK, leave), to=[address], headers=headers
    )
    email.attach_alternative(said.html.replace(UNSUBSCRIBE_MARK, leave), "text/html")
    return email


# --- the same e-mail, cheaply ----------------------------------------------------------
# Django builds and serialises each EmailMessage anew (most of the CPU a message costs,
# much of it folding headers). The e-mails about one publication in one language differ
# only in the address, the date, the idempotency key, the unsubscribe link and the MIME
# boundary, so the message is built and serialised by Django once, with a mark in each
# of those places, and each subscriber's bytes are the pieces joined with their own
# values: the same bytes Django's SMTP backend would send (tests/test_subscribers__email_bytes.py).
# Anything the marks could change the shape of (an address that is not plain ASCII, a
# line that would need quoted-printable) goes the Django way instead.

_NONCE = secrets.token_hex(8)
_MARKS = {name: f"CRISISFLOW{name.upper()}{_NONCE}" for name in ("to", "date", "key")}
# Longer than any unsubscribe link, so a body line that stays under the line limit with
# the mark stays under it with the link.
_MARKS["leave"] = f"CRISISFLOWLEAVE{_NONCE}".ljust(400, "X")
# The generator's own form (email.generator): fifteen "=", nineteen digits, "==".
_BOUNDARY_DIGITS = 19
_MARKS["boundary"] = "=" * 15 + str(secrets.randbelow(9 * 10**18) + 10**18) + "=="
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\Z")
_SPLIT = re.compile("(" + "|".join(re.escape(mark) for mark in _MARKS.values()) + ")")
_NAME_OF = {mark.encode(): name for name, mark in _MARKS.items()}
HEADER_LINE = 78  # where the generator folds a header (email.policy.compat32)


@dataclass(frozen=True)
class MimeTemplate:
    """A serialised e-mail cut at its marks: literal bytes, and the names of the marks."""

    sender: str
    pieces: tuple[bytes | str, ...]


@lru_cache(maxsize=256)
def mime_template(
    publication_id: int, language: str, elsewhere: bool, sender: str, site_url: str
) -> MimeTemplate | None:
    """The e-mail about a publication in one language with marks for each subscriber's
    own parts, or None if marks could change its shape. `sender` and `site_url` (the
    Message-ID's host) are part of the key: settings a test may change."""
    said = words(publication_id, language, elsewhere)
    key = _MARKS["key"]
    leave = _MARKS["leave"]
    email = _email(said, _MARKS["to"], language, key, channels.message_id_of(key), leave, date=_MARKS["date"])
    message = email.message()
    message.set_boundary(_MARKS["boundary"])
    data = message.as_bytes(linesep="\r\n")
    pieces = tuple(
        _NAME_OF.get(piece.encode(), piece.encode()) if index % 2 else piece.encode("utf-8", "surrogateescape")
        for index, piece in enumerate(_SPLIT.split(data.decode("utf-8", "surrogateescape")))
    )
    # Every mark where it belongs, the short headers on one line each, and no part encoded
    # (where a mark would be encoded too).
    encoded = b"Content-Transfer-Encoding: quoted-printable" in data or b"Content-Transfer-Encoding: base64" in data
    whole = all(
        f"\r\n{line}\r\n".encode() in data
        for line in (
            f"To: {_MARKS['to']}",
            f"Date: {_MARKS['date']}",
            f"Message-ID: {channels.message_id_of(key)}",
            f"{channels.KEY_HEADER}: {key}",
        )
    )
    if encoded or not whole or not set(pieces) >= set(_MARKS):
        return None
    sender = sanitize_address(email.from_email, email.encoding or settings.DEFAULT_CHARSET)
    return MimeTemplate(sender=sender, pieces=pieces)


def email_bytes(notification: Notification, subscriber: Subscriber) -> tuple[str, list[str], bytes] | None:
    """(envelope sender, recipients, message) for the subscriber, byte for byte what
    Django would send for build_email(); None where only Django can say."""
    if not _PLAIN_ADDRESS.match(subscriber.address):
        return None
    publication_id, elsewhere = version_for(notification, subscriber)
    template = mime_template(
        publication_id, subscriber.language, elsewhere, settings.DEFAULT_FROM_EMAIL, settings.SITE_URL
    )
    if template is None:
        return None
    leave = subscriptions.unsubscribe_url(subscriber.pk)
    key = notification.idempotency_key
    # Headers are folded past HEADER_LINE characters: the short ones must stay on one line
    # as their marks did, the unsubscribe link be put on a line of its own as its mark was.
    if (
        len(f"To: {subscriber.address}") > HEADER_LINE
        or len(f"Message-ID: {channels.message_id_of(key)}") > HEADER_LINE
        or len(f"{channels.KEY_HEADER}: {key}") > HEADER_LINE
        or not HEADER_LINE < len(f"List-Unsubscribe: <{leave}>") <= len(_MARKS["leave"])
        or not leave.isascii()
    ):
        return None
    values = {
        "to": subscriber.address.encode(),
        "date": formatdate(localtime=settings.EMAIL_USE_LOCALTIME).encode(),
        "key": key.encode(),
        "leave": leave.encode(),
        "boundary": ("=" * 15 + f"{random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}" + "==").encode(),
    }
    message = b"".join(values[piece] if isinstance(piece, str) else piece for piece in template.pieces)
    return template.sender, [sanitize_address(subscriber.address, settings.DEFAULT_CHARSET)], message


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
