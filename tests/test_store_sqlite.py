"""The groundhog database file: pragmas, migrations, refusals, transactions. Real SQLite in tmp_path."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from groundhog.core import db
from groundhog.core.db import APPLICATION_ID, MIGRATIONS, latest_version, open_db, store_errors, transaction
from groundhog.core.errors import BadInput, StoreError


@contextmanager
def opened(path: Path, **kwargs: object) -> Iterator[sqlite3.Connection]:
    conn = open_db(path, **kwargs)  # type: ignore[arg-type]
    try:
        yield conn
    finally:
        conn.close()


def pragma(conn: sqlite3.Connection, name: str) -> object:
    return conn.execute(f"PRAGMA {name}").fetchone()[0]


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "groundhog.db"


def test_open_creates_home_file_and_sets_pragmas(path: Path) -> None:
    with opened(path) as conn:
        assert path.is_file()
        assert pragma(conn, "journal_mode") == "wal"
        assert pragma(conn, "synchronous") == 2  # FULL
        assert pragma(conn, "foreign_keys") == 1
        assert pragma(conn, "busy_timeout") == 5000
        assert pragma(conn, "user_version") == latest_version()
        assert pragma(conn, "application_id") == APPLICATION_ID
        assert conn.isolation_level is None
        assert conn.row_factory is sqlite3.Row
        assert "queue" in tables(conn)


def test_migrations_are_numbered_in_order() -> None:
    assert [v for v, _ in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_reopen_is_idempotent_and_keeps_data(path: Path) -> None:
    with opened(path) as conn:
        conn.execute(
            "INSERT INTO queue (idea_id, title, summary, critique, queued_at) VALUES (?, ?, ?, ?, ?)",
            ("i1", "t", "s", "{}", "2026-01-01T00:00:00.000000+00:00"),
        )
    with opened(path) as conn:
        assert pragma(conn, "user_version") == latest_version()
        assert conn.execute("SELECT count(*) FROM queue").fetchone()[0] == 1


def test_appended_migration_runs_once_on_reopen(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with opened(path):
        pass
    nxt = latest_version() + 1
    monkeypatch.setattr(
        db,
        "MIGRATIONS",
        [
            *MIGRATIONS,
            (nxt, "CREATE TABLE extra (x TEXT DEFAULT 'a;b'); INSERT INTO extra (x) VALUES ('c;d');"),
        ],
    )
    for _ in range(2):
        with opened(path) as conn:
            assert pragma(conn, "user_version") == nxt
            assert [r[0] for r in conn.execute("SELECT x FROM extra")] == ["c;d"]


def test_failed_migration_leaves_previous_version(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with opened(path):
        pass
    nxt = latest_version() + 1
    monkeypatch.setattr(db, "MIGRATIONS", [*MIGRATIONS, (nxt, "CREATE TABLE half (x); CREATE TABL oops;")])
    with pytest.raises(sqlite3.OperationalError):
        open_db(path)
    monkeypatch.setattr(db, "MIGRATIONS", MIGRATIONS)
    with opened(path) as conn:
        assert pragma(conn, "user_version") == latest_version()
        assert "half" not in tables(conn)


def test_misnumbered_migrations_are_refused(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "MIGRATIONS", [*MIGRATIONS, (latest_version() + 2, "SELECT 1")])
    with pytest.raises(RuntimeError, match="numbered"):
        open_db(path)


def test_newer_schema_is_refused_and_left_alone(path: Path) -> None:
    with opened(path) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer groundhog") as info:
        open_db(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


def test_garbage_file_is_refused_and_untouched(path: Path) -> None:
    path.parent.mkdir(parents=True)
    garbage = b"this is not sqlite, just some bytes\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        open_db(path)
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
        open_db(path)
    assert path.read_bytes() == before


def test_corrupt_page_is_a_store_error(path: Path) -> None:
    with opened(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:] = b"\xff" * (len(data) - page_size)  # every page after the header page
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="corrupt"), opened(path) as conn, store_errors(conn):
        conn.execute("SELECT * FROM queue").fetchall()


def test_locked_database_is_a_store_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="locked") as info:
            open_db(path, timeout=0.1)
        assert str(path) in str(info.value)
        holder.execute("ROLLBACK")


def test_transaction_waits_then_fails_on_a_held_lock(path: Path) -> None:
    with opened(path, timeout=0.1) as conn, opened(path) as holder:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="locked"), transaction(conn):
            pass
        holder.execute("ROLLBACK")
        assert not conn.in_transaction


def test_home_that_is_a_file_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where the home should be")
    with pytest.raises(BadInput) as info:
        open_db(blocker / "groundhog.db")
    assert str(blocker) in str(info.value)


def test_database_path_that_is_a_directory_is_bad_input(path: Path) -> None:
    path.mkdir(parents=True)
    with pytest.raises(BadInput, match="not a file"):
        open_db(path)


def test_readonly_reads_and_refuses_writes(path: Path) -> None:
    with opened(path):
        pass
    with opened(path, readonly=True) as conn:
        assert conn.execute("SELECT count(*) FROM queue").fetchone()[0] == 0
        with pytest.raises(StoreError, match=re.escape(str(path))), transaction(conn):
            conn.execute("DELETE FROM queue")


def test_readonly_missing_file_is_bad_input(path: Path) -> None:
    with pytest.raises(BadInput, match="no groundhog database"):
        open_db(path, readonly=True)
    assert not path.exists()


def test_transaction_commits_and_rolls_back(path: Path) -> None:
    with opened(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        with transaction(conn):
            conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ZeroDivisionError), transaction(conn):
            conn.execute("INSERT INTO t VALUES (2)")
            _ = 1 / 0
        assert not conn.in_transaction
        assert [r[0] for r in conn.execute("SELECT x FROM t")] == [1]


def test_nested_transaction_is_a_savepoint(path: Path) -> None:
    with opened(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        with transaction(conn):
            conn.execute("INSERT INTO t VALUES (1)")
            with pytest.raises(ValueError), transaction(conn):
                conn.execute("INSERT INTO t VALUES (2)")
                raise ValueError("inner fails alone")
            with transaction(conn):
                conn.execute("INSERT INTO t VALUES (3)")
            assert conn.in_transaction
        assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")] == [1, 3]
