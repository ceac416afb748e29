"""The database itself keeps the timeline append-only: no ORM path, raw query or admin
action changes or deletes an event, lowers a timeline's head, or deletes an incident.

Run on PostgreSQL and on SQLite (CRISISFLOW_TEST_DB=sqlite): the triggers differ."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from crisisflow.incidents import actions, append_only
from crisisflow.incidents.models import AppendOnlyError, Event, Incident, TimelineHead
from crisisflow.incidents.timeline import verify
from crisisflow.vocab import State
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan) -> Incident:
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    actions.add_note(people.pr_lead, incident, "Weibo topic at #7, mostly asking about refunds")
    return incident


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


# Each way around the model's own guard; `i` is the incident.
BYPASSES: dict[str, Callable[[Incident], object]] = {
    "base manager update": lambda i: Event._base_manager.filter(incident=i).update(data={}),
    "base manager delete": lambda i: Event._base_manager.filter(incident=i).delete(),
    "plain queryset update": lambda i: QuerySet(Event).filter(incident=i).update(kind="note"),
    "plain queryset delete": lambda i: QuerySet(Event).filter(incident=i).delete(),
    "raw delete": lambda i: Event._base_manager.filter(incident=i)._raw_delete(connection.alias),
    "base manager bulk update": lambda i: Event._base_manager.bulk_update(
        [Event._base_manager.filter(incident=i).first()], ["data"]
    ),
    "related manager update": lambda i: QuerySet(Event).filter(pk__in=i.events.values("pk")).update(seq=99),
    "SQL update": lambda i: sql("UPDATE incidents_event SET data = '{}' WHERE incident_id = %s", [i.pk]),
    "SQL delete": lambda i: sql("DELETE FROM incidents_event WHERE incident_id = %s", [i.pk]),
    "SQL delete of the last event": lambda i: sql(
        "DELETE FROM incidents_event WHERE id = (SELECT MAX(id) FROM incidents_event WHERE incident_id = %s)", [i.pk]
    ),
    "head lowered": lambda i: TimelineHead.objects.filter(incident=i).update(seq=1),
    "head lowered by SQL": lambda i: sql(
        "UPDATE incidents_timelinehead SET seq = seq - 1 WHERE incident_id = %s", [i.pk]
    ),
    "head moved to another incident": lambda i: sql(
        "UPDATE incidents_timelinehead SET incident_id = incident_id + 1000, seq = seq + 1 WHERE incident_id = %s",
        [i.pk],
    ),
    "head deleted": lambda i: TimelineHead.objects.filter(incident=i)._raw_delete(connection.alias),
    "head deleted by SQL": lambda i: sql("DELETE FROM incidents_timelinehead WHERE incident_id = %s", [i.pk]),
    "incident deleted by SQL": lambda i: sql("DELETE FROM incidents_incident WHERE id = %s", [i.pk]),
    "incident raw delete": lambda i: Incident._base_manager.filter(pk=i.pk)._raw_delete(connection.alias),
}


@pytest.mark.parametrize("bypass", BYPASSES)
def test_the_database_refuses_every_way_around_the_model(incident, bypass):
    before = list(Event._base_manager.filter(incident=incident).order_by("seq").values_list("seq", "hash", "data"))
    with pytest.raises(IntegrityError), transaction.atomic():
        BYPASSES[bypass](incident)
    after = list(Event._base_manager.filter(incident=incident).order_by("seq").values_list("seq", "hash", "data"))
    assert after == before
    assert verify(incident) is None


def test_the_models_own_guard_answers_first(incident):
    # The ordinary paths still get the readable Python error, before any SQL is sent.
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(incident=incident).update(data={})
    with pytest.raises(AppendOnlyError):
        TimelineHead.objects.get(incident=incident).delete()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="INSERT OR REPLACE is SQLite's")
def test_sqlite_insert_or_replace_cannot_overwrite_history(incident):
    # REPLACE deletes the row it replaces without firing delete triggers.
    first = Event.objects.filter(incident=incident).order_by("seq").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        sql(
            "INSERT OR REPLACE INTO incidents_event (id, incident_id, seq, at, kind, data, prev_hash, hash) "
            "SELECT id, incident_id, seq, at, kind, '{}', prev_hash, hash FROM incidents_event WHERE id = %s",
            [first.pk],
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        sql("INSERT OR REPLACE INTO incidents_timelinehead (incident_id, seq, hash) VALUES (%s, 1, 'x')", [incident.pk])
    assert verify(incident) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_postgres_truncate_is_refused(people, plan):
    # Transactional: TRUNCATE refuses to run while the test's own transaction has
    # foreign-key checks pending, which would hide what the triggers do.
    incident = report(people)
    for table in ("incidents_event", "incidents_timelinehead", "incidents_incident"):
        with pytest.raises(IntegrityError, match="cannot be deleted"):
            sql(f"TRUNCATE {table} CASCADE")
    assert verify(incident) is None


def test_every_trigger_is_installed_by_the_migrations():
    assert append_only.installed(connection) == set(append_only.trigger_names(connection))
    assert len(append_only.trigger_names(connection)) >= 7


def test_migrate_puts_back_a_trigger_a_table_rebuild_lost(incident):
    # SQLite rebuilds a table to alter it, and the rebuilt table has no triggers.
    sql(
        "DROP TRIGGER crisisflow_event_no_delete" + (" ON incidents_event" if connection.vendor == "postgresql" else "")
    )
    assert "crisisflow_event_no_delete" not in append_only.installed(connection)
    call_command("migrate", verbosity=0)
    assert append_only.installed(connection) == set(append_only.trigger_names(connection))
    with pytest.raises(IntegrityError), transaction.atomic():
        sql("DELETE FROM incidents_event WHERE incident_id = %s", [incident.pk])


def test_the_flush_between_transactional_tests_is_the_only_exception(incident):
    # The suite's flush lifts the triggers for itself alone (tests/conftest.py): here,
    # inside a test, they hold.
    assert append_only.installed(connection) == set(append_only.trigger_names(connection))


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_with_a_timeline_can_be_flushed(people, plan):
    # Committed rows, no surrounding transaction: the triggers hold here too, and the
    # flush after this test (which empties every table) still works.
    incident = report(people)
    with pytest.raises(IntegrityError):
        sql("DELETE FROM incidents_event WHERE incident_id = %s", [incident.pk])
    with pytest.raises(IntegrityError):
        Event._base_manager.filter(incident=incident).update(data={})
    assert verify(incident) is None


@pytest.mark.django_db(transaction=True)
def test_the_next_transactional_test_starts_empty_and_guarded(people):
    assert not Event.objects.exists()
    assert append_only.installed(connection) == set(append_only.trigger_names(connection))


def test_the_migration_gives_existing_timelines_their_head(incident, people):
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps

    migration = import_module("crisisflow.incidents.migrations.0006_timeline_head_and_append_only_triggers")
    other = report(people, title="Another")
    # As before the migration: events, no heads.
    append_only.uninstall(connection)
    sql("DELETE FROM incidents_timelinehead")
    append_only.install(connection)
    assert verify(incident) is not None

    migration.record_heads(apps, SimpleNamespace(connection=connection))
    for each in (incident, other):
        last = each.events.order_by("seq").last()
        assert TimelineHead.objects.filter(incident=each, seq=last.seq, hash=last.hash).exists()
        assert verify(each) is None
