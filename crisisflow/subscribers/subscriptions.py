"""Subscribing to public notices: the use cases the web pages, the API and the admin call.

    subscribe()      an address asks for updates (one notice or all), agreeing to the
                     consent wording; a confirmation goes out (e-mail link, SMS code) or
                     the webhook is challenged at once. Nothing else is sent before.
    confirm_email()  the signed link from the confirmation e-mail.
    confirm_sms()    the code from the confirmation SMS.
    unsubscribe()    the signed link in every message (and its one-click POST).

Each writes a Consent row (when, to what, from which network address, the wording and
its version). Subscribers are members of the public, not incident participants: their
addresses never go on an incident's append-only timeline, so they can be erased.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.alerts import channels, webhook_client
from crisisflow.alerts.models import Channel, Notification
from crisisflow.conf import setting
from crisisflow.incidents.errors import Invalid, NotFound
from crisisflow.incidents.models import Incident
from crisisflow.subscribers import limits, notices, sms, tokens, wording
from crisisflow.subscribers.models import ALL, Consent, Subscriber

log = logging.getLogger(__name__)

Kind = Subscriber.Kind
State = Subscriber.State

PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
MIN_SECRET = 16
MAX_ADDRESS = 500


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def clean_language(language: str | None) -> str:
    language = (language or "").lower()
    for code in languages():
        if language == code or language.split("-")[0] == code.split("-")[0]:
            return code
    return settings.LANGUAGE_CODE


def clean_address(kind: str, address: str) -> str:
    address = (address or "").strip()
    if kind not in Kind.values:
        raise Invalid(_("Choose e-mail, webhook or SMS."), field="kind")
    if not address:
        raise Invalid(_("Enter the address to send updates to."), field="address")
    if len(address) > MAX_ADDRESS:
        raise Invalid(_("This address is too long."), field="address")
    if kind == Kind.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise Invalid(_("Enter a valid e-mail address."), field="address") from None
        return address.lower()
    if kind == Kind.SMS:
        digits = re.sub(r"[\s\-()]", "", address)
        if re.fullmatch(r"1\d{10}", digits):  # a mainland mobile number without +86
            digits = "+86" + digits
        if not PHONE.match(digits):
            raise Invalid(_("Enter a mobile number, e.g. 13800138000 or +8613800138000."), field="address")
        return digits
    try:
        webhook_client.target(address, allow_private=bool(setting("WEBHOOK_ALLOW_PRIVATE")))
    except webhook_client.Refused as err:
        raise Invalid(
            _("This webhook address cannot be used: %(reason)s") % {"reason": err.reason}, field="address"
        ) from None
    except webhook_client.Unresolvable:
        raise Invalid(_("This webhook's host name does not resolve."), field="address") from None
    return address


def find_scope(reference: str | None) -> tuple[str, Incident | None]:
    """("all", None) or ("incident:<id>", the incident) for a notice's reference."""
    if not reference:
        return ALL, None
    incident = Incident.objects.filter(reference=reference.strip()).first()
    if incident is None or not notices.open_to_subscribers(incident):
        # The same answer for no such incident and one not public: a reference is no secret
        # to guess at.
        raise NotFound(_("There is no public notice with this reference."), field="incident")
    return f"incident:{incident.pk}", incident


def scope_words(incident: Incident | None, kind: str, language: str) -> str:
    with translation.override(language):
        channel = Kind(kind).label
        if incident is None:
            return _("updates on every public notice by %(channel)s") % {"channel": channel}
        return _("updates on the notice %(reference)s by %(channel)s") % {
            "reference": incident.reference,
            "channel": channel,
        }


def _consent(subscriber: Subscriber, action: str, network_address: str | None, now, language: str) -> Consent:
    return Consent.objects.create(
        subscriber=subscriber,
        action=action,
        at=now,
        scope=scope_words(subscriber.incident, subscriber.kind, language),
        network_address=network_address or None,
        wording=wording.consent_text(language),
        wording_version=wording.VERSION,
        language=language,
    )


@dataclass
class Requested:
    subscriber: Subscriber
    # Webhooks are confirmed at once (the challenge was answered); SMS waits for a code.
    confirmed: bool
    code_token: str = ""


