"""The SQLite file `<home>/groundhog.db`: the embedded default, with its durability and its refusals.

Pragmas on every connection: foreign keys on; `synchronous=FULL`, so a decision survives a crash (power
loss included) right after it is made, at one fsync per commit, which human-paced writes never notice;
a busy timeout. The file is in WAL mode, so the review screen reads while the loop writes. Writes begin
with BEGIN IMMEDIATE (SQLAlchemy's documented pysqlite recipe: the driver's own BEGIN off, ours on the
engine's `begin` event), so a busy database fails at the start, after the timeout, not halfway through;
reads take no lock.

An existing file is never deleted or recreated: one that is not ours (the `application_id` mark), is
corrupt, is locked past the timeout, is unwritable or was written by a newer groundhog raises StoreError
naming it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundhog.core.errors import BadInput, StoreError
from groundhog.store.database import READ, Database

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.exc import DBAPIError

# 'GRDH': marks the file as ours, so a stranger's SQLite file is refused instead of being migrated.
APPLICATION_ID = 0x47524448

DEFAULT_TIMEOUT_S = 5.0

# Primary SQLite result codes (the low byte of an extended code).
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_UNWRITABLE = {3, 8, 10, 13, 14}  # PERM, READONLY, IOERR, FULL, CANTOPEN


def corrupt(path: Path | str) -> StoreError:
    return StoreError(f"{path} is not a groundhog database or is corrupt; move it aside, it will not be recreated")


def translate(err: DBAPIError, path: Path | str) -> Exception | None:
    """One clear line for the failures a user can meet; None for anything else (a bug: it stays as it is)."""
    code = (getattr(err.orig, "sqlite_errorcode", None) or 0) & 0xFF
    if code in _BUSY:
        return StoreError(f"{path} is locked by another groundhog process; try again when it finishes")
    if code in _CORRUPT:
        return corrupt(path)
    if code in _UNWRITABLE:
        return StoreError(f"cannot use {path}: {err.orig}")
    return None


def _check_home(path: Path) -> None:
    home = path.parent
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInput(f"cannot create the groundhog home {home}: {err.strerror or err}") from err
    if not home.is_dir() or not os.access(home, os.W_OK | os.X_OK):
        raise BadInput(f"the groundhog home {home} is not a writable directory")
    if path.exists() and not path.is_file():
        raise BadInput(f"{path} exists and is not a file")


def sqlite_engine(path: Path, timeout: float = DEFAULT_TIMEOUT_S) -> Any:
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": timeout})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no BEGIN behind our back: `begin` below issues it
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if not conn.get_execution_options().get(READ):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def ownership(conn: Connection) -> tuple[bool, int]:
    """(ours, user_version): ours when it carries our application id, or when it is still empty."""
    app_id = int(conn.exec_driver_sql("PRAGMA application_id").scalar() or 0)
    version = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    if app_id == APPLICATION_ID:
        return True, version
    if app_id != 0:
        return False, version
    objects = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
    return version == 0 and objects == 0, version


def mark(conn: Connection, version: int) -> None:
    """Our application id and the header version an earlier groundhog checks (see store/migrate.py)."""
    # PRAGMA takes no parameters; both values are integers from this package, never user input.
    conn.exec_driver_sql(f"PRAGMA application_id = {int(APPLICATION_ID)}")
    conn.exec_driver_sql(f"PRAGMA user_version = {int(version)}")


def open_sqlite(path: Path, *, timeout: float = DEFAULT_TIMEOUT_S) -> Database:
    """Open (creating if absent) the groundhog database file and bring its schema up to date."""
    from groundhog.store.migrate import migrate

    path = Path(path)
    _check_home(path)
    db = Database(sqlite_engine(path, timeout), str(path), lambda err: translate(err, path))
    try:
        with db.connect() as conn:
            # Reading the header first: a file that is not a database fails here, before any write.
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
            if not ownership(conn)[0]:
                raise corrupt(path)
            conn.exec_driver_sql("PRAGMA journal_mode = WAL").scalar()
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db
