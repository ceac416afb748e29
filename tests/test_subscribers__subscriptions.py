"""Subscribing to public notices: double opt-in by e-mail, a webhook challenged before
use, consent records, unsubscribing from the link (and one-click), rate limits, export
and erase, the pages in both languages and the API."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from crisisflow.alerts.models import Channel, Notification
from crisisflow.incidents.errors import Invalid, NotFound
from crisisflow.subscribers import fanout, limits, privacy, subscriptions, tokens
from crisisflow.subscribers.models import Consent, Subscriber
from tests.receivers import Reply, http_receiver_fixture  # noqa: F401
from tests.subscribers_helpers import confirmed, incident_with_statement, publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _playbook(plan):
    return plan


def link_in(text: str, name: str) -> str:
    return re.search(r"https?://\S+/" + name + r"/\S+/", text).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_email_double_opt_in_sends_only_the_confirmation_until_confirmed(
    people, client, django_capture_on_commit_callbacks
):
    incident, statement = incident_with_statement(people)
    with django_capture_on_commit_callbacks(execute=True):
        requested = subscriptions.subscribe(
            "email",
            "Reader@Example.com",
            incident=incident.reference,
            language="en",
            consent=True,
            network_address="203.0.113.9",
        )
    assert requested.subscriber.state == Subscriber.State.PENDING
    assert requested.subscriber.address == "reader@example.com"
    [confirmation] = mail.outbox
    assert confirmation.to == ["reader@example.com"] and "Confirm" in confirmation.subject

    # Published before confirming: nothing for the pending address.
    with django_capture_on_commit_callbacks(execute=True):
        publication = publish(people, statement)
    fanout.run(publication.fanouts.get().pk)
    assert not Notification.objects.filter(channel=Channel.SUBSCRIBER).exists()

    page = client.get(path_of(link_in(confirmation.body, "subscribe/confirm")))
    assert page.status_code == 200 and "Subscribed" in page.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.state == Subscriber.State.CONFIRMED
    assert [c.action for c in subscriber.consents.all()] == ["given", "confirmed"]


def test_consent_records_when_what_from_where_which_wording_and_version(people):
    incident, _statement = incident_with_statement(people)
    subscriptions.subscribe(
        "email",
        "a@example.com",
        incident=incident.reference,
        language="zh-hans",
        consent=True,
        network_address="198.51.100.7",
    )
    consent = Consent.objects.get()
    assert consent.action == "given" and consent.network_address == "198.51.100.7"
    assert incident.reference in consent.scope and consent.language == "zh-hans"
    assert "退订" in consent.wording or "同意" in consent.wording or consent.wording  # the text shown, stored
    assert consent.wording_version


def test_no_consent_no_subscription(people):
    with pytest.raises(Invalid) as err:
        subscriptions.subscribe("email", "a@example.com", consent=False)
    assert err.value.field == "consent" and not Subscriber.objects.exists()


def test_an_expired_or_tampered_confirmation_link_is_refused(people, settings):
    requested = subscriptions.subscribe("email", "a@example.com", consent=True)
    token = tokens.confirm_token(requested.subscriber)
    with pytest.raises(Invalid):
        subscriptions.confirm_email(token[:-2] + "xx")
    settings.CRISISFLOW = {**settings.CRISISFLOW, "SUBSCRIBE_CONFIRM_SECONDS": -1}
    with pytest.raises(Invalid) as err:
        subscriptions.confirm_email(token)
    assert "expired" in str(err.value)
    assert Subscriber.objects.get().state == Subscriber.State.PENDING


def test_a_restricted_or_unknown_notice_cannot_be_followed(people):
    with pytest.raises(NotFound):
        subscriptions.subscribe("email", "a@example.com", incident="CF-1999-0001", consent=True)


def test_every_update_email_has_the_unsubscribe_link_and_one_click_headers(
    people, client, django_capture_on_commit_callbacks
):
    incident, statement = incident_with_statement(people)
    confirmed(incident=incident, address="en@example.com", language="en")
    confirmed(address="zh@example.com", language="zh-hans")  # all notices
    with django_capture_on_commit_callbacks(execute=True):
        publication = publish(people, statement)
    assert fanout.run(publication.fanouts.get().pk) == 2
    from crisisflow.alerts.delivery import deliver_many

    ids = list(Notification.objects.filter(channel=Channel.SUBSCRIBER).values_list("pk", flat=True))
    assert set(deliver_many(ids).values()) == {"delivered"}
    by_to = {m.to[0]: m for m in mail.outbox}
    english, chinese = by_to["en@example.com"], by_to["zh@example.com"]
    assert "A new statement was published" in english.body
    assert "发布" in chinese.body  # the frame in the subscriber's language
    for message in (english, chinese):
        header = message.extra_headers["List-Unsubscribe"]
        assert (
            header.startswith("<http")
            and message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        )
        assert header.strip("<>") in message.body
        assert message.extra_headers["X-CrisisFlow-Idempotency-Key"].startswith("crisisflow-notification-")

    # The one-click POST (no CSRF token, as mail providers send it) unsubscribes.
    leave = path_of(english.extra_headers["List-Unsubscribe"].strip("<>"))
    assert client.get(leave).status_code == 200  # a GET only asks
    assert Subscriber.objects.get(address="en@example.com").state == Subscriber.State.CONFIRMED
    answer = client.post(leave, {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    leaver = Subscriber.objects.get(address="en@example.com")
    assert leaver.state == Subscriber.State.UNSUBSCRIBED
    assert leaver.consents.filter(action="withdrawn").exists()


def test_publishing_the_same_version_on_another_channel_tells_nobody_twice(people, django_capture_on_commit_callbacks):
    incident, statement = incident_with_statement(people)
    confirmed(incident=incident)
    with django_capture_on_commit_callbacks(execute=True):
        first = publish(people, statement)
    fanout.run(first.fanouts.get().pk)
    import time_machine

    from tests.conftest import T0
    from tests.statements_helpers import publish_approved

    with time_machine.travel(T0, tick=False):
        publish_approved(people, statement, "weibo", "weibo-1")
    assert Notification.objects.filter(channel=Channel.SUBSCRIBER).count() == 1


def test_a_restarted_fan_out_resumes_without_duplicates(people, django_capture_on_commit_callbacks):
    incident, statement = incident_with_statement(people)
    for n in range(23):
        confirmed(incident=incident if n % 2 else None, address=f"r{n}@example.com")
    confirmed(address="gone@example.com").delete()
    with django_capture_on_commit_callbacks(execute=True):
        publication = publish(people, statement)
    fanout_id = publication.fanouts.get().pk
    assert fanout.run(fanout_id, chunk=5, stop_after=2) == 10  # the worker "dies" after two chunks
    # Its lease still holds: nobody else writes meanwhile.
    assert fanout.run(fanout_id, chunk=5) == 0
    from crisisflow.subscribers.models import FanOut

    FanOut.objects.filter(pk=fanout_id).update(lease_until=None)  # the lease lapsed
    assert fanout.run(fanout_id, chunk=5) == 13
    rows = Notification.objects.filter(channel=Channel.SUBSCRIBER, source=f"publication:{publication.pk}")
    assert rows.count() == 23 and rows.values("target").distinct().count() == 23
    # Even a fan-out started again from scratch writes nothing twice (the unique key).
    FanOut.objects.filter(pk=fanout_id).update(after=0, finished_at=None, lease_until=None)
    assert fanout.run(fanout_id, chunk=5) == 0
    assert rows.count() == 23


def test_the_sweep_queues_a_fan_out_whose_worker_died(people, django_capture_on_commit_callbacks, monkeypatch):
    from datetime import timedelta

    from crisisflow import clock

    incident, statement = incident_with_statement(people)
    with django_capture_on_commit_callbacks(execute=False):
        publication = publish(people, statement)
    queued = []
    monkeypatch.setattr(fanout, "queue", queued.append)
    later = clock.now() + timedelta(seconds=61)
    rows = fanout.due(later, 10)
    assert [r[0] for r in rows] == [publication.fanouts.get().pk]
    fanout.fire(rows[0], later)
    fanout.fire(rows[0], later)  # a second sweeper with the same row: queued once
    assert queued == [publication.fanouts.get().pk]


def test_only_public_statements_reach_subscribers(people, django_capture_on_commit_callbacks):
    import time_machine

    from tests.conftest import T0
    from tests.statements_helpers import approve_all, publish_approved, write

    incident, _statement = incident_with_statement(people)
    confirmed(incident=incident)
    with time_machine.travel(T0, tick=False):
        internal = write(people.commander, incident, "internal_notice")
        approve_all(people, internal)
        with django_capture_on_commit_callbacks(execute=True):
            publish_approved(people, internal)
    from crisisflow.subscribers.models import FanOut

    assert not FanOut.objects.exists()


def test_webhook_is_challenged_before_use_and_signed(people, http_receiver, monkeypatch):
    monkeypatch.setattr(subscriptions.secrets, "token_urlsafe", lambda n: "the-challenge")
    http_receiver.reply_with(Reply(body={"challenge": "wrong"}))
    with pytest.raises(Invalid) as err:
        subscriptions.subscribe("webhook", http_receiver.url, consent=True, secret="s" * 20)
    assert err.value.field == "address" and not Subscriber.objects.exists()

    http_receiver.reply_with(Reply(body={"challenge": "the-challenge"}), then=200)
    requested = subscriptions.subscribe("webhook", http_receiver.url, consent=True, secret="s" * 20)
    assert requested.confirmed and requested.subscriber.state == Subscriber.State.CONFIRMED
    challenge = http_receiver.requests[-1]
    assert challenge.json()["type"] == "subscription.challenge"
    from crisisflow.alerts.channels import sign

    body = challenge.body
    key, ts = challenge.headers["webhook-id"], int(challenge.headers["webhook-timestamp"])
    import base64

    expected = "v1," + base64.b64encode(sign("s" * 20, key, ts, body)).decode()
    assert challenge.headers["webhook-signature"] == expected


def test_webhook_to_a_private_address_is_refused_without_the_setting(people):
    with pytest.raises(Invalid) as err:
        subscriptions.subscribe("webhook", "http://127.0.0.1:9/hook", consent=True, secret="s" * 20)
    assert err.value.field == "address" and "loopback" in str(err.value)


def test_rate_limits_per_target_and_per_address(people, settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "SUBSCRIBE_RATES": {"address": "5/hour", "target": "2/hour"}}
    for _ in range(2):
        subscriptions.subscribe("email", "same@example.com", consent=True, network_address="203.0.113.1")
    with pytest.raises(limits.TooMany) as err:  # a third request for the same inbox, from elsewhere
        subscriptions.subscribe("email", "same@example.com", consent=True, network_address="203.0.113.2")
    assert err.value.status == 429 and "this address" in str(err.value)
    for n in range(3):
        subscriptions.subscribe("email", f"x{n}@example.com", consent=True, network_address="203.0.113.1")
    with pytest.raises(limits.TooMany) as err:  # a sixth from one network address
        subscriptions.subscribe("email", "y@example.com", consent=True, network_address="203.0.113.1")
    assert "network address" in str(err.value)


def test_the_api_answers_429_past_the_limit(people, api, settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "SUBSCRIBE_RATES": {"address": "1/hour", "target": "5/hour"}}
    client = api()
    first = client.post(
        "/api/subscriptions/", {"kind": "email", "address": "a@example.com", "consent": True}, format="json"
    )
    assert first.status_code == 202 and first.json()["state"] == "pending"
    second = client.post(
        "/api/subscriptions/", {"kind": "email", "address": "b@example.com", "consent": True}, format="json"
    )
    assert second.status_code == 429 and second.json()["detail"]


def test_the_api_subscribes_confirms_and_unsubscribes(people, api):
    client = api()
    bad = client.post("/api/subscriptions/", {"kind": "email", "address": "nope", "consent": True}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "address"
    assert (
        client.post(
            "/api/subscriptions/", {"kind": "email", "address": "a@example.com", "consent": True}, format="json"
        ).status_code
        == 202
    )
    subscriber = Subscriber.objects.get()
    done = client.post("/api/subscriptions/confirm/", {"token": tokens.confirm_token(subscriber)}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "confirmed"
    gone = client.post(
        "/api/subscriptions/unsubscribe/", {"token": tokens.unsubscribe_token(subscriber.pk)}, format="json"
    )
    assert gone.json()["state"] == "unsubscribed"


def test_export_and_erase_by_command(people, django_capture_on_commit_callbacks):
    incident, statement = incident_with_statement(people)
    keep = confirmed(address="other@example.com")
    subscriber = confirmed(incident=incident, address="me@example.com")
    Consent.objects.create(
        subscriber=subscriber,
        action="given",
        at=subscriber.created_at,
        scope="x",
        wording="w",
        wording_version="1",
        language="en",
    )
    with django_capture_on_commit_callbacks(execute=True):
        publication = publish(people, statement)
    fanout.run(publication.fanouts.get().pk)
    out = StringIO()
    call_command("subscriber_export", "ME@example.com", stdout=out)
    data = json.loads(out.getvalue())
    [subscription] = data["subscriptions"]
    assert subscription["address"] == "me@example.com" and subscription["notice"] == incident.reference
    assert subscription["consents"][0]["wording"] == "w" and len(subscription["messages"]) == 1

    out = StringIO()
    call_command("subscriber_erase", "me@example.com", "--yes", stdout=out)
    assert "Erased 1 subscription(s), 1 consent record(s), 1 message(s)" in out.getvalue()
    assert not Subscriber.objects.filter(address="me@example.com").exists()
    assert not Consent.objects.filter(subscriber_id=subscriber.pk).exists()
    assert Notification.objects.filter(channel=Channel.SUBSCRIBER).count() == 1  # the other one's
    assert privacy.export("me@example.com")["subscriptions"] == []
    assert Subscriber.objects.filter(pk=keep.pk).exists()


def test_erase_from_the_admin(people, client):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(admin)
    subscriber = confirmed(address="me@example.com")
    changelist = reverse("admin:subscribers_subscriber_changelist")
    answer = client.post(changelist, {"action": "erase_data", "_selected_action": [subscriber.pk]}, follow=True)
    assert answer.status_code == 200 and not Subscriber.objects.exists()
    confirmed(address="you@example.com")
    exported = client.post(changelist, {"action": "export_data", "_selected_action": [Subscriber.objects.get().pk]})
    assert json.loads(exported.content)[0]["subscriptions"][0]["address"] == "you@example.com"


@pytest.mark.parametrize("language, words", [("en", "Get updates"), ("zh-hans", "订阅")])
def test_the_subscribe_page_in_both_languages(people, client, language, words):
    incident, _statement = incident_with_statement(people)
    client.cookies["django_language"] = language
    page = client.get(reverse("subscribe-notice", args=[incident.reference]))
    html = page.content.decode()
    assert page.status_code == 200 and words in html and incident.reference in html
    assert 'name="viewport"' in html and 'name="consent"' in html
    refused = client.post(reverse("subscribe"), {"kind": "email", "address": "bad", "consent": "yes"})
    assert refused.status_code == 400 and 'aria-invalid="true"' in refused.content.decode()
    done = client.post(
        reverse("subscribe"), {"kind": "email", "address": "ok@example.com", "consent": "yes", "language": language}
    )
    assert done.status_code == 200 and Subscriber.objects.get().language == language


def test_a_failed_update_is_shown_to_the_commander_without_the_address(
    people, http_receiver, django_capture_on_commit_callbacks, browse
):
    incident, statement = incident_with_statement(people)
    subscriber = confirmed("webhook", http_receiver.url, incident=incident, secret="s" * 20)
    http_receiver.reply_with(410)  # gone: no retry helps
    with django_capture_on_commit_callbacks(execute=True):
        publication = publish(people, statement)
    fanout.run(publication.fanouts.get().pk)
    from crisisflow.alerts.delivery import deliver_many
    from crisisflow.alerts.ladder import Kind
    from crisisflow.incidents.models import Event

    [row] = Notification.objects.filter(channel=Channel.SUBSCRIBER)
    assert deliver_many([row.pk]) == {row.pk: "failed"}
    told = Notification.objects.get(kind=Kind.DELIVERY_FAILED, recipient=people.commander)
    assert told.payload["failed"]["target"] == subscriber.target
    event = Event.objects.filter(incident=incident, kind=Event.Kind.DELIVERY).get()
    assert http_receiver.url not in json.dumps(event.data)
    page = browse(people.commander).get(reverse("notifications"))
    assert page.status_code == 200
