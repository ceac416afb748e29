"""The signed-in person's in-app notifications over the API: the inbox, marking one read
and marking all read (crisisflow.alerts.inbox), never anyone else's."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from crisisflow.alerts.models import Channel, Notification
from crisisflow.alerts.sweep import sweep
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)
INBOX = "/api/notifications/"


@pytest.fixture(autouse=True)
def one_message_per_rung(settings):
    # These tests follow single rungs (a task's, the clock's); digests have their own tests.
    settings.CRISISFLOW = {**settings.CRISISFLOW, "DIGESTS": False}


@pytest.fixture
def alerted(people, plan):
    """Legal review (due T0 + 3 h, owned by `legal`) falls due and then overdue."""
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    for moment in (T0 + 3 * H, T0 + 3 * H + 31 * M):
        with time_machine.travel(moment, tick=False):
            sweep()
    return incident


def mine(user):
    """The person's inbox: in-app rows, not those bundled into a digest (the digest is there)."""
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP).exclude(state=Notification.State.BUNDLED)


def test_the_inbox_lists_the_readers_notifications_newest_first(api, people, alerted):
    expected = list(mine(people.legal).order_by("-created_at", "-id"))
    assert len(expected) >= 2
    response = api(people.legal).get(INBOX)
    assert response.status_code == 200
    assert response.data["unread"] == len(expected)
    listed = response.data["notifications"]
    assert [n["id"] for n in listed] == [n.pk for n in expected]
    assert all(n["incident"] == alerted.reference and n["read_at"] is None for n in listed)
    assert all(n["subject"].startswith(f"[{alerted.reference}] ") and n["headline"] for n in listed)
    about_task = next(n for n in listed if n["task"] is not None)
    assert "Legal review" in about_task["subject"]
    assert about_task["link"].endswith(f"/incidents/{alerted.reference}/#task-{about_task['task']}")
    about_clock = next(n for n in listed if n["task"] is None)
    assert about_clock["subject"].startswith(f"[{alerted.reference}] Golden clock")
    assert about_clock["link"].endswith(f"/incidents/{alerted.reference}/#clock")
    # Someone else's inbox holds none of them.
    others = api(people.outsider).get(INBOX).data
    assert others == {"unread": 0, "notifications": []}


def test_marking_one_read_and_then_all(api, people, alerted):
    legal = api(people.legal)
    one = mine(people.legal).order_by("id").first()
    with time_machine.travel(T0 + 4 * H, tick=False):
        response = legal.post(f"/api/notifications/{one.pk}/read/")
    assert response.status_code == 200
    assert response.data["id"] == one.pk
    assert response.data["read_at"] == "2026-03-02T13:00:00Z"
    # Reading it again keeps the first time.
    with time_machine.travel(T0 + 5 * H, tick=False):
        again = legal.post(f"/api/notifications/{one.pk}/read/")
    assert again.data["read_at"] == "2026-03-02T13:00:00Z"

    unread = mine(people.legal).filter(read_at__isnull=True).count()
    assert unread >= 1
    everything = legal.post("/api/notifications/read/")
    assert everything.status_code == 200
    assert everything.data == {"marked": unread, "unread": 0}
    assert legal.get(INBOX).data["unread"] == 0
    assert legal.post("/api/notifications/read/").data == {"marked": 0, "unread": 0}


def test_someone_elses_notification_does_not_exist(api, people, alerted):
    theirs = mine(people.legal).first()
    response = api(people.outsider).post(f"/api/notifications/{theirs.pk}/read/")
    nowhere = api(people.outsider).post("/api/notifications/999999/read/")
    assert response.status_code == nowhere.status_code == 404
    assert response.data == nowhere.data
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    # Marking all read touches only the reader's own.
    api(people.outsider).post("/api/notifications/read/")
    assert mine(people.legal).filter(read_at__isnull=True).count() >= 2


def test_not_signed_in_is_a_401(people):
    response = APIClient().get(INBOX)
    assert response.status_code == 401
    assert response.data["field"] is None
