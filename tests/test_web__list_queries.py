"""Every list page costs a fixed number of queries: as many for many rows as for one.

Each test renders the page with one row, counts its queries, then adds rows and holds the
page to that count (django_assert_max_num_queries): a query per row would break it.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crisisflow import clock
from crisisflow.alerts.models import Channel, Notification
from crisisflow.vocab import State
from tests.conftest import SMALL_PLAN, install_plan, make_user
from tests.flows import report, walk_to
from tests.test_web__room_performance import grow

pytestmark = pytest.mark.django_db

MANY = 12


def queries(client, url: str) -> int:
    client.get(url)  # warm up: content types, the session, the language
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def holds(client, url: str, ceiling: int, django_assert_max_num_queries) -> None:
    client.get(url)
    with django_assert_max_num_queries(ceiling):
        assert client.get(url).status_code == 200


CRISIS_TYPES = ["service_outage", "data_breach", "counterfeit", "negative_opinion", "product_quality", "supply_chain"]


def test_the_incident_list(browse, people, plan, django_assert_max_num_queries):
    client = browse(people.commander)
    report(people, title="The first one")
    one = queries(client, reverse("incident-list"))
    for i in range(MANY):
        incident = report(people, title=f"Incident {i}", crisis_type=CRISIS_TYPES[i % len(CRISIS_TYPES)])
        if i % 3 == 0:
            walk_to(people, incident, State.CONFIRMED)
    holds(client, reverse("incident-list"), one, django_assert_max_num_queries)


def test_the_incident_list_names_a_playbooks_own_crisis_type_once(browse, people, django_assert_max_num_queries):
    definition = copy.deepcopy(SMALL_PLAN)
    definition["defines_crisis_types"] = [{"key": "deepfake", "name": {"en": "Deepfake video", "zh": "深度伪造视频"}}]
    install_plan(definition)
    client = browse(people.commander)
    report(people, crisis_type="deepfake")
    one = queries(client, reverse("incident-list"))
    for i in range(MANY):
        report(people, title=f"Deepfake {i}", crisis_type="deepfake")
    holds(client, reverse("incident-list"), one, django_assert_max_num_queries)
    assert client.get(reverse("incident-list")).content.decode().count("Deepfake video") == MANY + 1


def assembled(people, title: str):
    return walk_to(people, report(people, title=title), State.TEAM_ASSEMBLED)


def test_my_tasks(browse, people, plan, django_assert_max_num_queries):
    client = browse(people.legal)
    assembled(people, "First")
    one = queries(client, reverse("my-tasks"))
    for i in range(4):
        assembled(people, f"More {i}")
    assert client.get(reverse("my-tasks")).content.decode().count('class="my-task') >= 5
    holds(client, reverse("my-tasks"), one, django_assert_max_num_queries)


def test_the_board(browse, people, plan, django_assert_max_num_queries):
    # Rows are tasks here. (Each incident the commander runs adds its team panel, read
    # from the rosters: two queries per incident, see crisisflow.incidents.board.)
    client = browse(people.commander)
    incident = assembled(people, "First")
    one = queries(client, reverse("board"))
    grow(incident, people, tasks=incident.tasks.count() + 40, events=0)
    assert client.get(reverse("board")).content.decode().count('<li class="board-task') > 30
    holds(client, reverse("board"), one, django_assert_max_num_queries)


def notify(person, incident, n: int) -> None:
    now = clock.now()
    Notification.objects.bulk_create(
        Notification(
            incident=incident,
            source=f"test:{incident.pk}:{i}",
            kind="reminder",
            rung=f"rung-{i}",
            channel=Channel.IN_APP,
            recipient=person,
            target=str(person.pk),
            payload={"incident": {"title": incident.title}},
            state=Notification.State.DELIVERED,
            due_at=now - timedelta(minutes=i),
            created_at=now - timedelta(minutes=i),
            delivered_at=now,
        )
        for i in range(n)
    )


def test_the_notifications(browse, people, plan, django_assert_max_num_queries):
    client = browse(people.legal)
    incident = assembled(people, "First")
    notify(people.legal, incident, 1)
    one = queries(client, reverse("notifications"))
    other = assembled(people, "Second")
    notify(people.legal, other, MANY)
    holds(client, reverse("notifications"), one, django_assert_max_num_queries)


def test_the_rosters(browse, people, django_assert_max_num_queries):
    client = browse(people.commander)
    one = queries(client, reverse("rosters"))
    roles = ["pr", "legal", "customer_service", "tech_security", "observer", "commander"]
    for i in range(MANY):
        make_user(f"standby{i}", roles[i % len(roles)], rank="backup")
    holds(client, reverse("rosters"), one, django_assert_max_num_queries)


def test_the_playbooks(browse, people, django_assert_max_num_queries):
    client = browse(people.commander)
    install_plan()
    one = queries(client, reverse("playbooks"))
    for i in range(MANY):
        definition = copy.deepcopy(SMALL_PLAN)
        definition["key"] = f"plan-{i}"
        install_plan(definition)
    holds(client, reverse("playbooks"), one, django_assert_max_num_queries)
