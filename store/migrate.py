"""Bring the schema up to date with Alembic, run from here on the store's own connection.

The revisions live in store/migrations/versions/. Concurrent openers migrate once: the check and the
upgrade run in one write transaction, under BEGIN IMMEDIATE on SQLite and a transaction-level advisory
lock on PostgreSQL, and the state is read again under it. A database already at the head is only read.

A home made before Alembic managed the schema carries its version where that code kept it (SQLite:
`PRAGMA user_version`; PostgreSQL: the `schema_version` table). At the last such version it is stamped
with the baseline revision (its tables are exactly the baseline's) and then upgraded; at an earlier one
it is refused with one line, never guessed at. After every upgrade that version is set to `MANAGED`, one
past what the earlier code knows, so an earlier groundhog refuses the upgraded home as newer rather than
writing to tables it does not know. A revision this code does not know means a newer groundhog wrote it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from groundhog.core.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import Connection

    from groundhog.store.database import Database

LOCATION = Path(__file__).parent / "migrations"
BASELINE = "0001"
# The newest revision in migrations/versions (tests/test_store_upgrade.py checks that it is Alembic's head):
# a database already there is recognised without importing Alembic, a quarter second of every start.
HEAD = "0004"
LEGACY_VERSION = 6  # the schema version of the last release before Alembic: the baseline
MANAGED = LEGACY_VERSION + 1
LOCK_CLASS = 0x47524448  # 'GRDH': the first key of every groundhog advisory lock; (LOCK_CLASS, 0) migrates
OUR_TABLES = (
    "queue",
    "sessions",
    "days",
    "epochs",
    "questions",
    "ratings",
    "tournaments",
    "pairwise_judgements",
    "decisions",
)


def _config(conn: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(LOCATION))
    config.attributes["connection"] = conn
    return config


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(LOCATION))


def head() -> str:
    """Alembic's head revision, read from the scripts."""
    found = _script().get_current_head()
    assert found is not None
    return found


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None before Alembic has stamped it. Read from Alembic's version
    table as Alembic writes it (one row: the history is linear), without importing Alembic."""
    if conn.dialect.name == "sqlite":
        exists = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
    else:
        exists = conn.exec_driver_sql("SELECT 1 WHERE to_regclass('alembic_version') IS NOT NULL")
    if exists.first() is None:
        return None
    versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    if len(versions) > 1:
        raise StoreError(f"the database has {len(versions)} schema revisions at once ({', '.join(versions)})")
    return str(versions[0]) if versions else None


def migrate(db: Database) -> None:
    with db.connect() as conn:
        if current_revision(conn) == HEAD:
            return
    with db.begin() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, 0)")
        stamp = _check(conn, db)
        from alembic import command

        config = _config(conn)
        if stamp:
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
        _mark(conn, db)


def _check(conn: Connection, db: Database) -> bool:
    """Refuse what cannot be upgraded here; True when a home of the earlier code needs the baseline stamp."""
    revision = current_revision(conn)
    if revision is not None:
        known = {s.revision for s in _script().walk_revisions()}
        if revision not in known:
            raise StoreError(
                f"{db.where} was written by a newer groundhog (schema revision {revision}, this one knows up to "
                f"{head()}); upgrade groundhog"
            )
        return False
    version = _legacy_version(conn, db)
    if version is None:
        return False  # empty: built from the first revision
    if version == LEGACY_VERSION:
        return True
    if version > LEGACY_VERSION:
        raise StoreError(
            f"{db.where} was written by a newer groundhog (schema {version}, no revision); upgrade groundhog"
        )
    raise StoreError(
        f"{db.where} has schema {version}, older than this groundhog upgrades (it needs {LEGACY_VERSION}): open it "
        "once with groundhog 0.1.0 to bring it to that version, then with this one"
    )


def _legacy_version(conn: Connection, db: Database) -> int | None:
    """The earlier code's schema version; None for an empty database; a foreign one is refused."""
    if db.dialect == "sqlite":
        from groundhog.store.sqlite import corrupt, ownership

        ours, version = ownership(conn)
        if not ours:
            raise corrupt(db.where)
        return version or None
    exists = conn.exec_driver_sql("SELECT to_regclass('schema_version') IS NOT NULL").scalar()
    if not exists:
        found = [t for t in OUR_TABLES if conn.exec_driver_sql(f"SELECT to_regclass('{t}')").scalar()]
        if found:
            raise StoreError(
                f"database_url: {db.where} has tables groundhog did not create ({', '.join(found)}) and no "
                "schema version; use an empty database"
            )
        return None
    return int(conn.exec_driver_sql("SELECT version FROM schema_version").scalar() or 0)


def _mark(conn: Connection, db: Database) -> None:
    if db.dialect == "sqlite":
        from groundhog.store.sqlite import mark

        mark(conn, MANAGED)
    else:
        conn.exec_driver_sql(f"UPDATE schema_version SET version = {MANAGED}")
