"""Inserting many rows of one model with one statement, for the engine's hot paths.

`insert(objs)` does what `Model.objects.bulk_create(objs)` does for plain rows — one
INSERT, primary keys set on the objects — without the ORM's per-field machinery, which
costs more CPU than the write itself when the deadline engine fires thousands of rungs
a minute (bench/lateness.py). It reads each field's value as the model instance holds
it and converts only what the database driver cannot take as it is (JSON, and
date-times on SQLite); a field of any other type goes through Django's own
`get_db_prep_save`. Only for models without save() logic, signals or auto_now fields
(the outbox and the timeline): nothing here calls save() or sends signals, exactly as
bulk_create does not."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db import connection, models

# Field types whose values the driver takes as the instance holds them.
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)

# Placeholders per statement: SQLite allows 32,766 host parameters; PostgreSQL 65,535.
MAX_PARAMS = 30_000


@cache
def _plan(model: type[models.Model], vendor: str) -> tuple[str, list[tuple[str, Callable[[Any], Any] | None]]] | None:
    """The statement's head and each column's converter; None for a model this module
    must leave to bulk_create (a field that fills itself in on save)."""
    if any(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in model._meta.concrete_fields):
        return None
    quote = connection.ops.quote_name
    columns = []
    converters: list[tuple[str, Callable[[Any], Any] | None]] = []
    for field in model._meta.concrete_fields:
        if field.primary_key and isinstance(field, models.AutoField):
            continue
        columns.append(quote(field.column))
        converters.append((field.attname, _converter(field)))
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) VALUES "
    return head, converters


def _converter(field: models.Field) -> Callable[[Any], Any] | None:
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda value: connection.ops.adapt_json_value(value, encoder)
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        return lambda value: adapt(value) if value is not None else None
    if isinstance(field, _AS_IS):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def insert(objs: Sequence[models.Model]) -> None:
    """Write `objs` (unsaved instances of one model) and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    plan = _plan(model, connection.vendor) if connection.features.can_return_rows_from_bulk_insert else None
    if plan is None:
        model._default_manager.bulk_create(objs)
        return
    head, converters = plan
    if connection.vendor == "postgresql":
        _copy(model, objs, converters)
        return
    pk = connection.ops.quote_name(model._meta.pk.column)
    row_marks = "(" + ", ".join(["%s"] * len(converters)) + ")"
    per_statement = max(1, MAX_PARAMS // len(converters))
    for start in range(0, len(objs), per_statement):
        batch = objs[start : start + per_statement]
        params: list[Any] = []
        for obj in batch:
            values = obj.__dict__
            for attname, convert in converters:
                value = values[attname]
                params.append(convert(value) if convert is not None else value)
        sql = f"{head}{', '.join([row_marks] * len(batch))} RETURNING {pk}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = [row[0] for row in cursor.fetchall()]
        for obj, pk_value in zip(batch, ids, strict=True):
            obj.pk = pk_value
            obj._state.adding = False
            obj._state.db = connection.alias


def _copy(model: type[models.Model], objs: Sequence[models.Model], converters) -> None:
    """PostgreSQL: take the ids from the table's sequence (one query), then send the rows
    with COPY, which the driver formats in C; an INSERT with thousands of placeholders
    costs more to parse on the client than to run."""
    quote = connection.ops.quote_name
    table = model._meta.db_table
    pk = model._meta.pk.column
    columns = ", ".join([quote(pk)] + [quote(model._meta.get_field(attname).column) for attname, _ in converters])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, len(objs)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for obj, pk_value in zip(objs, ids, strict=True):
                values = obj.__dict__
                copy.write_row(
                    [pk_value]
                    + [
                        convert(values[attname]) if convert is not None else values[attname]
                        for attname, convert in converters
                    ]
                )
    for obj, pk_value in zip(objs, ids, strict=True):
        obj.pk = pk_value
        obj._state.adding = False
        obj._state.db = connection.alias
