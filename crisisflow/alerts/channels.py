"""Sending one notification on its channel: e-mail, or a team webhook in one of the
chat platforms' formats.

Every failure is raised as Transient (worth another try later: the network, a timeout,
a 5xx, a rate limit, a temporary SMTP refusal) or Permanent (trying again cannot help: a
4xx, an unknown address, a platform saying the signature or the keyword is wrong).
delivery.py decides what to do about it. No database writes happen here.

Each message carries its idempotency key (crisisflow-notification-<id>) in a header
and in the body, so a receiver that sees a retry after a lost answer can drop it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import smtplib
import ssl
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils import translation
from django.utils.translation import gettext as _

from crisisflow.alerts import webhook_client
from crisisflow.alerts.ladder import Kind
from crisisflow.alerts.messages import Rendered, readable_incidents, render, zone_of
from crisisflow.alerts.models import Channel, Notification, WebhookEndpoint
from crisisflow.conf import setting

log = logging.getLogger(__name__)

KEY_HEADER = "X-CrisisFlow-Idempotency-Key"
SIGNATURE_HEADER = "X-CrisisFlow-Signature"
TIMESTAMP_HEADER = "X-CrisisFlow-Timestamp"
USER_AGENT = "CrisisFlow-Webhook/1"
# Standard Webhooks (standardwebhooks.com): the id is the idempotency key; the signature
# "v1,<base64>" covers "id.timestamp.body". X-CrisisFlow-Signature carries the same
# HMAC in hex ("sha256=<hex>"), X-CrisisFlow-Timestamp the same timestamp.
ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
STANDARD_SECRET_PREFIX = "whsec_"

# Most of an answer we read, and how much of it goes into last_error.
MAX_ANSWER_BYTES = 64 * 1024
ERROR_SNIPPET = 200


class SendError(Exception):
    transient = True

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transient(SendError):
    transient = True


class Permanent(SendError):
    transient = False


class Batch:
    """What consecutive sends share: one SMTP connection (opened on the first e-mail,
    closed at the end, opened again after an error), and each distinct message rendered
    once per language and time zone, however many people or channels it goes to.

        with channels.Batch() as batch:
            for notification in rows:
                channels.send(notification, now, batch)
    """

    # Stands in for the idempotency key while a shared rendering is made; each
    # notification's own key replaces it. A Unicode noncharacter: never in real text.
    KEY_MARK = "\ufdd0key\ufdd0"

    def __init__(self) -> None:
        self._smtp = None
        self._renders: dict[tuple, Rendered] = {}
        # What each channel's preparer (register_preparer) made of the batch's rows.
        self.prepared: dict[str, Any] = {}

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(
        self, notification: Notification, language: str, zone: str | None = None, *, html: bool = True, card: str = ""
    ) -> Rendered:
        zone = zone or zone_of(notification)
        # The rows a fired rung writes share their source and payload; what each reader
        # may still see of it (restricted incidents) is part of the key.
        readable = frozenset(readable_incidents(notification))
        key = (notification.source, notification.kind, notification.rung, language, zone, html, card, readable)
        shared = self._renders.get(key)
        if shared is None:
            stand_in = _StandIn(notification, self.KEY_MARK)
            stand_in.readable = set(readable)
            shared = self._renders[key] = render(stand_in, language, zone, html=html, card=card)
        own = notification.idempotency_key
        return replace(
            shared, text=shared.text.replace(self.KEY_MARK, own), html=shared.html.replace(self.KEY_MARK, own)
        )

    def smtp(self):
        if self._smtp is None:
            connection = get_connection(fail_silently=False)
            # Opened here, the backend keeps it open across send_messages() calls.
            connection.open()
            self._smtp = connection
        return self._smtp

    def drop_smtp(self) -> None:
        """After an SMTP error the session's state is unknown: the next e-mail opens a new one."""
        connection, self._smtp = self._smtp, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a broken connection cannot even say goodbye
                pass

    def close(self) -> None:
        self.drop_smtp()


