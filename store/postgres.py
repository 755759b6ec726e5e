"""PostgreSQL (`database_url = "postgresql://..."`) behind the same connection API the stores use on SQLite.

`PgConnection` offers the part of `sqlite3.Connection` that core/loop/review use: `execute(sql, params)`
returning a cursor (`fetchone`, `fetchall`, iteration, `rowcount`, `lastrowid`), rows addressable by index
and by column name like `sqlite3.Row`, `executemany`, `in_transaction`, `commit`, `rollback`, `close`.
The SQL the code writes (SQLite's dialect) is translated on the way (`core/pg_sql.py`), so a store is
written once. `transaction()` in core/db.py works unchanged: its BEGIN/SAVEPOINT/COMMIT run here as SQL.

Connection failures are one line naming `database_url` (BadInput, exit 2) when opening, before any work
starts. A connection lost later (a restarted server) is reopened on the next statement outside a
transaction, retrying for `RECONNECT_S` seconds, and the advisory locks it held are taken again; one lost
inside a transaction raises StoreError (nothing of that transaction was committed), and the statement
after it reconnects. psycopg is imported here only, lazily, so `groundhog --help` stays instant.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from groundhog.core.errors import BadInput, StoreError
from groundhog.core.pg_sql import LOCK_CLASS, lock_key, translate, translate_params

SETTING = "database_url"
CONNECT_TIMEOUT_S = 5
RECONNECT_S = 30.0


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        user = (parts.username or "") + ":***"
        return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))
    except ValueError:
        return "<unparsable URL>"


def check_url(url: str) -> None:
    if not url.startswith(("postgresql://", "postgres://")):
        raise BadInput(f"{SETTING}: '{redact(url)}' is not a PostgreSQL URL (expected postgresql://USER@HOST:PORT/DB)")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):  # SUM() over integers is numeric in PostgreSQL
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bool):
        return int(value)
    return value


class Row(tuple):  # type: ignore[type-arg]
    """A result row: by position and by column name, like sqlite3.Row."""

    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


_ROW_CLASSES: dict[tuple[str, ...], type[Row]] = {}


def _row_class(names: tuple[str, ...]) -> type[Row]:
    cls = _ROW_CLASSES.get(names)
    if cls is None:
        cls = type("Row", (Row,), {"_index": {n: i for i, n in enumerate(names)}})
        _ROW_CLASSES[names] = cls
    return cls


def _row_factory(cursor: Any) -> Any:
    names = tuple(d.name for d in cursor.description or ())
    cls = _row_class(names)
    return lambda values: cls(_plain(v) for v in values)


class Cursor:
    """What `execute` returns: the rows already fetched, so a dropped connection cannot strand them."""

    def __init__(self, rows: list[Row], rowcount: int, lastrowid: int | None = None) -> None:
        self._rows = rows
        self._pos = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Any:  # a Row, or None (Any, as sqlite3 types it)
        if self._pos >= len(self._rows):
            return None
        self._pos += 1
        return self._rows[self._pos - 1]

    def fetchall(self) -> list[Row]:
        rest, self._pos = self._rows[self._pos :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Row]:
        while (row := self.fetchone()) is not None:
            yield row


class PgConnection:
    dialect = "postgresql"

    def __init__(self, url: str, *, reconnect_s: float | None = None) -> None:
        check_url(url)
        self.url = url
        self.where = redact(url)
        self.reconnect_s = RECONNECT_S if reconnect_s is None else reconnect_s
        self.locks: set[int] = set()  # advisory locks held: taken again after a reconnect
        self._conn = self._connect()

    def _connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        conn.row_factory = _row_factory
        return conn

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def _broken(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._conn.closed or self._conn.info.transaction_status == TransactionStatus.UNKNOWN

    def _reconnect(self, why: Exception) -> None:
        """Open a new connection, retrying while the server comes back; re-take the advisory locks."""
        import psycopg

        deadline = time.monotonic() + self.reconnect_s
        while True:
            try:
                conn = self._connect()
                break
            except psycopg.OperationalError as err:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"{SETTING}: lost the connection to {self.where} and could not reconnect within "
                        f"{self.reconnect_s:g}s ({_first_line(err)})"
                    ) from why
                time.sleep(0.5)
        with contextlib.suppress(Exception):
            self._conn.close()
        self._conn = conn
        for key in sorted(self.locks):
            got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, key)).fetchone()[0]
            if not got:
                self.locks.discard(key)
                raise StoreError(
                    f"{SETTING}: reconnected to {self.where}, but another process took this session's lock meanwhile"
                )

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Cursor:
        query, returning_id = translate(sql, params is not None and len(params) > 0)
        args = translate_params(params)
        return self._run(lambda conn: _fetch(conn.execute(query, args), returning_id))

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Cursor:
        query, _ = translate(sql, True)
        rows = [translate_params(p) for p in seq]

        def go(conn: Any) -> Cursor:
            with conn.cursor() as cur:
                cur.executemany(query, rows)
                return Cursor([], cur.rowcount)

        return self._run(go)

    def _run(self, work: Any) -> Cursor:
        import psycopg

        was_in_transaction = self.in_transaction
        try:
            return work(self._conn)
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            if not self._broken():
                raise StoreError(f"{SETTING}: {self.where}: {_first_line(err)}") from err
            if was_in_transaction:
                raise StoreError(
                    f"{SETTING}: lost the connection to {self.where} mid-transaction ({_first_line(err)}); "
                    "nothing of it was committed"
                ) from err
            self._reconnect(err)
            return work(self._conn)

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self.locks.clear()
        self._conn.close()

    # -- advisory locks: one per session, held by this connection --

    def try_lock(self, name: str) -> bool:
        """Take the advisory lock `name`; False when another connection, or this one already, holds it."""
        key = lock_key(name)
        if key in self.locks:  # PostgreSQL's locks nest per connection; ours do not
            return False
        got = bool(self.execute("SELECT pg_try_advisory_lock(?, ?)", (LOCK_CLASS, key)).fetchone()[0])
        if got:
            self.locks.add(key)
        return got

    def unlock(self, name: str) -> None:
        key = lock_key(name)
        if key in self.locks:
            self.locks.discard(key)
            with contextlib.suppress(StoreError):  # the connection is gone, and the lock with it
                self.execute("SELECT pg_advisory_unlock(?, ?)", (LOCK_CLASS, key))

    def is_locked(self, name: str) -> bool:
        """Whether some connection (this one included) holds the advisory lock `name`."""
        key = lock_key(name)
        if key in self.locks:
            return True
        row = self.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid::bigint = ? AND objid::bigint = ?",
            (LOCK_CLASS, key & 0xFFFFFFFF),
        ).fetchone()
        return bool(row[0])


def _fetch(cur: Any, returning_id: bool) -> Cursor:
    rows = cur.fetchall() if cur.description is not None else []
    lastrowid = int(rows[0][0]) if returning_id and rows else None
    return Cursor(rows, cur.rowcount, lastrowid)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def open_pg(url: str, *, reconnect_s: float | None = None) -> PgConnection:
    """Connect and bring the schema up to date; BadInput naming `database_url` when that fails."""
    import psycopg

    check_url(url)
    try:
        conn = PgConnection(url, reconnect_s=reconnect_s)
    except psycopg.Error as err:
        raise BadInput(f"{SETTING}: cannot connect to {redact(url)}: {_first_line(err)}") from err
    try:
        from groundhog.core.pg_schema import migrate

        migrate(conn)
    except psycopg.Error as err:
        conn.close()
        raise BadInput(f"{SETTING}: {redact(url)}: {_first_line(err)}") from err
    except BaseException:
        conn.close()
        raise
    return conn
