"""Each channel's wire format, signing and failure reading, checked against what real
local servers received: the signatures are recomputed here from the raw request."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
import time_machine

from crisisflow.alerts import delivery, webhook_client
from crisisflow.alerts.models import Notification, WebhookEndpoint
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents.models import Incident
from tests.conftest import T0
from tests.flows import report, walk_to
from tests.receivers import (  # noqa: F401
    HttpReceiver,
    Reply,
    SmtpSink,
    allow_private_webhooks,
    free_port,
    http_receiver_fixture,
    smtp_sink_fixture,
)

DUE = T0 + timedelta(hours=3)  # the plan's "legal-review" falls due
SECRET = "SEC-test-secret-0123456789"
KEY_HEADER = "X-CrisisFlow-Idempotency-Key"


@pytest.fixture(autouse=True)
def one_message_per_rung(settings):
    """These tests follow single rungs through delivery; digests are tested apart
    (tests/test_alerts__digest.py)."""
    settings.CRISISFLOW = {**settings.CRISISFLOW, "DIGESTS": False}


@pytest.fixture
def incident(people, plan) -> Incident:
    with time_machine.travel(T0, tick=False):
        return walk_to(people, report(people), "team_assembled")


def fire(at) -> None:
    with time_machine.travel(at, tick=False):
        while sweep().fired:
            pass


def endpoint(receiver, fmt: str, path: str, secret: str = SECRET, **query: str) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=fmt, format=fmt, url=receiver.url_for(path, **query), secret=secret, escalations_only=True
    )


def deliver_due(hook: WebhookEndpoint) -> tuple[str, Notification]:
    row = Notification.objects.get(endpoint=hook, kind="due")
    outcome = delivery.deliver_one(row.pk, now=DUE)
    row.refresh_from_db()
    return outcome, row


def only_request(receiver, path: str):
    [request] = [r for r in receiver.requests if r.path == path]
    return request


def verify(got, secret: str, *, timestamp: str | None = None, body: bytes | None = None) -> bool:
    """What a receiver does with a Standard Webhooks signature (any one "v1," entry of
    the space-separated list may match). `timestamp` and `body` stand in for what an
    attacker replaying the request would change."""
    message_id = got.headers["webhook-id"]
    timestamp = got.headers["webhook-timestamp"] if timestamp is None else timestamp
    body = got.body if body is None else body
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    expected = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    given = [base64.b64decode(s.split(",", 1)[1]) for s in got.headers["webhook-signature"].split() if "," in s]
    return any(hmac.compare_digest(expected, g) for g in given)


def test_generic_json_is_signed_over_id_timestamp_and_body(incident, http_receiver):
    hook = endpoint(http_receiver, "generic", "/generic")
    fire(DUE)
    assert deliver_due(hook)[0] == "delivered"
    row = Notification.objects.get(endpoint=hook)
    got = only_request(http_receiver, "/generic")

    assert got.method == "POST"
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    assert got.headers[KEY_HEADER] == row.idempotency_key
    timestamp = str(int(DUE.timestamp()))
    assert got.headers["X-CrisisFlow-Timestamp"] == got.headers["webhook-timestamp"] == timestamp
    assert got.headers["webhook-id"] == row.idempotency_key
    # Standard Webhooks: HMAC-SHA256 of "id.timestamp.body", base64 after "v1,"; the
    # same HMAC in hex in X-CrisisFlow-Signature.
    assert verify(got, SECRET)
    signed = f"{row.idempotency_key}.{timestamp}.".encode() + got.body
    digest = hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()
    assert got.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    assert got.headers["X-CrisisFlow-Signature"] == f"sha256={digest.hex()}"

    body = got.json()
    assert set(body) == {"idempotency_key", "kind", "rung", "incident", "task", "text", "url", "due_at", "sent_at"}
    assert body["idempotency_key"] == row.idempotency_key
    assert (body["kind"], body["rung"]) == ("due", "due")
    assert body["incident"] == {
        "reference": incident.reference,
        "title": "Payments down in East China",
        "severity": "high",
        "state": "team_assembled",
    }
    assert body["task"]["title"] == {"en": "Legal review", "zh": "【Legal review】"}
    assert body["due_at"] == DUE.isoformat()
    assert body["sent_at"] == DUE.isoformat()
    assert body["url"].endswith(f"/incidents/{incident.reference}/#task-{row.task_id}")
    # The site's language (English in tests) and time zone (Asia/Shanghai).
    assert body["text"].splitlines()[0] == "This task is due now (2026-03-02 20:00 Asia/Shanghai)."


def test_a_changed_timestamp_or_body_fails_the_signature(incident, http_receiver):
    hook = endpoint(http_receiver, "generic", "/generic")
    fire(DUE)
    assert deliver_due(hook)[0] == "delivered"
    got = only_request(http_receiver, "/generic")
    assert verify(got, SECRET)
    later = str(int(got.headers["webhook-timestamp"]) + 600)
    assert not verify(got, SECRET, timestamp=later)  # a replay under a fresh timestamp
    assert not verify(got, SECRET, body=got.body.replace(b'"due"', b'"escalation"'))
    assert not verify(got, "another secret")


def test_a_standard_webhooks_secret_is_base64_decoded(incident, http_receiver):
    secret = "whsec_" + base64.b64encode(b"sixteen byte key").decode()
    hook = endpoint(http_receiver, "generic", "/standard", secret=secret)
    fire(DUE)
    assert deliver_due(hook)[0] == "delivered"
    got = only_request(http_receiver, "/standard")
    assert verify(got, secret)
    assert not verify(got, secret.removeprefix("whsec_"))  # the text itself is not the key


def test_a_generic_webhook_without_a_secret_is_sent_unsigned(incident, http_receiver):
    hook = endpoint(http_receiver, "generic", "/plain", secret="")
    fire(DUE)
    assert deliver_due(hook)[0] == "delivered"
    got = only_request(http_receiver, "/plain")
    assert "X-CrisisFlow-Signature" not in got.headers
    assert "webhook-signature" not in got.headers
    assert got.headers["webhook-id"] == got.headers[KEY_HEADER]
    assert got.headers[KEY_HEADER] == got.json()["idempotency_key"]


def test_slack_incoming_webhook(incident, http_receiver):
    hook = endpoint(http_receiver, "slack", "/services/T0/B0/xyz", secret="")
    fire(DUE)
    assert deliver_due(hook)[0] == "delivered"
    row = Notification.objects.get(endpoint=hook)
    got = only_request(http_receiver, "/services/T0/B0/xyz")
    body = got.json()
    assert got.headers[KEY_HEADER] == row.idempotency_key
    assert body["text"].startswith(f"[{incident.reference}] Due now: “Legal review”")
    headline, fields, link, footer = body["blocks"]
    assert headline == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*This task is due now (2026-03-02 20:00 Asia/Shanghai).*"},
    }
    assert {"type": "mrkdwn", "text": "*Task*\nLegal review"} in fields["fields"]
    assert link["text"]["text"] == f"<{row.payload['url']}|Open in CrisisFlow>"
    assert footer == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"CrisisFlow · {row.idempotency_key}"}],
    }


def test_dingtalk_markdown_signed_in_the_query(incident, http_receiver):
    hook = endpoint(http_receiver, "dingtalk", "/robot/send", access_token="tok123")
    fire(DUE)
    assert deliver_due(hook)[0] == "delivered"
    row = Notification.objects.get(endpoint=hook)
    got = only_request(http_receiver, "/robot/send")

    assert got.query["access_token"] == ["tok123"]
    [timestamp] = got.query["timestamp"]
    [sign] = got.query["sign"]  # parse_qs undid the URL encoding
    assert timestamp == str(int(DUE.timestamp() * 1000))  # milliseconds
    digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert sign == base64.b64encode(digest).decode()

    body = got.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == f"[{incident.reference}] Due now: “Legal review”"
    text = body["markdown"]["text"]
    assert text.startswith("#### This task is due now")
    assert "- **Task**: Legal review" in text
    assert f"[Open in CrisisFlow]({row.payload['url']})" in text
    assert text.endswith(f"###### CrisisFlow · {row.idempotency_key}")
    assert got.headers[KEY_HEADER] == row.idempotency_key


def test_feishu_post_signed_in_the_body(incident, http_receiver):
    hook = endpoint(http_receiver, "feishu", "/open-apis/bot/v2/hook/abc")
    fire(DUE)
    assert deliver_due(hook)[0] == "delivered"
    row = Notification.objects.get(endpoint=hook)
    body = only_request(http_receiver, "/open-apis/bot/v2/hook/abc").json()

    assert body["timestamp"] == str(int(DUE.timestamp()))  # seconds
    key = f"{body['timestamp']}\n{SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["en_us"]
    assert post["title"] == f"[{incident.reference}] Due now: “Legal review”"
    assert post["content"][0] == [{"tag": "text", "text": "This task is due now (2026-03-02 20:00 Asia/Shanghai)."}]
    assert [{"tag": "a", "text": "Open in CrisisFlow", "href": row.payload["url"]}] in post["content"]
    assert post["content"][-1] == [{"tag": "text", "text": f"CrisisFlow · {row.idempotency_key}"}]


def test_feishu_and_dingtalk_without_a_secret_are_not_signed(incident, http_receiver):
    feishu = endpoint(http_receiver, "feishu", "/feishu", secret="")
    dingtalk = endpoint(http_receiver, "dingtalk", "/dingtalk", secret="", access_token="t")
    fire(DUE)
    assert deliver_due(feishu)[0] == deliver_due(dingtalk)[0] == "delivered"
    assert "sign" not in only_request(http_receiver, "/feishu").json()
    assert only_request(http_receiver, "/dingtalk").query == {"access_token": ["t"]}


def test_wecom_markdown(incident, http_receiver):
    hook = endpoint(http_receiver, "wecom", "/cgi-bin/webhook/send", secret="", key="k-1")
    fire(DUE)
    assert deliver_due(hook)[0] == "delivered"
    row = Notification.objects.get(endpoint=hook)
    got = only_request(http_receiver, "/cgi-bin/webhook/send")
    body = got.json()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"].splitlines()
    assert content[0] == '<font color="warning">**This task is due now (2026-03-02 20:00 Asia/Shanghai).**</font>'
    assert "> Task: Legal review" in content
    assert content[-1] == f'<font color="comment">CrisisFlow · {row.idempotency_key}</font>'
    assert got.headers[KEY_HEADER] == row.idempotency_key


def test_chat_messages_speak_the_sites_language(incident, http_receiver, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    hook = endpoint(http_receiver, "feishu", "/zh", secret="")
    fire(DUE)
    assert deliver_due(hook)[0] == "delivered"
    post = only_request(http_receiver, "/zh").json()["content"]["post"]
    assert list(post) == ["zh_cn"]
    assert "【Legal review】" in post["zh_cn"]["title"]


@pytest.mark.parametrize(
    ("fmt", "answer", "outcome", "error"),
    [
        (
            "dingtalk",
            {"errcode": 310000, "errmsg": "sign not match"},
            "failed",
            "DingTalk error 310000: sign not match",
        ),
        ("dingtalk", {"errcode": 130101, "errmsg": "send too fast"}, "retry", "DingTalk error 130101: send too fast"),
        ("feishu", {"code": 19021, "msg": "sign match fail"}, "failed", "Feishu error 19021: sign match fail"),
        ("feishu", {"code": 19024, "msg": "Key Words Not Found"}, "failed", "Feishu error 19024: Key Words Not Found"),
        ("feishu", {"code": 11232, "msg": "frequency limited"}, "retry", "Feishu error 11232: frequency limited"),
        (
            "wecom",
            {"errcode": 93000, "errmsg": "invalid webhook url"},
            "failed",
            "WeCom error 93000: invalid webhook url",
        ),
        (
            "wecom",
            {"errcode": 45009, "errmsg": "api freq out of limit"},
            "retry",
            "WeCom error 45009: api freq out of limit",
        ),
        (
            "dingtalk",
            "<html>proxy login</html>",
            "failed",
            "DingTalk gave an unexpected answer: <html>proxy login</html>",
        ),
    ],
)
def test_platform_error_codes_in_a_200_answer_are_failures(incident, http_receiver, fmt, answer, outcome, error):
    http_receiver.reply_with(Reply(200, answer))
    hook = endpoint(http_receiver, fmt, "/bot", key="secret-token")
    fire(DUE)
    result, row = deliver_due(hook)
    assert result == outcome
    assert row.state == ("failed" if outcome == "failed" else "pending")
    assert row.last_error == error
    assert "secret-token" not in row.last_error


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (502, "retry"),
        (503, "retry"),
        (429, "retry"),
        (400, "failed"),
        (401, "failed"),
        (410, "failed"),
    ],
)
def test_http_status_classes(incident, http_receiver, status, outcome):
    http_receiver.reply_with(Reply(status, "nope", headers={"Location": "http://127.0.0.1:1/elsewhere"}))
    hook = endpoint(http_receiver, "generic", "/status")
    fire(DUE)
    result, row = deliver_due(hook)
    assert result == outcome
    assert row.last_error == f"HTTP {status} from {http_receiver.url}/…: nope"
    assert len(http_receiver.requests) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_fails_for_good(incident, http_receiver, status):
    with HttpReceiver() as elsewhere:
        moved_to, elsewhere_url = elsewhere.url_for("/new-home", token="t0ken"), elsewhere.url
        http_receiver.reply_with(Reply(status, "moved", headers={"Location": moved_to}))
        hook = endpoint(http_receiver, "generic", "/old-home")
        fire(DUE)
        result, row = deliver_due(hook)
        assert elsewhere.requests == [] and elsewhere.connections == 0
    assert result == "failed"
    assert row.last_error == (
        f"HTTP {status} from {http_receiver.url}/…: a redirect (to {elsewhere_url}/…), not followed; "
        "set the endpoint's URL to the address it points to"
    )
    assert len(http_receiver.requests) == 1
    assert incident.events.filter(kind="delivery", data__error=row.last_error).count() == 1


def test_a_relative_redirect_is_named_by_its_full_address(incident, http_receiver):
    http_receiver.reply_with(Reply(308, "", headers={"Location": "/v2/hook?token=t0ken"}))
    hook = endpoint(http_receiver, "generic", "/v1/hook")
    fire(DUE)
    result, row = deliver_due(hook)
    assert result == "failed"
    assert f"a redirect (to {http_receiver.url}/…), not followed" in row.last_error
    assert "t0ken" not in row.last_error


def test_a_private_target_is_refused_without_connecting(people, incident, settings):
    """The setting is off, as in production: the receiver on 127.0.0.1 is never reached."""
    assert settings.CRISISFLOW.get("WEBHOOK_ALLOW_PRIVATE", False) is False
    with HttpReceiver() as receiver:
        hook = endpoint(receiver, "generic", "/internal", token="s3cret")
        url = receiver.url
        fire(DUE)
        result, row = deliver_due(hook)
        assert receiver.connections == 0 and receiver.requests == []
    assert (result, row.state, row.attempts) == ("failed", "failed", 1)
    assert row.last_error == (
        f"refused to call {url}/…: 127.0.0.1 is a loopback address; webhooks go only to "
        "public addresses unless CRISISFLOW_WEBHOOK_ALLOW_PRIVATE is on"
    )
    assert "s3cret" not in row.last_error
    assert incident.events.filter(kind="delivery", data__error=row.last_error).count() == 1
    assert Notification.objects.filter(kind="delivery_failed", recipient=people.commander).count() == 1


def test_a_name_that_resolves_to_loopback_is_refused(incident, settings):
    with HttpReceiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        hook = WebhookEndpoint.objects.create(name="local", url=f"http://localhost:{port}/x", escalations_only=True)
        fire(DUE)
        result, row = deliver_due(hook)
        assert receiver.connections == 0
    assert result == "failed"
    assert row.last_error.startswith(f"refused to call http://localhost:{port}/…: localhost (")
    assert "is a loopback address" in row.last_error


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata services
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "reserved"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "reserved"),  # carrier-grade NAT
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_which_addresses_are_not_public(address, kind):
    assert webhook_client.address_kind(address) == kind


def test_the_connection_goes_to_the_checked_address_not_a_new_lookup():
    """A Target carries the addresses that were checked; sending uses them and never
    resolves the name again (DNS rebinding). A .invalid name can never resolve, so the
    request arriving proves no second lookup happened; the name is still the Host."""
    with HttpReceiver() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1])
        target = webhook_client.Target("http", "hooks.invalid", port, "/hook?k=1", ("127.0.0.1",))
        answer = webhook_client.send(target, b"{}", {"Content-Type": "application/json"}, 5.0, 1024)
        [got] = receiver.requests
    assert answer.status == 200
    assert (got.path, got.query) == ("/hook", {"k": ["1"]})
    assert got.headers["Host"] == f"hooks.invalid:{port}"


def test_deliveries_to_one_host_share_a_connection(incident, http_receiver):
    hooks = [endpoint(http_receiver, "generic", f"/hook/{n}") for n in range(5)]
    fire(DUE)
    for hook in hooks:
        assert deliver_due(hook)[0] == "delivered"  # each in its own call, as separate messages
    assert len(http_receiver.requests) == 5
    assert http_receiver.connections == 1


def test_a_timeout_is_transient(incident, http_receiver, settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "WEBHOOK_TIMEOUT_SECONDS": 0.2}
    http_receiver.reply_with(Reply(200, delay=1.0))
    hook = endpoint(http_receiver, "generic", "/slow")
    fire(DUE)
    result, row = deliver_due(hook)
    assert result == "retry"
    assert "timed out" in row.last_error or "no answer" in row.last_error


def test_nobody_listening_is_transient(incident, settings):
    allow_private_webhooks(settings)
    hook = WebhookEndpoint.objects.create(
        name="gone", url=f"http://127.0.0.1:{free_port()}/hook", escalations_only=True
    )
    fire(DUE)
    result, row = deliver_due(hook)
    assert result == "retry"
    assert row.last_error.startswith("cannot reach http://127.0.0.1:")


# --- e-mail over SMTP -----------------------------------------------------------------


def email_due(people) -> Notification:
    people.legal.email = "legal@example.com"
    people.legal.save()
    fire(DUE)
    return Notification.objects.get(channel="email", kind="due")


def test_e_mail_has_a_text_and_an_html_part_and_stable_ids(people, incident, smtp_sink):
    row = email_due(people)
    assert delivery.deliver_one(row.pk, now=DUE) == "delivered"
    [mail] = smtp_sink.mails
    assert mail.rcpt_tos == ["legal@example.com"]
    message = mail.message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"] == f"<crisisflow-notification-{row.pk}@127.0.0.1>"
    assert message[KEY_HEADER] == row.idempotency_key
    assert message["Auto-Submitted"] == "auto-generated"


def test_a_temporary_smtp_refusal_is_retried(people, incident, smtp_sink):
    smtp_sink.reply_with("451 4.3.0 Try again later")
    row = email_due(people)
    assert delivery.deliver_one(row.pk, now=DUE) == "retry"
    row.refresh_from_db()
    assert row.last_error == "SMTP 451 4.3.0 Try again later"
    assert delivery.deliver_one(row.pk, now=DUE + timedelta(seconds=10)) == "delivered"
    assert smtp_sink.by_key() == {row.idempotency_key: 1}


def test_a_permanent_smtp_refusal_fails_at_once(people, incident, settings):
    with SmtpSink(then="550 5.1.1 No such user", refuse_at="RCPT") as sink:
        sink.configure(settings)
        row = email_due(people)
        assert delivery.deliver_one(row.pk, now=DUE) == "failed"
    row.refresh_from_db()
    assert row.last_error == "SMTP refused the recipient: legal@example.com: 550 5.1.1 No such user"
    assert incident.events.filter(kind="delivery", data__target="Legal").count() == 1


def test_a_failed_reminder_goes_on_the_timeline_but_does_not_page_the_commander(people, incident, smtp_sink):
    smtp_sink.reply_with(then="554 5.7.1 Rejected")
    people.legal.email = "legal@example.com"
    people.legal.save()
    fire(T0 + timedelta(minutes=90))  # half the window: a plain reminder
    row = Notification.objects.get(channel="email", kind="reminder")
    assert delivery.deliver_one(row.pk, now=T0 + timedelta(minutes=90)) == "failed"
    assert incident.events.filter(kind="delivery").count() == 1
    assert not Notification.objects.filter(kind="delivery_failed").exists()


def test_an_smtp_server_that_is_down_is_transient(people, incident, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    row = email_due(people)
    assert delivery.deliver_one(row.pk, now=DUE) == "retry"
    row.refresh_from_db()
    assert row.last_error.startswith(f"cannot reach the SMTP server 127.0.0.1:{settings.EMAIL_PORT}:")


def test_a_person_without_an_address_fails_for_good(people, incident, smtp_sink):
    row = email_due(people)
    people.legal.email = ""
    people.legal.save()
    assert delivery.deliver_one(row.pk, now=DUE) == "failed"
    row.refresh_from_db()
    assert row.last_error == "Legal has no e-mail address"
    assert smtp_sink.mails == []


def test_golden_clock_warning_says_how_many_minutes_are_left(people, incident, http_receiver):
    hook = WebhookEndpoint.objects.create(name="all", url=http_receiver.url_for("/all"))
    for hours in (2, 3, 3.5):  # the warnings 2 h, 1 h and 30 min before the first statement is due
        fire(T0 + timedelta(hours=hours))
    row = Notification.objects.get(endpoint=hook, kind="clock_warning", rung="left_1800s")
    assert delivery.deliver_one(row.pk, now=T0 + timedelta(hours=3, minutes=30)) == "delivered"
    [got] = http_receiver.requests
    body = got.json()
    assert body["task"] is None
    assert body["text"].splitlines()[0] == "Golden clock: 30 minutes left to publish the first public statement."
    assert "First public statement due: 2026-03-02 21:00 Asia/Shanghai" in body["text"]


# --- admin: where webhooks are set up -------------------------------------------------


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("https://localhost/hook", "localhost resolves to"),
        ("https://10.0.0.7/hook", "10.0.0.7 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("https://[::1]/hook", "::1 is a loopback address"),
    ],
)
def test_the_admin_refuses_a_private_webhook_url(admin_client, admin_user, url, error):
    admin_user.language = "en"
    admin_user.save()
    form = {"name": "Ops", "format": "generic", "url": url, "secret": "", "active": "on", "min_severity": "low"}
    page = admin_client.post("/admin/alerts/webhookendpoint/add/", form)
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert error in errors["url"][0]
    assert "CRISISFLOW_WEBHOOK_ALLOW_PRIVATE" in errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_the_admin_takes_a_private_url_when_allowed_and_a_public_one_always(admin_client, settings):
    form = {"name": "Ops", "format": "generic", "secret": "", "active": "on", "min_severity": "low"}
    public = admin_client.post("/admin/alerts/webhookendpoint/add/", form | {"url": "https://93.184.216.34/hook"})
    assert public.status_code == 302
    allow_private_webhooks(settings)
    local = admin_client.post("/admin/alerts/webhookendpoint/add/", form | {"url": "http://127.0.0.1:8080/hook"})
    assert local.status_code == 302
    assert set(WebhookEndpoint.objects.values_list("url", flat=True)) == {
        "https://93.184.216.34/hook",
        "http://127.0.0.1:8080/hook",
    }


def test_the_admin_keeps_a_webhook_secret_out_of_the_page(admin_client):
    form = {"name": "Ops", "format": "dingtalk", "url": "https://93.184.216.34/robot/send?access_token=a"}
    form |= {"secret": "SEC-abc", "active": "on", "min_severity": "low"}
    assert admin_client.post("/admin/alerts/webhookendpoint/add/", form).status_code == 302
    hook = WebhookEndpoint.objects.get()
    assert hook.secret == "SEC-abc"
    assert "SEC-abc" not in admin_client.get(f"/admin/alerts/webhookendpoint/{hook.pk}/change/").content.decode()

    # Left empty, the secret stays; "remove" removes it.
    admin_client.post(f"/admin/alerts/webhookendpoint/{hook.pk}/change/", form | {"name": "Ops 2", "secret": ""})
    hook.refresh_from_db()
    assert (hook.name, hook.secret) == ("Ops 2", "SEC-abc")
    admin_client.post(f"/admin/alerts/webhookendpoint/{hook.pk}/change/", form | {"secret": "", "clear_secret": "on"})
    hook.refresh_from_db()
    assert hook.secret == ""

    # The outbox is there to look at, not to edit.
    assert admin_client.get("/admin/alerts/notification/?state=failed&channel=webhook&kind=due").status_code == 200
    assert admin_client.get("/admin/alerts/notification/add/").status_code == 403
