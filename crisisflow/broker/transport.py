"""The embedded broker's kombu transport (see crisisflow/broker/__init__.py for why)."""

from __future__ import annotations

import os
import threading
from json import dumps, loads
from queue import Empty
from types import SimpleNamespace

from kombu.transport import sqlalchemy as kombu_sqlalchemy
from kombu.utils.encoding import bytes_to_str
from sqlalchemy import create_engine, delete, event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

# How long a statement waits for another process's write lock before it gives up (an
# OperationalError, which kombu treats as a lost connection and retries).
BUSY_TIMEOUT_SECONDS = 30.0

# Threads of one process (the web server's) opening the first connection at once.
_ENGINES_LOCK = threading.Lock()


def _use_wal(dbapi_connection, _record) -> None:
    # WAL lets readers go on while one process writes; NORMAL syncing is what SQLite
    # recommends with it (a power cut may lose the last messages, never the file).
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Channel(kombu_sqlalchemy.Channel):
    # This process's engines, by URL. A child forked from a process that had some
    # leaves its parent's alone (see _after_fork below).
    _engines: dict = {}

    def __init__(self, connection, **kwargs) -> None:
        self._queue_ids: dict[str, int] = {}
        super().__init__(connection, **kwargs)

    def _engine_from_config(self) -> Engine:
        # isolation_level=None: the driver begins no transaction of its own; the only
        # multi-statement transaction is the claim below, and it says BEGIN IMMEDIATE.
        engine = create_engine(
            self.connection.client.hostname,
            connect_args={"isolation_level": None, "timeout": BUSY_TIMEOUT_SECONDS},
        )
        event.listen(engine, "connect", _use_wal)
        return engine

    def _open(self):
        url = self.connection.client.hostname
        with _ENGINES_LOCK:
            if url not in self._engines:
                engine = self._engine_from_config()
                with engine.connect() as connection:
                    # Under the write lock: another process creating the tables in the
                    # same instant waits, then finds them there.
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                    kombu_sqlalchemy.metadata.create_all(connection)
                    connection.commit()
                self._engines[url] = engine, sessionmaker(bind=engine)
            return self._engines[url]

    def _get_or_create(self, queue: str) -> SimpleNamespace:
        """The queue's row id, creating the row if needed; several processes may ask
        for the same new queue at once."""
        if queue not in self._queue_ids:
            table = self.queue_cls.__table__
            session = self.session
            session.execute(insert(table).prefix_with("OR IGNORE").values(name=queue))
            queue_id = session.execute(select(table.c.id).where(table.c.name == queue)).scalar_one()
            session.commit()
            self._queue_ids[queue] = queue_id
        return SimpleNamespace(id=self._queue_ids[queue], name=queue)

    def _put(self, queue: str, payload: dict, **kwargs) -> None:
        queue_id = self._get_or_create(queue).id
        session = self.session
        try:
            session.execute(
                insert(self.message_cls.__table__).values(queue_id=queue_id, payload=dumps(payload), visible=True)
            )
        finally:
            session.commit()

    def _get(self, queue: str) -> dict:
        queue_id = self._get_or_create(queue).id
        table = self.message_cls.__table__
        first = (
            select(table.c.id, table.c.payload)
            .where(table.c.queue_id == queue_id, table.c.visible.is_(True))
            .order_by(table.c.id)
            .limit(1)
        )
        session = self.session
        try:
            # Most polls find nothing: look without taking the write lock first.
            if session.execute(first).first() is None:
                raise Empty()
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            # Again under the lock: another consumer may have taken it meanwhile.
            row = session.execute(first).first()
            if row is None:
                raise Empty()
            session.execute(delete(table).where(table.c.id == row.id))
            return loads(bytes_to_str(row.payload))
        finally:
            session.commit()


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel


def _after_fork() -> None:
    # SQLite connections must not cross a fork. The child keeps its parent's engines
    # referenced (so no connection of the parent's is closed from here) and opens its own.
    _inherited_engines.extend(Channel._engines.values())
    Channel._engines.clear()


_inherited_engines: list = []
os.register_at_fork(after_in_child=_after_fork)