class _StandIn:
    """A notification's payload and recipient with a marker for its key."""

    def __init__(self, notification: Notification, key: str) -> None:
        self.payload = notification.payload
        self.incident_id = notification.incident_id
        self.recipient_id = notification.recipient_id
        self.recipient = notification.recipient if notification.recipient_id else None
        self.idempotency_key = key


# Channels whose sending another app owns: channel -> send(notification, now, batch).
_senders: dict[str, Callable[[Notification, datetime, Batch], None]] = {}


def register_sender(channel: str, send: Callable[[Notification, datetime, Batch], None]) -> None:
    """Let an app send the outbox rows of its own channel (from its AppConfig.ready()):
    `send` raises Transient or Permanent like the built-in channels, and the rows get
    the same claims, retries, idempotency keys and failure reports."""
    _senders[channel] = send


# Channels that read what their rows need once per batch: channel -> prepare(rows, batch).
_preparers: dict[str, Callable[[list[Notification], Batch], Any]] = {}


def register_preparer(channel: str, prepare: Callable[[list[Notification], Batch], Any]) -> None:
    """Let an app read, once per delivery batch, what its channel's rows need (from its
    AppConfig.ready()): `prepare(rows, batch)` is called with the batch's claimed rows of
    that channel before the first is sent, and what it returns is kept in
    batch.prepared[channel] for the sender."""
    _preparers[channel] = prepare


def prepare(notifications: list[Notification], batch: Batch) -> None:
    """Run each channel's preparer over the batch's rows of that channel."""
    by_channel: dict[str, list[Notification]] = {}
    for notification in notifications:
        if notification.channel in _preparers:
            by_channel.setdefault(notification.channel, []).append(notification)
    for channel, rows in by_channel.items():
        try:
            batch.prepared[channel] = _preparers[channel](rows, batch)
        except Exception:  # the sender reads what it needs row by row instead
            log.exception("delivery batch: preparing %d %s rows failed", len(rows), channel)


def send(notification: Notification, now: datetime, batch: Batch | None = None) -> None:
    """Send it once; raise Transient or Permanent if that did not work."""
    if notification.channel == Channel.IN_APP:
        return  # the row itself is the message
    if batch is None:
        with Batch() as alone:
            return send(notification, now, alone)
    if notification.channel == Channel.EMAIL:
        send_email(notification, batch)
    elif notification.channel == Channel.WEBHOOK:
        send_webhook(notification, now, batch)
    elif notification.channel in _senders:
        _senders[notification.channel](notification, now, batch)
    else:
        raise Permanent(f"unknown channel {notification.channel!r}")


# --- e-mail ---------------------------------------------------------------------------


def message_id(notification: Notification) -> str:
    # Derived from the row, so a resent e-mail has the same Message-ID and mail
    # clients and archives fold the repeat into one.
    return message_id_of(notification.idempotency_key)


def message_id_of(key: str) -> str:
    """The Message-ID of the e-mail with idempotency key `key`."""
    host = urllib.parse.urlsplit(settings.SITE_URL).hostname or "crisisflow.localhost"
    return f"<{key}@{host}>"


def build_email(notification: Notification, batch: Batch | None = None) -> EmailMultiAlternatives:
    recipient = notification.recipient
    if recipient is None:
        raise Permanent("the e-mail has no recipient")
    if not recipient.is_active:
        raise Permanent(f"{recipient} is no longer an active user")
    if not recipient.email:
        raise Permanent(f"{recipient} has no e-mail address")
    language = recipient.language or settings.LANGUAGE_CODE
    rendered = batch.render(notification, language) if batch else render(notification, language)
    if rendered.hidden:
        raise Permanent(f"{recipient} may no longer see the incident this is about")
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        to=[recipient.email],
        headers={
            "Message-ID": message_id(notification),
            KEY_HEADER: notification.idempotency_key,
            "Content-Language": language,
            # Out-of-office robots must not answer an alert (RFC 3834).
            "Auto-Submitted": "auto-generated",
        },
    )
    email.attach_alternative(rendered.html, "text/html")
    return email


