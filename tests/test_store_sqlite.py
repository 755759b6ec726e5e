"""The groundhog database file: pragmas, migrations, refusals, transactions. Real SQLite in tmp_path."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from groundhog.core.errors import BadInput, StoreError
from groundhog.store import migrate
from groundhog.store.database import Database
from groundhog.store.migrate import MANAGED, head
from groundhog.store.schema import sessions
from groundhog.store.sqlite import APPLICATION_ID, open_sqlite

NOW = "2026-01-01T00:00:00"


@contextmanager
def opened(path: Path, **kwargs: float) -> Iterator[Database]:
    db = open_sqlite(path, **kwargs)
    try:
        yield db
    finally:
        db.close()


def pragma(db: Database, name: str) -> object:
    with db.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def tables(db: Database) -> set[str]:
    with db.connect() as conn:
        return set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())


def add_session(db: Database, session_id: str, reason: str = "") -> None:
    with db.begin() as conn:
        conn.execute(
            insert(sessions).values(
                id=session_id, created_at=NOW, updated_at=NOW, status="running", config={}, reason=reason
            )
        )


def session_ids(db: Database) -> list[str]:
    with db.connect() as conn:
        return list(conn.execute(select(sessions.c.id).order_by(sessions.c.id)).scalars())


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "groundhog.db"


def test_open_creates_home_file_and_sets_pragmas(path: Path) -> None:
    with opened(path) as db:
        assert path.is_file()
        assert pragma(db, "journal_mode") == "wal"
        assert pragma(db, "synchronous") == 2  # FULL
        assert pragma(db, "foreign_keys") == 1
        assert pragma(db, "busy_timeout") == 5000
        assert pragma(db, "user_version") == MANAGED  # an earlier groundhog refuses it as newer
        assert pragma(db, "application_id") == APPLICATION_ID
        assert db.describe() == {"where": str(path), "schema": head(), "journal": "wal"}
        assert {"queue", "sessions", "days", "epochs", "alembic_version"} <= tables(db)


def test_reopen_is_idempotent_and_keeps_data(path: Path) -> None:
    with opened(path) as db:
        add_session(db, "a")
    with opened(path) as db:
        assert db.describe()["schema"] == head()
        assert session_ids(db) == ["a"]


def test_concurrent_fresh_openers_migrate_once(path: Path) -> None:
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_sqlite(path, timeout=30).close()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with opened(path) as db, db.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [head()]


def test_newer_revision_is_refused_and_left_alone(path: Path) -> None:
    with opened(path) as db, db.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer groundhog") as info:
        open_sqlite(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


def test_failed_migration_leaves_the_previous_revision(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with opened(path) as db, db.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")  # as if 0002 were still to run
    monkeypatch.setattr(migrate, "_mark", lambda conn, db: conn.exec_driver_sql("CREATE TABL oops"))
    with pytest.raises(Exception, match="syntax error"):
        open_sqlite(path)
    monkeypatch.undo()
    with opened(path) as db:
        assert db.describe()["schema"] == head()


def test_garbage_file_is_refused_and_untouched(path: Path) -> None:
    path.parent.mkdir(parents=True)
    garbage = b"this is not sqlite, just some bytes\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        open_sqlite(path)
    message = str(info.value)
    assert str(path) in message
    assert "is not a groundhog database or is corrupt" in message
    assert "\n" not in message
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in path.parent.iterdir()) == ["groundhog.db"]


def test_foreign_sqlite_database_is_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path)) as other:
        other.execute("CREATE TABLE notes (x)")
        other.commit()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a groundhog database"):
        open_sqlite(path)
    assert path.read_bytes() == before


def test_corrupt_page_is_a_store_error(path: Path) -> None:
    with opened(path) as db, db.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:] = b"\xff" * (len(data) - page_size)  # every page after the header page
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="corrupt"), opened(path) as db:
        session_ids(db)


def test_locked_database_is_a_store_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="locked") as info:
            open_sqlite(path, timeout=0.1)
        assert str(path) in str(info.value)
        holder.execute("ROLLBACK")


def test_write_waits_then_fails_on_a_held_lock_while_reads_go_on(path: Path) -> None:
    with opened(path, timeout=0.1) as db:
        add_session(db, "a")
        with closing(sqlite3.connect(path, isolation_level=None)) as holder:
            holder.execute("BEGIN IMMEDIATE")
            assert session_ids(db) == ["a"]  # a read takes no write lock
            with pytest.raises(StoreError, match="locked"), db.begin():
                pass
            holder.execute("ROLLBACK")
        assert not db.in_transaction
        add_session(db, "b")
        assert session_ids(db) == ["a", "b"]


def test_home_that_is_a_file_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where the home should be")
    with pytest.raises(BadInput) as info:
        open_sqlite(blocker / "groundhog.db")
    assert str(blocker) in str(info.value)


def test_database_path_that_is_a_directory_is_bad_input(path: Path) -> None:
    path.mkdir(parents=True)
    with pytest.raises(BadInput, match="not a file"):
        open_sqlite(path)


def test_transaction_commits_and_rolls_back(path: Path) -> None:
    with opened(path) as db:
        add_session(db, "a")
        with pytest.raises(ZeroDivisionError), db.begin():
            add_session(db, "b")
            _ = 1 / 0
        assert not db.in_transaction
        assert session_ids(db) == ["a"]


def test_nested_transaction_is_a_savepoint(path: Path) -> None:
    with opened(path) as db:
        with db.begin():
            add_session(db, "a")
            with pytest.raises(ValueError), db.begin():
                add_session(db, "b")
                raise ValueError("inner fails alone")
            add_session(db, "c")
            assert db.in_transaction and session_ids(db) == ["a", "c"]  # reads see the open transaction
        assert session_ids(db) == ["a", "c"]


def test_foreign_keys_are_enforced(path: Path) -> None:
    with opened(path) as db, pytest.raises(Exception, match="FOREIGN KEY"), db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO days (session, persona, day, status, present, finished_at) "
                "VALUES ('nobody', 'doomimir', 1, 'done', '2026-11-23', :t)"
            ),
            {"t": NOW},
        )


def test_each_thread_has_its_own_transaction(path: Path) -> None:
    """A night's threads write through one Database: one thread's open transaction is not another's."""
    with opened(path, timeout=10) as db:
        seen: list[bool] = []
        with db.begin():
            add_session(db, "a")
            worker = threading.Thread(target=lambda: seen.append(db.in_transaction))
            worker.start()
            worker.join()
        assert seen == [False]
        assert session_ids(db) == ["a"]
