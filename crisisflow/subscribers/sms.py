"""Sending SMS through a pluggable gateway; one adapter for Aliyun SMS (阿里云短信服务).

A gateway is anything with `send(phone, params, *, template, key) -> str` that raises
channels.Transient or channels.Permanent; settings.CRISISFLOW["SMS_GATEWAY"] chooses
and configures one ({"provider": "aliyun", "url": …, "access_key_id": …,
"access_key_secret": …, "sign_name": …, "templates": {"update": …, "code": …}}).
Another provider is one more class registered in PROVIDERS.

Aliyun's RPC API (dysmsapi, version 2017-05-25, action SendSms) takes the request as
form parameters signed with the documented RPC signature: sort the parameters by name,
percent-encode names and values (RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are),
join them as k=v with &, and sign
    METHOD & percentEncode("/") & percentEncode(canonicalized query)
with HMAC-SHA1 keyed with AccessKeySecret + "&", base64-encoded, as `Signature`.
Aliyun then answers JSON {"Code": "OK", "BizId": …} or an error code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import uuid
from datetime import UTC, datetime

from crisisflow import clock
from crisisflow.alerts import channels
from crisisflow.conf import setting

ALIYUN_VERSION = "2017-05-25"
# Aliyun's answers that another try later may fix: throttling and its own trouble.
ALIYUN_TRANSIENT = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "Throttling.User",
        "SignatureNonceUsed",
        "InternalError",
        "ServiceUnavailable",
    }
)


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's RPC signature wants it (space as %20,
    "*" as %2A, "~" left alone)."""
    return urllib.parse.quote(str(value), safe="-_.~")


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(method: str, params: dict[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def aliyun_signature(secret: str, method: str, params: dict[str, str]) -> str:
    """The `Signature` of a request with `params` (Signature itself left out)."""
    key = (secret + "&").encode("utf-8")
    digest = hmac.new(key, string_to_sign(method, params).encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def aliyun_timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Aliyun:
    """Aliyun SMS (dysmsapi SendSms), POST with form parameters."""

    def __init__(self, config: dict) -> None:
        self.url = config.get("url") or "https://dysmsapi.aliyuncs.com/"
        self.access_key_id = config["access_key_id"]
        self.access_key_secret = config["access_key_secret"]
        self.sign_name = config["sign_name"]
        self.region = config.get("region", "cn-hangzhou")

    def request(self, phone: str, params: dict, *, template: str, key: str, at: datetime) -> dict[str, str]:
        """The signed form parameters of one SendSms call."""
        query = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            # Aliyun's own numbers go without "+86"; other countries keep their code.
            "PhoneNumbers": phone[3:] if phone.startswith("+86") else phone.lstrip("+"),
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            # A fresh nonce per attempt: Aliyun refuses a nonce it has seen (replays).
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": aliyun_timestamp(at),
            "Version": ALIYUN_VERSION,
            # Comes back in the delivery receipt: our idempotency key.
            "OutId": key[-64:],
        }
        query["Signature"] = aliyun_signature(self.access_key_secret, "POST", query)
        return query

    def send(self, phone: str, params: dict, *, template: str, key: str) -> str:
        form = self.request(phone, params, template=template, key=key, at=clock.now())
        body = urllib.parse.urlencode(form, quote_via=urllib.parse.quote).encode("ascii")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": channels.USER_AGENT,
            channels.KEY_HEADER: key,
        }
        answer = channels.post(self.url, body, headers)
        try:
            data = json.loads(answer.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise channels.Permanent(f"Aliyun SMS gave an unexpected answer: {answer[:200]!r}") from None
        code = data.get("Code") if isinstance(data, dict) else None
        if code == "OK":
            return str(data.get("BizId", ""))
        text = f"Aliyun SMS error {code}: {data.get('Message', '') if isinstance(data, dict) else ''}"
        if code in ALIYUN_TRANSIENT:
            raise channels.Transient(text)
        raise channels.Permanent(text)


PROVIDERS = {"aliyun": Aliyun}


def gateway():
    """The configured gateway, or None when SMS is not set up."""
    config = setting("SMS_GATEWAY") or {}
    provider = config.get("provider")
    if not provider:
        return None
    return PROVIDERS[provider](config)


def template(purpose: str) -> str:
    return (setting("SMS_GATEWAY") or {}).get("templates", {}).get(purpose, "")


def available() -> bool:
    return gateway() is not None
