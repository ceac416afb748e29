"""The SMS gateway: Aliyun SMS's RPC signature against the documented example, and a
subscription confirmed and told of a publication through a local fake of the Aliyun
API that checks signatures as Aliyun does. No outside network."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crisisflow.alerts.delivery import deliver_many
from crisisflow.alerts.models import Channel, Notification
from crisisflow.incidents.errors import Invalid
from crisisflow.subscribers import fanout, sms, subscriptions
from crisisflow.subscribers.models import Subscriber
from tests.subscribers_helpers import incident_with_statement, publish

pytestmark = pytest.mark.django_db

# Aliyun SMS's documentation (签名机制 / RPC signature), its worked example.
DOCUMENTED = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
DOCUMENTED_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001"
    "%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4"
    "%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1"
    "%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007"
    "%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z"
    "%26Version%3D2017-05-25"
)
DOCUMENTED_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_the_signature_of_the_documented_example():
    assert sms.string_to_sign("GET", DOCUMENTED) == DOCUMENTED_STRING_TO_SIGN
    assert sms.aliyun_signature("testSecret", "GET", DOCUMENTED) == DOCUMENTED_SIGNATURE


def test_percent_encoding_is_rfc_3986():
    assert sms.percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"


class FakeAliyun:
    """dysmsapi's SendSms as far as we use it: checks the signature with the secret it
    knows and answers as Aliyun does."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.sent: list[dict[str, str]] = []
        self.nonces: set[str] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True))
                answer = fake.answer(form)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, form: dict[str, str]) -> dict:
        signature = form.pop("Signature", "")
        if sms.aliyun_signature(self.secret, "POST", form) != signature:
            return {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}
        if form["SignatureNonce"] in self.nonces:
            return {"Code": "SignatureNonceUsed", "Message": "nonce used"}
        self.nonces.add(form["SignatureNonce"])
        self.sent.append(form)
        return {"Code": "OK", "Message": "OK", "BizId": f"biz{len(self.sent)}", "RequestId": "r"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def aliyun(settings):
    with FakeAliyun("the-secret") as fake:
        settings.CRISISFLOW = {
            **settings.CRISISFLOW,
            "WEBHOOK_ALLOW_PRIVATE": True,
            "SMS_GATEWAY": {
                "provider": "aliyun",
                "url": fake.url,
                "access_key_id": "the-id",
                "access_key_secret": "the-secret",
                "sign_name": "危机通",
                "templates": {"code": "SMS_CODE", "update": "SMS_UPDATE"},
            },
        }
        yield fake


def test_a_wrong_secret_is_refused_by_the_fake_as_by_aliyun(aliyun, settings):
    settings.CRISISFLOW = {
        **settings.CRISISFLOW,
        "SMS_GATEWAY": {**settings.CRISISFLOW["SMS_GATEWAY"], "access_key_secret": "wrong"},
    }
    from crisisflow.alerts import channels

    with pytest.raises(channels.Permanent) as err:
        sms.gateway().send("+8613800138000", {"code": "1"}, template="SMS_CODE", key="k")
    assert "SignatureDoesNotMatch" in str(err.value)


def test_sms_subscription_is_confirmed_by_code_then_told_of_publications(
    people, plan, aliyun, django_capture_on_commit_callbacks
):
    incident, statement = incident_with_statement(people)
    with django_capture_on_commit_callbacks(execute=True):
        requested = subscriptions.subscribe(
            "sms", "138 0013 8000", incident=incident.reference, language="zh-hans", consent=True
        )
    [code_sms] = aliyun.sent
    assert code_sms["PhoneNumbers"] == "13800138000" and code_sms["TemplateCode"] == "SMS_CODE"
    code = json.loads(code_sms["TemplateParam"])["code"]
    with pytest.raises(Invalid) as err:
        subscriptions.confirm_sms(requested.code_token, "000000" if code != "000000" else "111111")
    assert err.value.field == "code"
    assert subscriptions.confirm_sms(requested.code_token, code).state == Subscriber.State.CONFIRMED

    with django_capture_on_commit_callbacks(execute=True):
        publication = publish(people, statement)
    fanout.run(publication.fanouts.get().pk)
    ids = list(Notification.objects.filter(channel=Channel.SUBSCRIBER).values_list("pk", flat=True))
    assert set(deliver_many(ids).values()) == {"delivered"}
    update = aliyun.sent[-1]
    assert update["TemplateCode"] == "SMS_UPDATE" and update["OutId"].startswith("crisisflow-notification-")
    # The link is the incident's public notice page, at its own (unguessable) address.
    slug = incident.public_notice.slug
    assert json.loads(update["TemplateParam"])["url"].endswith(f"/notice/{slug}/")


def test_no_gateway_no_sms_subscriptions(people):
    with pytest.raises(Invalid) as err:
        subscriptions.subscribe("sms", "13800138000", consent=True)
    assert err.value.field == "kind"