def subscribe(
    kind: str,
    address: str,
    *,
    incident: str | None = None,
    language: str | None = None,
    consent: bool,
    network_address: str | None = None,
    secret: str = "",
) -> Requested:
    """Ask for updates at `address`. The answer is the same whether or not the address
    was already subscribed (nobody learns who follows what)."""
    if not consent:
        raise Invalid(_("Tick the box to agree to how your address is used."), field="consent")
    language = clean_language(language)
    address = clean_address(kind, address)
    scope, found = find_scope(incident)
    if kind == Kind.WEBHOOK and len(secret or "") < MIN_SECRET:
        raise Invalid(_("Give a signing secret of at least %(n)d characters.") % {"n": MIN_SECRET}, field="secret")
    if kind == Kind.SMS and not sms.available():
        raise Invalid(_("SMS updates are not available."), field="kind")
    limits.check(network_address or "", f"{kind}:{address}")
    now = clock.now()
    if kind == Kind.WEBHOOK:
        # Verified before anything is kept: the endpoint must echo the challenge, signed
        # with the secret it gave, so nobody subscribes a URL they do not control.
        challenge(address, secret)
    code = f"{secrets.randbelow(1_000_000):06d}" if kind == Kind.SMS else ""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(kind=kind, address=address, scope=scope).first()
        if subscriber is None:
            subscriber = Subscriber(kind=kind, address=address, scope=scope, incident=found, created_at=now)
        elif subscriber.state == State.CONFIRMED and kind != Kind.WEBHOOK:
            # Already following: nothing to confirm, nothing sent.
            return Requested(subscriber, confirmed=False)
        else:
            subscriber.version += 1
        subscriber.language = language
        subscriber.state = State.PENDING
        subscriber.unsubscribed_at = None
        if kind == Kind.WEBHOOK:
            subscriber.secret = secret
            subscriber.state = State.CONFIRMED
            subscriber.confirmed_at = now
        elif kind == Kind.SMS:
            subscriber.secret = code_hash(subscriber, code)
        subscriber.save()
        if kind == Kind.SMS:  # the hash covers the id, known only now
            subscriber.secret = code_hash(subscriber, code)
            subscriber.save(update_fields=["secret"])
        _consent(subscriber, Consent.Action.GIVEN, network_address, now, language)
        if kind == Kind.WEBHOOK:
            _consent(subscriber, Consent.Action.CONFIRMED, network_address, now, language)
        elif kind == Kind.EMAIL:
            transaction.on_commit(lambda: send_confirmation(subscriber))
        else:
            transaction.on_commit(lambda: send_code(subscriber, code))
    return Requested(
        subscriber,
        confirmed=kind == Kind.WEBHOOK,
        code_token=tokens.code_token(subscriber) if kind == Kind.SMS else "",
    )


def code_hash(subscriber: Subscriber, code: str) -> str:
    key = settings.SECRET_KEY.encode("utf-8")
    return hmac.new(key, f"{subscriber.pk}:{subscriber.version}:{code}".encode(), hashlib.sha256).hexdigest()


# --- confirming ------------------------------------------------------------------------------


def _confirm(subscriber_id: int, version: int, network_address: str | None) -> Subscriber:
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        if subscriber is None or subscriber.version != version:
            raise Invalid(_("This link is no longer valid; subscribe again to get a new one."), field="token")
        if subscriber.state == State.CONFIRMED:
            return subscriber
        if subscriber.state != State.PENDING:
            raise Invalid(_("This link is no longer valid; subscribe again to get a new one."), field="token")
        now = clock.now()
        subscriber.state = State.CONFIRMED
        subscriber.confirmed_at = now
        subscriber.secret = "" if subscriber.kind == Kind.SMS else subscriber.secret
        subscriber.save()
        _consent(subscriber, Consent.Action.CONFIRMED, network_address, now, subscriber.language)
        return subscriber


def confirm_email(token: str, *, network_address: str | None = None) -> Subscriber:
    data = tokens.read_confirm(token)
    return _confirm(data["s"], data.get("v", 0), network_address)


def confirm_sms(token: str, code: str, *, network_address: str | None = None) -> Subscriber:
    data = tokens.read_code(token)
    subscriber = Subscriber.objects.filter(pk=data["s"], kind=Kind.SMS).first()
    if subscriber is None or subscriber.version != data.get("v"):
        raise Invalid(_("This link is no longer valid; subscribe again to get a new one."), field="token")
    limits.check(network_address or "", f"code:{subscriber.pk}")
    expected = subscriber.secret
    if subscriber.state == State.PENDING and not hmac.compare_digest(
        expected, code_hash(subscriber, (code or "").strip())
    ):
        raise Invalid(_("That code is not right; check the SMS and try again."), field="code")
    return _confirm(subscriber.pk, subscriber.version, network_address)