def send_email(notification: Notification, batch: Batch) -> None:
    send_prepared_email(build_email(notification, batch), batch)


def send_prepared_email(email: EmailMultiAlternatives, batch: Batch) -> None:
    """Send a built e-mail on the batch's SMTP connection; SMTP's answers become
    Transient or Permanent."""
    with smtp_outcome(batch):
        email.connection = batch.smtp()
        email.send(fail_silently=False)


def send_mime(sender: str, recipients: list[str], message: bytes, batch: Batch) -> bool:
    """Send an e-mail already serialised (CRLF line ends) on the batch's SMTP
    connection, as Django's SMTP backend would hand it over; SMTP's answers become
    Transient or Permanent. False, and nothing sent, if the e-mail backend is not SMTP
    (the tests' in-memory outbox): send an EmailMessage instead."""
    with smtp_outcome(batch):
        backend = batch.smtp()
        if not isinstance(backend, SmtpBackend) or backend.connection is None:
            return False
        backend.connection.sendmail(sender, recipients, message)
    return True


@contextmanager
def smtp_outcome(batch: Batch) -> Iterator[None]:
    """SMTP's answers and network errors as Transient or Permanent; the batch's
    connection is dropped after any of them."""
    try:
        try:
            yield
        except Exception:
            batch.drop_smtp()
            raise
    except smtplib.SMTPRecipientsRefused as err:
        # Every recipient refused; retry only if all refusals were temporary (4xx).
        codes = [code for code, _msg in err.recipients.values()]
        reason = "; ".join(f"{addr}: {code} {_smtp_text(msg)}" for addr, (code, msg) in err.recipients.items())
        if codes and all(400 <= code < 500 for code in codes):
            raise Transient(f"SMTP refused the recipient for now: {reason}") from err
        raise Permanent(f"SMTP refused the recipient: {reason}") from err
    except smtplib.SMTPResponseException as err:  # sender refused, data refused, auth, connect
        text = f"SMTP {err.smtp_code} {_smtp_text(err.smtp_error)}"
        if 400 <= err.smtp_code < 500:
            raise Transient(text) from err
        raise Permanent(text) from err
    except smtplib.SMTPServerDisconnected as err:
        raise Transient(f"the SMTP server hung up: {err}") from err
    except smtplib.SMTPException as err:
        raise Transient(f"SMTP error: {err}") from err
    except OSError as err:  # refused, unreachable, timed out, TLS
        raise Transient(f"cannot reach the SMTP server {settings.EMAIL_HOST}:{settings.EMAIL_PORT}: {err}") from err


