"""Schemathesis against the API, in-process (WSGI), as a signed-in commander.

For every operation of /api/schema/, Hypothesis generates requests from the schema and
each answer is checked: never a 5xx, and the status code, content type and body are the
ones the schema describes. Path parameters are drawn both from what the schema allows
and from a small seeded dataset (incidents in a few states, their tasks, team, evidence,
notifications, the playbook), so the calls reach real objects and not only 404s.

Bounded and deterministic: a fixed number of examples per operation, derandomized, no
example database.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from django.utils import translation
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from crisisflow.alerts.sweep import sweep
from crisisflow.evidence import actions as evidence
from crisisflow.incidents import actions
from crisisflow.statements import drafting, versions
from crisisflow.vocab import State
from tests.conftest import T0, Personas, install_plan, make_user
from tests.flows import report, walk_to
from tests.test_evidence__sniff import png

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def in_process():
    """Requests go to the WSGI app in this thread, on the test's own database connection
    (inside its transaction): Django must not close that connection around each request,
    as it does for a real server. Its test client does the same."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def seed(people: Personas, plan) -> dict[str, list]:
    """A small world: incidents reported, assembled (with a restricted one), closed, a
    comment, evidence, notifications. Returns real values for each path parameter."""
    with time_machine.travel(T0, tick=False):
        reported = report(people, title="Complaints surge on Weibo")
        assembled = walk_to(people, report(people), State.TEAM_ASSEMBLED)
        secret = walk_to(people, report(people, title="Quiet leak", restricted=True), State.CONFIRMED)
        closed = walk_to(people, report(people, title="Old outage"), State.CLOSED)
        statement = assembled.tasks.get(key="holding-statement")
        actions.add_task_comment(people.commander, statement, "Draft ready for legal")
        attachment = evidence.attach(people.commander, assembled, SimpleUploadedFile("post.png", png()), "post")
        drafted = drafting.draft_message_set(people.commander, assembled, language="en")
        versions.save_version(people.commander, drafted[0], title="", body="Second version.", expected_version=1)
    with time_machine.travel(T0 + timedelta(hours=3, minutes=31), tick=False):
        sweep()  # overdue tasks: notifications for the commander
    return {
        "reference": [i.reference for i in (reported, assembled, secret, closed)],
        "task_id": list(assembled.tasks.order_by("position").values_list("pk", flat=True)[:4]),
        "member_id": list(assembled.team.order_by("pk").values_list("pk", flat=True)[:3]),
        "attachment_id": [attachment.pk],
        "notification_id": list(people.commander.notifications.order_by("pk").values_list("pk", flat=True)[:3]),
        "key": [plan.playbook.key],
        "user": [people.commander.pk, people.pr_member.pk, people.legal.pk, people.observer.pk],
        "statement_id": [s.pk for s in drafted],
        "number": [1, 2],
    }


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """Made once for all the operations, in a transaction rolled back at the end; each
    operation's test runs in a savepoint inside it, so what one operation changes (a
    step taken, a task assigned) is undone before the next starts from the same world."""
    media = tmp_path_factory.mktemp("media")
    with override_settings(MEDIA_ROOT=media), django_db_blocker.unblock(), transaction.atomic():
        with translation.override("en"):
            people = Personas(
                commander=make_user("commander", "commander"),
                pr_lead=make_user("prlead", "pr"),
                pr_member=make_user("prmember", "pr", rank="backup"),
                legal=make_user("legal", "legal"),
                cs=make_user("cs", "customer_service"),
                executive=make_user("exec", "executive"),
                observer=make_user("observer", "observer"),
                outsider=make_user("outsider"),
            )
            world = seed(people, install_plan())
        yield world
        transaction.set_rollback(True)


# Loaded once, when the tests are collected: the schema needs no database. (Loading it
# from a fixture, schemathesis.pytest.from_fixture, fails on this pytest version:
# it sets the private Function._nodeid, which pytest 9 no longer has.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), headers={"Accept-Language": "en"})
# The seeded world of the test being run (see `world`); read while cases are drawn.
WORLD: dict[str, list] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    # Mostly the real objects of the seeded world, sometimes what the schema allows.
    if not path_parameters:
        return st.just(path_parameters)
    real = st.fixed_dictionaries(
        {
            name: st.sampled_from(WORLD[name]) if WORLD.get(name) else st.just(value)
            for name, value in path_parameters.items()
        }
    )
    return st.one_of(real, real, real, st.just(path_parameters))


@schema.hook
def flatmap_body(context, body):
    # People who exist (to assign, hand over to, add to the team), and sometimes no
    # version at all, so that changes can go through and not only be refused.
    if not isinstance(body, dict):
        return st.just(body)
    drawn = {}
    for name, value in body.items():
        if name in ("assignee", "commander", "user") and WORLD.get("user"):
            drawn[name] = st.one_of(st.sampled_from(WORLD["user"]), st.just(value))
        elif name == "expected_version":
            drawn[name] = st.one_of(st.none(), st.just(value))
        else:
            drawn[name] = st.just(value)
    return st.fixed_dictionaries(drawn)


@pytest.fixture
def world(in_process, seeded, db):
    WORLD.clear()
    WORLD.update(seeded)
    yield WORLD
    WORLD.clear()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, world):
    credentials = base64.b64encode(b"commander:pw-commander").decode()
    case.call_and_validate(headers={"Authorization": f"Basic {credentials}"}, checks=CHECKS)
