"""The groundhog database: one SQLAlchemy engine, SQLite's file in the home or PostgreSQL at `database_url`.

Every store (queue, sessions, questions, ...) takes a `Database` and writes through `begin()`, so a
decision is either wholly on disk or not. `begin()` inside an open transaction of the same thread is a
SAVEPOINT: the inner block rolls back alone on error and otherwise commits with the outer one, so a store
method that writes can be called on its own or as part of a caller's larger transaction (a day's row and
its queue items). Reads through `connect()` see the thread's open transaction, if any. Each thread gets
its own connection from the engine's pool. A locked, corrupt, unwritable or unreachable database raises
StoreError naming it, at BEGIN, in the block or at COMMIT.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Table
    from sqlalchemy.exc import DBAPIError

DB_FILENAME = "groundhog.db"

# An execution option of read connections: on SQLite they issue no BEGIN IMMEDIATE (store/sqlite.py), so
# the review screen reads while a night writes.
READ = "groundhog_read"

Translate = Callable[["DBAPIError"], Exception | None]


class Database:
    """An engine, where it points (for messages) and how its driver's errors read as one line."""

    def __init__(self, engine: Engine, where: str, translate: Translate) -> None:
        self.engine = engine
        self._reader = engine.execution_options(**{READ: True})  # the pool's, with the option set once
        self.where = where
        self._translate = translate
        self._local = threading.local()

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return str(self.engine.dialect.name)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """A driver error a user can meet becomes one StoreError line naming the database."""
        from sqlalchemy.exc import DBAPIError

        try:
            yield
        except DBAPIError as err:
            translated = self._translate(err)
            if translated is None:
                raise
            raise translated from err

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE), or a savepoint inside this thread's open one."""
        outer: Connection | None = getattr(self._local, "conn", None)
        if outer is not None:
            with self.errors(), outer.begin_nested():
                yield outer
            return
        with self.errors(), self.engine.begin() as conn:
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection to read on: this thread's open transaction, or one that takes no write lock."""
        outer: Connection | None = getattr(self._local, "conn", None)
        if outer is not None:
            with self.errors():
                yield outer
            return
        with self.errors(), self._reader.connect() as conn:
            yield conn

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    def insert(self, table: Table) -> Any:
        """The dialect's own INSERT, which has `on_conflict_do_nothing/do_update`."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    def describe(self) -> dict[str, Any]:
        """Where it is, the schema revision and the journal mode (for `doctor`)."""
        from groundhog.store.migrate import current_revision

        with self.connect() as conn:
            revision = current_revision(conn)
            journal = (
                str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()) if self.dialect == "sqlite" else "postgresql"
            )
        return {"where": self.where, "schema": revision, "journal": journal}

    def close(self) -> None:
        self.engine.dispose()


def open_store(home: Path, database_url: str | None = None) -> Database:
    """The database the settings choose: PostgreSQL when `database_url` is set, else the SQLite file in
    the home; its schema brought up to date either way."""
    if database_url:
        from groundhog.store.postgres import open_postgres

        return open_postgres(database_url)
    from groundhog.store.sqlite import open_sqlite

    return open_sqlite(Path(home) / DB_FILENAME)