def _smtp_text(message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return " ".join(text.split())[:ERROR_SNIPPET]


# --- webhooks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One HTTP request to a webhook, and how to read the platform's answer."""

    url: str
    body: bytes
    headers: dict[str, str]
    check: Callable[[bytes], None]


def _json(data: dict[str, Any]) -> bytes:
    # "replace": a lone surrogate in stored text must not make the message unsendable.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def _footer(notification: Notification) -> str:
    # "CrisisFlow" in every chat message also satisfies a bot's keyword filter set to it.
    return f"CrisisFlow · {notification.idempotency_key}"


def _accept_2xx(answer: bytes) -> None:
    return None


def _platform_check(code_fields: tuple[str, ...], transient_codes: frozenset[int], platform: str):
    """Chat platforms answer HTTP 200 with their own error code in the JSON."""

    def check(answer: bytes) -> None:
        try:
            data = json.loads(answer.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        code = next((data[f] for f in code_fields if isinstance(data, dict) and f in data), None)
        if code is None:
            # No code at all is not an answer from the platform (a proxy page?). Not
            # retried, since the message may have gone through; failing it tells the
            # commander.
            raise Permanent(f"{platform} gave an unexpected answer: {_snippet(answer)}")
        if code == 0:
            return
        message = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
        text = f"{platform} error {code}: {message}"
        if code in transient_codes:
            raise Transient(text)
        raise Permanent(text)

    return check


# -1: system busy; 130101: more than 20 messages a minute (then blocked for 10 minutes).
check_dingtalk = _platform_check(("errcode",), frozenset({-1, 130101}), "DingTalk")
# 11232: the bot's rate limit; 99991400: the platform's rate limit.
check_feishu = _platform_check(("code", "StatusCode"), frozenset({11232, 99991400}), "Feishu")
# -1: system busy; 45009: rate limit (20 a minute); 45033: too many at once.
check_wecom = _platform_check(("errcode",), frozenset({-1, 45009, 45033}), "WeCom")


def _base_headers(notification: Notification) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        KEY_HEADER: notification.idempotency_key,
    }


def generic_body(notification: Notification, rendered: Rendered, now: datetime) -> dict[str, Any]:
    payload = notification.payload
    body = {
        "idempotency_key": notification.idempotency_key,
        "kind": notification.kind,
        "rung": notification.rung,
        "incident": payload.get("incident"),
        "task": payload.get("task"),
        "text": rendered.text,
        "url": rendered.url,
        "due_at": payload.get("due_at"),
        "sent_at": now.isoformat(),
    }
    if rendered.items:
        # A digest: each alert as the sweep wrote it, leaving out any the endpoint may no
        # longer be told of; "incident" is the first one's.
        parts = zip(payload.get("items") or [], rendered.items, strict=False)
        body["items"] = [
            {key: part.get(key) for key in ("kind", "rung", "incident", "task", "due_at", "url")}
            for part, item in parts
            if not item.hidden
        ]
        body["incident"] = body["items"][0]["incident"] if body["items"] else None
    return body


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: a Standard Webhooks secret ("whsec_" and base64) is
    decoded, any other text is used as its UTF-8 bytes."""
    if secret.startswith(STANDARD_SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(STANDARD_SECRET_PREFIX) :], validate=True)
        except ValueError:
            pass  # not base64 after all: the text itself is the key
    return secret.encode("utf-8")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> bytes:
    """HMAC-SHA256 over "id.timestamp.body" (Standard Webhooks): the timestamp is signed
    too, so a captured request cannot be replayed later under a new timestamp."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return hmac.new(signing_key(secret), signed, hashlib.sha256).digest()


def build_generic(notification: Notification, endpoint: WebhookEndpoint, rendered: Rendered, now: datetime):
    body = _json(generic_body(notification, rendered, now))
    headers = _base_headers(notification)
    timestamp = int(now.timestamp())
    message_id = notification.idempotency_key
    headers[ID_HEADER] = message_id
    headers[STANDARD_TIMESTAMP_HEADER] = headers[TIMESTAMP_HEADER] = str(timestamp)
    if endpoint.secret:
        digest = sign(endpoint.secret, message_id, timestamp, body)
        headers[STANDARD_SIGNATURE_HEADER] = "v1," + base64.b64encode(digest).decode("ascii")
        headers[SIGNATURE_HEADER] = f"sha256={digest.hex()}"
    return Outgoing(endpoint.url, body, headers, _accept_2xx)


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads these three as markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_slack(notification: Notification, endpoint: WebhookEndpoint, rendered: Rendered, now: datetime):
    fields = [
        {"type": "mrkdwn", "text": f"*{_slack_escape(label)}*\n{_slack_escape(value)}"[:2000]}
        for label, value in rendered.facts[:10]  # Slack takes at most 10 fields
    ]
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_slack_escape(rendered.headline)}*"[:3000]}},
        {"type": "section", "fields": fields},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"<{rendered.url}|{_slack_escape(_('Open in CrisisFlow'))}>"},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _footer(notification)}]},
    ]
    body = {"text": f"{_slack_escape(rendered.subject)} {rendered.url}".strip(), "blocks": blocks}
    return Outgoing(endpoint.url, _json(body), _base_headers(notification), _accept_2xx)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: HMAC-SHA256 of "timestamp\\nsecret" keyed with the secret, base64."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def build_dingtalk(notification: Notification, endpoint: WebhookEndpoint, rendered: Rendered, now: datetime):
    # DingTalk's markdown needs blank lines to break lines.
    text = "\n\n".join(
        [
            f"#### {rendered.headline}",
            *[f"- **{label}**: {value}" for label, value in rendered.facts],
            f"[{_('Open in CrisisFlow')}]({rendered.url})",
            f"###### {_footer(notification)}",
        ]
    )
    body = {"msgtype": "markdown", "markdown": {"title": rendered.subject[:64], "text": text}}
    url = endpoint.url
    if endpoint.secret:
        timestamp = int(now.timestamp() * 1000)
        query = urllib.parse.urlencode({"timestamp": timestamp, "sign": dingtalk_sign(endpoint.secret, timestamp)})
        url += ("&" if urllib.parse.urlsplit(url).query else "?") + query
    return Outgoing(url, _json(body), _base_headers(notification), check_dingtalk)


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's 签名校验: HMAC-SHA256 keyed with "timestamp\\nsecret" over nothing, base64."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def build_feishu(notification: Notification, endpoint: WebhookEndpoint, rendered: Rendered, now: datetime):
    # Rich text ("post"): a title, one paragraph per line, and a real link.
    paragraphs: list[list[dict[str, str]]] = [[{"tag": "text", "text": rendered.headline}]]
    paragraphs += [[{"tag": "text", "text": f"{label}: {value}"}] for label, value in rendered.facts]
    paragraphs.append([{"tag": "a", "text": _("Open in CrisisFlow"), "href": rendered.url}])
    paragraphs.append([{"tag": "text", "text": _footer(notification)}])
    locale = "zh_cn" if rendered.language.startswith("zh") else "en_us"
    body: dict[str, Any] = {
        "msg_type": "post",
        "content": {"post": {locale: {"title": rendered.subject, "content": paragraphs}}},
    }
    if endpoint.secret:
        timestamp = int(now.timestamp())
        body = {"timestamp": str(timestamp), "sign": feishu_sign(endpoint.secret, timestamp), **body}
    return Outgoing(endpoint.url, _json(body), _base_headers(notification), check_feishu)


