"""A subscriber's e-mail, built once per publication and language and completed per
subscriber, is byte for byte the one Django builds for them: headers (List-Unsubscribe,
List-Unsubscribe-Post, the key, the language), subject, both bodies and the
unsubscribe link; only the MIME boundary, random either way, differs."""

from __future__ import annotations

import re
from email import message_from_bytes

import pytest
import time_machine

from crisisflow.alerts import channels
from crisisflow.alerts.models import Channel, Notification
from crisisflow.subscribers import sending, subscriptions
from crisisflow.subscribers.models import Subscriber
from tests.conftest import T0
from tests.subscribers_helpers import confirmed, incident_with_statement, publish

pytestmark = pytest.mark.django_db

BOUNDARY = re.compile(rb"={15}\d{19}==")


def row_for(subscriber: Subscriber, publication) -> Notification:
    return Notification.objects.create(
        incident_id=publication.statement.incident_id,
        source=f"publication:{publication.pk}",
        kind=sending.KIND,
        rung=sending.KIND,
        channel=Channel.SUBSCRIBER,
        target=f"subscriber:{subscriber.pk}",
        payload={"kind": sending.KIND, "publication": publication.pk},
        due_at=T0,
        created_at=T0,
        next_attempt_at=T0,
    )


def by_django(row: Notification, subscriber: Subscriber) -> bytes:
    return sending.build_email(row, subscriber).message().as_bytes(linesep="\r\n")


@pytest.mark.parametrize(
    ("address", "language"),
    [("reader@example.com", "en"), ("a.much.longer+tag_name@mail.example.org", "zh-hans"), ("x@y.cn", "zh-hans")],
)
def test_the_cheap_e_mail_is_the_one_django_builds(people, plan, address, language):
    incident, statement = incident_with_statement(people)
    publication = publish(people, statement)
    subscriber = confirmed(address=address, incident=incident, language=language)
    row = row_for(subscriber, publication)
    with time_machine.travel(T0, tick=False):  # the same Date and unsubscribe token
        sender, recipients, cheap = sending.email_bytes(row, subscriber)
        expected = by_django(row, subscriber)
    assert BOUNDARY.sub(b"B", cheap) == BOUNDARY.sub(b"B", expected)
    assert len(set(BOUNDARY.findall(cheap))) == 1  # one boundary, used throughout
    assert recipients == [address] and "@" in sender
    parsed = message_from_bytes(cheap)
    with time_machine.travel(T0, tick=False):
        leave = subscriptions.unsubscribe_url(subscriber.pk)
    assert parsed["List-Unsubscribe"].strip() == f"<{leave}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed[channels.KEY_HEADER] == row.idempotency_key
    assert parsed["Content-Language"] == language
    text, html = (part.get_payload(decode=True).decode() for part in parsed.get_payload())
    assert leave in text and leave in html


def test_each_e_mail_gets_its_own_boundary(people, plan):
    incident, statement = incident_with_statement(people)
    publication = publish(people, statement)
    first, second = (confirmed(address=f"r{n}@example.com", incident=incident) for n in (1, 2))
    one = sending.email_bytes(row_for(first, publication), first)[2]
    two = sending.email_bytes(row_for(second, publication), second)[2]
    assert BOUNDARY.findall(one)[0] != BOUNDARY.findall(two)[0]


@pytest.mark.parametrize("address", ["读者@example.com", "a" * 70 + "@example.com", '"a b"@example.com'])
def test_an_address_django_must_encode_or_fold_goes_the_django_way(people, plan, address):
    incident, statement = incident_with_statement(people)
    publication = publish(people, statement)
    subscriber = confirmed(address=address, incident=incident)
    assert sending.email_bytes(row_for(subscriber, publication), subscriber) is None
