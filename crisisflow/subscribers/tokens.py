"""Signed links: confirming a subscription (expires), unsubscribing (does not), and the
page where an SMS code is typed in. Each carries the subscriber's id and, where a
later round must void it, the version it was made for."""

from __future__ import annotations

from django.core import signing
from django.utils.translation import gettext as _

from crisisflow.conf import setting
from crisisflow.incidents.errors import Invalid

CONFIRM = "crisisflow.subscribers.confirm"
UNSUBSCRIBE = "crisisflow.subscribers.unsubscribe"
CODE = "crisisflow.subscribers.code"


def confirm_token(subscriber) -> str:
    return signing.dumps({"s": subscriber.pk, "v": subscriber.version}, salt=CONFIRM, compress=True)


def unsubscribe_token(subscriber_id: int) -> str:
    return signing.dumps({"s": subscriber_id}, salt=UNSUBSCRIBE, compress=True)


def code_token(subscriber) -> str:
    return signing.dumps({"s": subscriber.pk, "v": subscriber.version}, salt=CODE, compress=True)


def read(token: str, salt: str, max_age: float | None = None) -> dict:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise Invalid(_("This link has expired; subscribe again to get a new one."), field="token") from None
    except signing.BadSignature:
        raise Invalid(_("This link is not valid; copy the whole link from the message."), field="token") from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise Invalid(_("This link is not valid; copy the whole link from the message."), field="token")
    return data


def read_confirm(token: str) -> dict:
    return read(token, CONFIRM, setting("SUBSCRIBE_CONFIRM_SECONDS"))


def read_code(token: str) -> dict:
    return read(token, CODE, setting("SUBSCRIBE_CODE_SECONDS"))


def read_unsubscribe(token: str) -> dict:
    return read(token, UNSUBSCRIBE)
