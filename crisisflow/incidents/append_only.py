"""The database's own guard over history: triggers that keep the timeline append-only.

The Event model refuses save()/delete() on old rows and its queryset refuses update()
and delete(), but Python can always go around Python (`Event._base_manager`,
`QuerySet(Event).update()`, `_raw_delete`, a cursor). These triggers make PostgreSQL
and SQLite themselves refuse:

- any UPDATE or DELETE of a timeline event (and on SQLite an INSERT OR REPLACE over
  one, which deletes without firing delete triggers; on PostgreSQL a TRUNCATE);
- moving an incident's timeline head (the last event's number and hash) backwards or
  onto another incident, or deleting it (TRUNCATE too);
- deleting an incident (TRUNCATE too): its timeline would go with it.

Only someone allowed to change the schema (DROP TRIGGER, or a PostgreSQL superuser
switching triggers off) gets past them; `verify_timeline` is the check for that case.

The migration that creates the head table installs the triggers; `install()` is also
run after every `migrate` (see apps.py), because SQLite rebuilds a table to alter it and
a rebuilt table has lost its triggers.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

EVENT_TABLE = "incidents_event"
HEAD_TABLE = "incidents_timelinehead"
INCIDENT_TABLE = "incidents_incident"

CHANGED = "timeline events cannot be changed; add a correcting event"
DELETED = "timeline events cannot be deleted"
HEAD_BACK = "a timeline head only moves forward"
HEAD_DELETED = "a timeline head cannot be deleted"
INCIDENT_DELETED = "incidents cannot be deleted: their timeline is history"

_POSTGRES_FUNCTIONS = [
    # Raises the message given as the trigger's argument. restrict_violation is an
    # integrity error (SQLSTATE 23001), so Django raises IntegrityError as on SQLite.
    """
    CREATE OR REPLACE FUNCTION crisisflow_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION crisisflow_timeline_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.incident_id <> OLD.incident_id OR NEW.seq <= OLD.seq THEN
            RAISE EXCEPTION '{HEAD_BACK}' USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
]


def _pg_refuse(name: str, when: str, table: str, level: str, message: str) -> tuple[str, str, str]:
    sql = f"CREATE TRIGGER {name} {when} ON {table} FOR EACH {level} EXECUTE FUNCTION crisisflow_refuse('{message}')"
    return name, table, sql


_POSTGRES_TRIGGERS = [
    _pg_refuse("crisisflow_event_no_update", "BEFORE UPDATE", EVENT_TABLE, "ROW", CHANGED),
    _pg_refuse("crisisflow_event_no_delete", "BEFORE DELETE", EVENT_TABLE, "ROW", DELETED),
    _pg_refuse("crisisflow_event_no_truncate", "BEFORE TRUNCATE", EVENT_TABLE, "STATEMENT", DELETED),
    (
        "crisisflow_head_forward",
        HEAD_TABLE,
        f"CREATE TRIGGER crisisflow_head_forward BEFORE UPDATE ON {HEAD_TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION crisisflow_timeline_head_forward()",
    ),
    _pg_refuse("crisisflow_head_no_delete", "BEFORE DELETE", HEAD_TABLE, "ROW", HEAD_DELETED),
    _pg_refuse("crisisflow_head_no_truncate", "BEFORE TRUNCATE", HEAD_TABLE, "STATEMENT", HEAD_DELETED),
    _pg_refuse("crisisflow_incident_no_delete", "BEFORE DELETE", INCIDENT_TABLE, "ROW", INCIDENT_DELETED),
    _pg_refuse("crisisflow_incident_no_truncate", "BEFORE TRUNCATE", INCIDENT_TABLE, "STATEMENT", INCIDENT_DELETED),
]


def _sqlite_refuse(name: str, when: str, table: str, message: str, condition: str = "") -> tuple[str, str, str]:
    where = f" WHEN {condition}" if condition else ""
    sql = f"CREATE TRIGGER IF NOT EXISTS {name} {when} ON {table}{where} BEGIN SELECT RAISE(ABORT, '{message}'); END"
    return name, table, sql


_SQLITE_TRIGGERS = [
    _sqlite_refuse("crisisflow_event_no_update", "BEFORE UPDATE", EVENT_TABLE, CHANGED),
    _sqlite_refuse("crisisflow_event_no_delete", "BEFORE DELETE", EVENT_TABLE, DELETED),
    # INSERT OR REPLACE deletes the row it replaces without firing delete triggers.
    _sqlite_refuse(
        "crisisflow_event_no_replace",
        "BEFORE INSERT",
        EVENT_TABLE,
        CHANGED,
        f"EXISTS (SELECT 1 FROM {EVENT_TABLE} WHERE id = NEW.id OR (incident_id = NEW.incident_id AND seq = NEW.seq))",
    ),
    _sqlite_refuse(
        "crisisflow_head_forward",
        "BEFORE UPDATE",
        HEAD_TABLE,
        HEAD_BACK,
        "NEW.incident_id <> OLD.incident_id OR NEW.seq <= OLD.seq",
    ),
    _sqlite_refuse("crisisflow_head_no_delete", "BEFORE DELETE", HEAD_TABLE, HEAD_DELETED),
    _sqlite_refuse(
        "crisisflow_head_no_replace",
        "BEFORE INSERT",
        HEAD_TABLE,
        HEAD_BACK,
        f"EXISTS (SELECT 1 FROM {HEAD_TABLE} WHERE incident_id = NEW.incident_id)",
    ),
    _sqlite_refuse("crisisflow_incident_no_delete", "BEFORE DELETE", INCIDENT_TABLE, INCIDENT_DELETED),
]


def trigger_names(connection: BaseDatabaseWrapper) -> list[str]:
    """The guard's triggers for this database (empty for a database we do not guard)."""
    return [name for name, _, _ in _triggers(connection)]


def installed(connection: BaseDatabaseWrapper) -> set[str]:
    """Which of the guard's triggers the database has now."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            return set()
        present = {row[0] for row in cursor.fetchall()}
    return present & set(trigger_names(connection))


def install(connection: BaseDatabaseWrapper) -> None:
    """Create whichever of the triggers are missing (idempotent)."""
    present = installed(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in _POSTGRES_FUNCTIONS:
                cursor.execute(sql)
        for name, _, sql in _triggers(connection):
            if name not in present:
                cursor.execute(sql)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    """Drop the triggers (the migration's way back, and the test suite's flush)."""
    with connection.cursor() as cursor:
        for name, table, _ in _triggers(connection):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION IF EXISTS crisisflow_refuse()")
            cursor.execute("DROP FUNCTION IF EXISTS crisisflow_timeline_head_forward()")


def install_if_migrated(connection: BaseDatabaseWrapper) -> None:
    """After `migrate`: put back any trigger a table rebuild dropped, once the head
    table exists (before that migration, or after migrating back past it, nothing)."""
    if HEAD_TABLE in connection.introspection.table_names():
        install(connection)


def _triggers(connection: BaseDatabaseWrapper) -> list[tuple[str, str, str]]:
    if connection.vendor == "postgresql":
        return _POSTGRES_TRIGGERS
    if connection.vendor == "sqlite":
        return _SQLITE_TRIGGERS
    return []