# --- unsubscribing ---------------------------------------------------------------------------


def unsubscribe(token: str, *, network_address: str | None = None) -> Subscriber | None:
    """Stop all updates to this subscription; messages not yet sent are dropped. None if
    the subscriber was erased meanwhile (the link still says "done")."""
    data = tokens.read_unsubscribe(token)
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=data["s"]).first()
        if subscriber is None:
            return None
        if subscriber.state == State.UNSUBSCRIBED:
            return subscriber
        now = clock.now()
        subscriber.state = State.UNSUBSCRIBED
        subscriber.unsubscribed_at = now
        subscriber.version += 1
        subscriber.save()
        _consent(subscriber, Consent.Action.WITHDRAWN, network_address, now, subscriber.language)
        Notification.objects.filter(
            channel=Channel.SUBSCRIBER, target=subscriber.target, state=Notification.State.PENDING
        ).delete()
        return subscriber


# --- what goes out before confirmation ---------------------------------------------------------


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def confirm_url(subscriber: Subscriber) -> str:
    from django.urls import reverse

    return site_url(reverse("subscribe-confirm", args=[tokens.confirm_token(subscriber)]))


def unsubscribe_url(subscriber_id: int) -> str:
    from django.urls import reverse

    return site_url(reverse("unsubscribe", args=[tokens.unsubscribe_token(subscriber_id)]))


def send_confirmation(subscriber: Subscriber) -> None:
    """The one message an unconfirmed e-mail address gets: the link to confirm."""
    with translation.override(subscriber.language):
        context = {
            "confirm_url": confirm_url(subscriber),
            "what": scope_words(subscriber.incident, subscriber.kind, subscriber.language),
            "hours": setting("SUBSCRIBE_CONFIRM_SECONDS") // 3600,
        }
        email = EmailMultiAlternatives(
            subject=_("Confirm your subscription"),
            body=render_to_string("subscribers/email_confirm.txt", context),
            to=[subscriber.address],
            headers={"Auto-Submitted": "auto-generated", "Content-Language": subscriber.language},
        )
    try:
        email.send(fail_silently=False)
    except Exception:
        # The person can ask again; the rate limit stops abuse of that.
        log.exception("subscriber %s: could not send the confirmation e-mail", subscriber.pk)


def send_code(subscriber: Subscriber, code: str) -> None:
    gateway = sms.gateway()
    if gateway is None:
        return
    try:
        gateway.send(
            subscriber.address,
            {"code": code},
            template=sms.template("code"),
            key=f"crisisflow-subscriber-{subscriber.pk}-{subscriber.version}",
        )
    except channels.SendError:
        log.exception("subscriber %s: could not send the confirmation code", subscriber.pk)


CHALLENGE_TYPE = "subscription.challenge"


def challenge(url: str, secret: str) -> None:
    """POST a signed challenge; the endpoint must answer 2xx with {"challenge": <it>}."""
    value = secrets.token_urlsafe(24)
    now = clock.now()
    key = f"crisisflow-challenge-{secrets.token_hex(8)}"
    body = json.dumps({"type": CHALLENGE_TYPE, "challenge": value, "sent_at": now.isoformat()}).encode()
    timestamp = int(now.timestamp())
    digest = channels.sign(secret, key, timestamp, body)
    headers = signed_headers(key, timestamp, digest)
    try:
        answer = channels.post(url, body, headers)
    except channels.SendError as err:
        raise Invalid(
            _("The webhook did not answer the challenge: %(reason)s") % {"reason": err.reason}, field="address"
        ) from None
    try:
        echoed = json.loads(answer.decode("utf-8")).get("challenge")
    except (UnicodeDecodeError, ValueError, AttributeError):
        echoed = None
    if echoed != value:
        raise Invalid(
            _('The webhook must answer the challenge with {"challenge": "<the value sent>"}.'), field="address"
        )


def signed_headers(key: str, timestamp: int, digest: bytes) -> dict[str, str]:
    import base64

    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": channels.USER_AGENT,
        channels.KEY_HEADER: key,
        channels.ID_HEADER: key,
        channels.STANDARD_TIMESTAMP_HEADER: str(timestamp),
        channels.TIMESTAMP_HEADER: str(timestamp),
        channels.STANDARD_SIGNATURE_HEADER: "v1," + base64.b64encode(digest).decode("ascii"),
        channels.SIGNATURE_HEADER: f"sha256={digest.hex()}",
    }