def build_wecom(notification: Notification, endpoint: WebhookEndpoint, rendered: Rendered, now: datetime):
    colour = "warning" if notification.kind in Kind.CRITICAL else "info"
    content = "\n".join(
        [
            f'<font color="{colour}">**{rendered.headline}**</font>',
            *[f"> {label}: {value}" for label, value in rendered.facts],
            f"[{_('Open in CrisisFlow')}]({rendered.url})",
            f'<font color="comment">{_footer(notification)}</font>',
        ]
    )
    # WeCom takes at most 4096 bytes of markdown.
    content = content.encode("utf-8")[:4096].decode("utf-8", "ignore")
    body = {"msgtype": "markdown", "markdown": {"content": content}}
    return Outgoing(endpoint.url, _json(body), _base_headers(notification), check_wecom)


# Cards whose user text must be escaped as markdown (messages.render does it).
MARKDOWN_FORMATS = (WebhookEndpoint.Format.DINGTALK, WebhookEndpoint.Format.WECOM)

BUILDERS: dict[str, Callable[[Notification, WebhookEndpoint, Rendered, datetime], Outgoing]] = {
    WebhookEndpoint.Format.GENERIC: build_generic,
    WebhookEndpoint.Format.SLACK: build_slack,
    WebhookEndpoint.Format.DINGTALK: build_dingtalk,
    WebhookEndpoint.Format.FEISHU: build_feishu,
    WebhookEndpoint.Format.WECOM: build_wecom,
}


