"""The SQLite file `<home>/groundhog.db`: the review queue and the session state.

Every connection comes from `open_db`, which sets the pragmas, checks that the file is ours and brings
its schema up to date. Writes go through `transaction`, so a decision is either wholly on disk or not.

Adding a migration
------------------
Append `(next_version, sql_script)` to `MIGRATIONS` in `core/migrations.py`; never edit or reorder an
entry that has shipped, because databases in the field already carry its version. Versions are
consecutive integers starting at 1.
A script may hold several statements separated by `;` (triggers included). `open_db` applies each pending
script in its own `BEGIN IMMEDIATE` transaction together with `PRAGMA user_version = version`, so a script
that fails leaves the database at the version before it. Scripts must not contain BEGIN/COMMIT themselves.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from groundhog.core.errors import BadInput, StoreError
from groundhog.core.migrations import MIGRATIONS  # re-exported: `from groundhog.core.db import MIGRATIONS`

DB_FILENAME = "groundhog.db"

# 'GRDH': marks the file as ours, so a stranger's SQLite file is refused instead of being migrated.
APPLICATION_ID = 0x47524448

DEFAULT_TIMEOUT_S = 5.0

# Primary SQLite result codes (the low byte of an extended code).
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_UNWRITABLE = {3, 8, 10, 13, 14}  # PERM, READONLY, IOERR, FULL, CANTOPEN


def latest_version() -> int:
    """The schema version this code writes: the last migration's."""
    return MIGRATIONS[-1][0] if MIGRATIONS else 0


def _corrupt(path: Path | str) -> StoreError:
    return StoreError(
        f"{path} is not a groundhog database or is corrupt; move it aside, it will not be recreated"
    )


def _translate(err: sqlite3.Error, path: Path | str) -> Exception:
    """One clear line for the failures a user can meet; anything else is a bug and stays as it is."""
    code = (getattr(err, "sqlite_errorcode", None) or 0) & 0xFF
    if code in _BUSY:
        return StoreError(f"{path} is locked by another groundhog process; try again when it finishes")
    if code in _CORRUPT:
        return _corrupt(path)
    if code in _UNWRITABLE:
        return StoreError(f"cannot use {path}: {err}")
    return err


def db_path(conn: sqlite3.Connection) -> str:
    """The file behind a connection, for error messages."""
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main":
            return str(row[2]) or ":memory:"
    return "the groundhog database"


@contextmanager
def store_errors(conn: sqlite3.Connection, where: Path | str | None = None) -> Iterator[None]:
    """Turn a locked, corrupt or unwritable database into a StoreError naming the file (or `where`)."""
    try:
        yield
    except sqlite3.Error as err:
        translated = _translate(err, where if where is not None else _safe_db_path(conn))
        if translated is err:
            raise
        raise translated from err


def _safe_db_path(conn: sqlite3.Connection) -> str:
    try:
        return db_path(conn)
    except sqlite3.Error:
        return "the groundhog database"


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises.

    IMMEDIATE takes the write lock up front, so a busy database fails at the start (after the busy
    timeout) rather than halfway through. Inside an open transaction this becomes a SAVEPOINT: the inner
    block rolls back alone on error and otherwise commits with the outer one, so helpers that write can
    be called both on their own and as part of a caller's larger transaction. A locked, corrupt or
    unwritable database, at BEGIN, in the block or at COMMIT, raises StoreError naming the file.
    """
    with _transaction(conn, None):
        yield conn


@contextmanager
def _transaction(conn: sqlite3.Connection, where: Path | None) -> Iterator[sqlite3.Connection]:
    with store_errors(conn, where):
        if conn.in_transaction:
            conn.execute("SAVEPOINT groundhog_nested")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK TO groundhog_nested")
                conn.execute("RELEASE groundhog_nested")
                raise
            conn.execute("RELEASE groundhog_nested")
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _statements(script: str) -> Iterator[str]:
    """Split a script into complete statements (semicolons inside strings or triggers stay put)."""
    buf = ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\r\n;"):
                yield buf
            buf = ""
    if buf.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:80]!r}")


def _check_versions() -> None:
    versions = [v for v, _ in MIGRATIONS]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"MIGRATIONS must be numbered 1, 2, 3, ... in order; got {versions}")


def _is_ours(conn: sqlite3.Connection) -> bool:
    """Ours when it carries our application id, or when it is still empty (a new file)."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id == APPLICATION_ID:
        return True
    if app_id != 0:
        return False
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return version == 0 and objects == 0


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply every pending migration, each in its own transaction with its version bump."""
    for version, script in MIGRATIONS:
        if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
            continue
        with _transaction(conn, path):
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current >= version:
                continue
            if not _is_ours(conn):
                raise _corrupt(path)
            for statement in _statements(script):
                conn.execute(statement)
            # PRAGMA takes no parameters; both values are integers from this module, never user input.
            conn.execute(f"PRAGMA application_id = {int(APPLICATION_ID)}")
            conn.execute(f"PRAGMA user_version = {int(version)}")


def _check_home(path: Path, readonly: bool) -> None:
    home = path.parent
    if readonly:
        if not path.is_file():
            raise BadInput(f"no groundhog database at {path}")
        return
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInput(f"cannot create the groundhog home {home}: {err.strerror or err}") from err
    if not home.is_dir() or not os.access(home, os.W_OK | os.X_OK):
        raise BadInput(f"the groundhog home {home} is not a writable directory")
    if path.exists() and not path.is_file():
        raise BadInput(f"{path} exists and is not a file")


def open_store(home: Path, database_url: str | None = None) -> Any:
    """The store the settings choose: PostgreSQL when `database_url` is set (core/pg.py, the same
    schema, migrations and connection API), else the SQLite file in the home."""
    if database_url:
        from groundhog.core.pg import open_pg

        return open_pg(database_url)
    return open_db(Path(home) / DB_FILENAME)


def open_db(path: Path, *, readonly: bool = False, timeout: float = DEFAULT_TIMEOUT_S) -> sqlite3.Connection:
    """Open (creating if absent) the groundhog database and bring its schema up to date.

    Pragmas: WAL, so the review screen reads while the loop writes; `synchronous=FULL`, so a decision
    survives a crash (power loss included) right after it is made, at the cost of one fsync per commit,
    which human-paced writes never notice; foreign keys on; a busy timeout of `timeout` seconds.
    `isolation_level=None`: nothing opens a transaction behind the caller's back; use `transaction`.

    An existing file is never deleted or recreated: one that is not ours, is corrupt, is locked past the
    timeout or was written by a newer groundhog raises StoreError naming it. A read-only connection does
    not migrate, so it refuses a database that needs upgrading.
    """
    path = Path(path)
    _check_versions()
    _check_home(path, readonly)
    try:
        if readonly:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout, isolation_level=None
            )
        else:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as err:
        translated = _translate(err, path)
        raise translated from err
    try:
        conn.row_factory = sqlite3.Row
        _configure(conn, path, readonly)
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
    try:
        # Reading the header first: a file that is not a database fails here, before any write.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if not _is_ours(conn):
            raise _corrupt(path)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > latest_version():
            raise StoreError(
                f"{path} was written by a newer groundhog (schema {version}, this one knows "
                f"{latest_version()}); upgrade groundhog"
            )
        conn.execute("PRAGMA foreign_keys = ON")
        if readonly:
            if version < latest_version():
                raise StoreError(
                    f"{path} has an older schema ({version}); open it once for writing to upgrade it"
                )
            return
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = FULL")
        _migrate(conn, path)
    except sqlite3.Error as err:
        translated = _translate(err, path)
        if translated is err:
            raise
        raise translated from err
