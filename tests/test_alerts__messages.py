"""Building a message never fails on what a title holds.

A line break in an incident's title used to make the golden-clock-expired e-mails to
the executive and the commander fail after five retries (Django refuses a header with
a line break). Every kind of message — the e-mail (subject, text, HTML), every chat
card, the generic webhook's JSON and the in-app line — is built here from titles with
CR/LF, NUL, a lone surrogate, a right-to-left override, 10,000 characters and chat
markup, and the e-mails really go out: through Django's locmem backend and over SMTP
to a local receiver. Titles the database can store are stored (the messages then come
from a real sweep); the others (PostgreSQL refuses NUL and lone surrogates) are put
into the written messages' data, as an old row or another database could hold them.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from crisisflow.alerts import channels, delivery, messages
from crisisflow.alerts.models import Channel, Notification, WebhookEndpoint
from crisisflow.alerts.sweep import sweep
from crisisflow.incidents.models import Incident, Task
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to
from tests.receivers import http_receiver_fixture, smtp_sink_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

EXPIRED = T0 + timedelta(hours=4)  # the golden clock of a high-severity incident

TITLES = {
    "crlf": "Payments\r\ndown\nBcc: victim@example.com",
    "nul": "Null\x00byte title",
    "surrogate": "Lone \ud800 surrogate",
    "rtl": "Invoice \u202egnp.exe\u202c leak",
    "long": "长" * 10_000,
    "markup": "[click](http://evil.example) <font color=red>x</font> <!channel> **bold** # head",
}
FORMATS = [f.value for f in WebhookEndpoint.Format]
BAD_IN_A_LINE = ("\r", "\n", "\x00", "\u202e", "\u202c")


def store(incident: Incident, title: str) -> bool:
    """Give the incident and its tasks `title`, if the database can hold it."""
    try:
        with transaction.atomic():
            # As much as the column takes (a title can be longer in a task or an old row).
            longest = Incident._meta.get_field("title").max_length
            Incident.objects.filter(pk=incident.pk).update(title=title[:longest])
            Task.objects.filter(incident=incident).update(title={"en": title, "zh": title})
    except Exception:
        return False
    return True


def put_into_payloads(title: str) -> None:
    """What a row could hold if the title had got in (not saved: the database refuses)."""

    def swap(data: dict) -> None:
        if data.get("incident"):
            data["incident"]["title"] = title
        if data.get("task"):
            data["task"]["title"] = {"en": title, "zh": title}
        for item in data.get("items") or []:
            swap(item)

    for row in Notification.objects.all():
        swap(row.payload)
        yield row


@pytest.fixture
def incident(people, plan, http_receiver):
    for user in (people.executive, people.commander, people.legal, people.pr_lead):
        user.email = f"{user.username}@example.com"
        user.save()
    people.executive.language = "zh-hans"
    people.executive.save()
    for fmt in FORMATS:
        WebhookEndpoint.objects.create(name=fmt, url=http_receiver.url_for(f"/{fmt}"), format=fmt, secret="s3cret")
    with time_machine.travel(T0, tick=False):
        return walk_to(people, report(people, title="Payments down"), State.TEAM_ASSEMBLED)


def rows_with(incident, key: str) -> list[Notification]:
    """Every message the golden clock's expiry (and what else fell due) wrote, with the
    title `key`: stored before the sweep if the database takes it, else put in after."""
    title = TITLES[key]
    stored = store(incident, title)
    with time_machine.travel(EXPIRED, tick=False):
        sweep()
    if stored:
        return list(Notification.objects.exclude(state="bundled").select_related("recipient", "endpoint"))
    return [row for row in put_into_payloads(title) if row.state != "bundled"]


def assert_one_clean_line(text: str, limit: int = 300) -> None:
    assert not any(ch in text for ch in BAD_IN_A_LINE), repr(text[:200])
    assert len(text) <= limit
    text.encode("utf-8")  # no lone surrogate left


@pytest.mark.parametrize("key", sorted(TITLES))
def test_every_e_mail_is_built_and_sent_through_locmem_and_smtp(incident, people, smtp_sink, key):
    rows = [row for row in rows_with(incident, key) if row.channel == Channel.EMAIL]
    kinds = {row.kind for row in rows}
    # The executive: the golden clock alone; the commander: it and an escalation, as a digest.
    assert {"clock_expired", "digest"} <= kinds
    locmem = mail.get_connection("django.core.mail.backends.locmem.EmailBackend")
    mail.outbox = []
    for row in rows:
        email = channels.build_email(row)
        assert_one_clean_line(email.subject)
        assert incident.reference in email.subject
        message = email.message()  # what Django would send: refuses a bad header
        assert "Bcc" not in message and "\x00" not in message.as_string()
        locmem.send_messages([email])
        with channels.Batch() as batch:
            channels.send_email(row, batch)  # over SMTP, to the local receiver
    assert len(mail.outbox) == len(rows)
    assert len(smtp_sink.mails) == len(rows)
    for received in smtp_sink.mails:
        assert len(received.rcpt_tos) == 1  # no header smuggled in a recipient
        assert_one_clean_line(str(received.message["Subject"]))
        assert received.message.get_body(("plain",)).get_content()
        assert received.message.get_body(("html",)).get_content()


@pytest.mark.parametrize("key", ["crlf", "rtl", "long", "markup"])
def test_the_golden_clock_expired_e_mails_are_delivered_first_time(incident, people, smtp_sink, key):
    """The reported failure, end to end: stored title, real sweep, real delivery."""
    assert store(incident, TITLES[key])
    with time_machine.travel(EXPIRED, tick=False):
        ids = sweep().notifications
        outcomes = {delivery.deliver_one(pk) for pk in ids if Notification.objects.get(pk=pk).channel == "email"}
    assert outcomes == {"delivered"}
    to = {address for received in smtp_sink.mails for address in received.rcpt_tos}
    assert {people.executive.email, people.commander.email} <= to
    subjects = [str(received.message["Subject"]) for received in smtp_sink.mails]
    assert any("Golden clock expired" in s or "黄金" in s for s in subjects)


@pytest.mark.parametrize("key", sorted(TITLES))
def test_every_chat_card_and_webhook_body_is_built_and_accepted(incident, http_receiver, key):
    rows = [row for row in rows_with(incident, key) if row.channel == Channel.WEBHOOK]
    assert {row.endpoint.format for row in rows} == set(FORMATS)
    with time_machine.travel(EXPIRED, tick=False):
        for row in rows:
            outgoing = channels.build_webhook(row, EXPIRED)
            body = json.loads(outgoing.body.decode("utf-8"))
            if row.endpoint.format != "generic":  # chat platforms refuse big messages (20 KB)
                assert len(outgoing.body) < 20_000
            channels.send_webhook(row, EXPIRED)
            text = outgoing.body.decode("utf-8")
            fmt = row.endpoint.format
            if key == "markup" and fmt in ("dingtalk", "wecom"):
                content = body["markdown"]["text" if fmt == "dingtalk" else "content"]
                assert "[click](http" not in content and "<font color=red>" not in content
                assert "\\[click\\]" in content
            if key == "markup" and fmt == "slack":
                assert "<!channel>" not in text and "&lt;!channel&gt;" in text
            if fmt == "dingtalk":
                assert_one_clean_line(body["markdown"]["title"], 64)
    assert len(http_receiver.requests) == len(rows)


@pytest.mark.parametrize("key", sorted(TITLES))
def test_the_in_app_line_reads_in_every_language(incident, key):
    rows = [row for row in rows_with(incident, key) if row.channel == Channel.IN_APP]
    assert rows
    for row in rows:
        for language in ("en", "zh-hans"):
            rendered = messages.render(row, language)
            assert_one_clean_line(rendered.subject)
            rendered.text.encode("utf-8")
            rendered.html.encode("utf-8")


def test_one_line_keeps_what_can_be_kept():
    assert messages.one_line("a\r\nb\tc\x00d") == "a b c d"
    assert messages.one_line("x\u202ey\u2066z\u2069") == "xyz"
    assert messages.one_line("bad \ud800 half") == "bad \ufffd half"
    assert messages.one_line("长" * 500, 10) == "长" * 9 + "…"
    assert messages.one_line("مرحبا بالعالم") == "مرحبا بالعالم"  # right-to-left text itself stays
    assert messages.markdown_escape("[a](b) <i>") == "\\[a\\]\\(b\\) \\<i\\>"