def build_webhook(notification: Notification, now: datetime, batch: Batch | None = None) -> Outgoing:
    endpoint = notification.endpoint
    if endpoint is None:
        raise Permanent("the webhook notification has no endpoint")
    if not endpoint.active:
        raise Permanent(f"the webhook “{endpoint.name}” is switched off")
    builder = BUILDERS.get(endpoint.format)
    if builder is None:
        raise Permanent(f"unknown webhook format {endpoint.format!r}")
    # A team channel reads the site's language and time zone.
    language = settings.LANGUAGE_CODE
    zone = settings.TIME_ZONE
    card = "markdown" if endpoint.format in MARKDOWN_FORMATS else "text"
    if batch is not None:
        rendered = batch.render(notification, language, zone, html=False, card=card)
    else:
        rendered = render(notification, language, zone, html=False, card=card)
    if rendered.hidden:
        raise Permanent(f"the webhook “{endpoint.name}” is not allowed restricted incidents")
    with translation.override(language):
        return builder(notification, endpoint, rendered, now)


def send_webhook(notification: Notification, now: datetime, batch: Batch | None = None) -> None:
    outgoing = build_webhook(notification, now, batch)
    answer = post(outgoing.url, outgoing.body, outgoing.headers)
    outgoing.check(answer)


def where(url: str) -> str:
    """The URL without path and query: chat webhooks carry their token there, and the
    reason ends up on the timeline."""
    parts = urllib.parse.urlsplit(url)
    host = f"{parts.hostname or '?'}:{parts.port}" if parts.port else (parts.hostname or "?")
    hidden = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{hidden}"


def _snippet(data: bytes) -> str:
    return " ".join(data.decode("utf-8", "replace").split())[:ERROR_SNIPPET]


def post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """POST and return the answer of a 2xx; raise Transient or Permanent otherwise."""
    timeout = float(setting("WEBHOOK_TIMEOUT_SECONDS"))
    try:
        target = webhook_client.target(url, allow_private=bool(setting("WEBHOOK_ALLOW_PRIVATE")))
    except webhook_client.Refused as err:
        raise Permanent(f"refused to call {where(url)}: {err.reason}") from err
    except webhook_client.Unresolvable as err:
        raise Transient(f"cannot reach {where(url)}: {err}") from err
    try:
        answer = webhook_client.send(target, body, headers, timeout, MAX_ANSWER_BYTES)
    except ssl.SSLCertVerificationError as err:
        raise Permanent(f"the certificate of {where(url)} is not valid: {err}") from err
    except ssl.SSLError as err:
        raise Transient(f"TLS with {where(url)} failed: {err}") from err
    except webhook_client.CannotConnect as err:  # refused, unreachable, or no answer to connect
        raise Transient(f"cannot reach {where(url)}: {err.reason}") from err
    except webhook_client.NoAnswer as err:
        raise Transient(f"no answer from {where(url)} within {timeout:g} s") from err
    except http.client.InvalidURL as err:
        raise Permanent(f"bad webhook URL {where(url)}: {err}") from err
    except (http.client.HTTPException, OSError) as err:  # reset or closed mid-answer
        raise Transient(f"connection to {where(url)} failed: {_reason(err)}") from err
    status = answer.status
    if 200 <= status < 300:
        return answer.body
    if 300 <= status < 400:
        # Following it would send the message (and its signature) somewhere nobody
        # checked; a webhook that moved must be fixed in the endpoint's settings.
        moved = f" (to {where(urllib.parse.urljoin(url, answer.location))})" if answer.location else ""
        raise Permanent(
            f"HTTP {status} from {where(url)}: a redirect{moved}, not followed; "
            "set the endpoint's URL to the address it points to"
        )
    text = f"HTTP {status} from {where(url)}: {_snippet(answer.body)}".rstrip(": ")
    # 408 is the server's own timeout, as much a network hiccup as ours.
    if status >= 500 or status in (408, 429):
        raise Transient(text)
    raise Permanent(text)


def _reason(err: Exception) -> str:
    return str(err) or type(err).__name__
