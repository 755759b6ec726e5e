"""PostgreSQL (`database_url`): the SQL translation, the schema and migrations, a session with the fakes,
a server restarted mid-session, bad configuration, and the session's advisory lock. The server is real,
started by the tests (tests/pg_server.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services
from testkit.pg_server import PgServer, pg_bindir

from groundhog.core.db import latest_version, transaction
from groundhog.core.errors import BadInput, StoreError
from groundhog.core.pg_sql import translate
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.loop.sessions import SessionStore

ROOT = Path(__file__).resolve().parents[1]
PRESENT = date(2026, 11, 23)
postgres = pytest.mark.postgres


# --- the translation (no server) ---------------------------------------------------------------------


def test_placeholders_leave_strings_and_casts_alone() -> None:
    sql, _ = translate("SELECT '?', x::text, '50%' FROM t WHERE a = ? AND b LIKE 'a%' AND c = :name", True)
    assert sql == "SELECT '?', x::text, '50%%' FROM t WHERE a = %s AND b LIKE 'a%%' AND c = %(name)s"
    assert translate("SELECT '50%'", False)[0] == "SELECT '50%'"


def test_sqlite_idioms_become_postgres() -> None:
    assert translate("INSERT OR IGNORE INTO queue (a) VALUES (?)", True)[0] == (
        "INSERT INTO queue (a) VALUES (%s) ON CONFLICT DO NOTHING"
    )
    upsert = translate("INSERT OR REPLACE INTO days (session, persona, day, status) VALUES (?, ?, ?, ?)", True)[0]
    assert upsert.endswith("ON CONFLICT (session, persona, day) DO UPDATE SET status = EXCLUDED.status")
    assert translate("SELECT json_extract(summary, '$.a.b') FROM days", False)[0] == (
        "SELECT (summary::jsonb #>> '{a,b}') FROM days"
    )
    assert "SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END)" in translate("SELECT SUM(status = 'done')", False)[0]
    assert translate("BEGIN IMMEDIATE", False)[0] == "BEGIN"
    assert translate("PRAGMA foreign_keys = ON", False)[0] == "SELECT 1"
    assert translate("INSERT INTO pairwise_judgements (a) VALUES (?)", True) == (
        "INSERT INTO pairwise_judgements (a) VALUES (%s) RETURNING id",
        True,
    )


def test_a_non_postgres_url_names_the_setting() -> None:
    from groundhog.core.pg import open_pg

    with pytest.raises(BadInput, match=r"^database_url: 'mysql://x' is not a PostgreSQL URL"):
        open_pg("mysql://x")


# --- schema and store --------------------------------------------------------------------------------


@postgres
def test_migrations_reach_the_latest_schema_once(pg_url: str) -> None:
    from groundhog.core.pg import open_pg

    conn = open_pg(pg_url)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version()
    tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"queue", "sessions", "days", "epochs", "questions", "ratings", "tournaments"} <= tables
    conn.close()
    again = open_pg(pg_url)  # a second open finds nothing to do
    assert again.execute("SELECT version FROM schema_version").fetchall() == [(latest_version(),)]


@postgres
def test_concurrent_fresh_openers_migrate_once(pg_url: str) -> None:
    from groundhog.core.pg import open_pg

    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_pg(pg_url).close()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert open_pg(pg_url).execute("PRAGMA user_version").fetchone()[0] == latest_version()


@postgres
def test_a_database_with_foreign_tables_is_refused(pg_url: str) -> None:
    import psycopg

    from groundhog.core.pg import open_pg

    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute("CREATE TABLE queue (x int)")
    with pytest.raises(StoreError, match="tables groundhog did not create"):
        open_pg(pg_url)


@postgres
def test_transaction_commits_rolls_back_and_nests(pg_url: str) -> None:
    from groundhog.core.pg import open_pg

    conn = open_pg(pg_url)
    now = "2026-01-01T00:00:00"
    with transaction(conn):
        conn.execute(
            "INSERT INTO sessions (id, created_at, updated_at, status, config) VALUES (?, ?, ?, ?, ?)",
            ("a", now, now, "running", "{}"),
        )
        with pytest.raises(RuntimeError), transaction(conn):
            conn.execute("UPDATE sessions SET reason = 'inner' WHERE id = 'a'")
            raise RuntimeError
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("UPDATE sessions SET reason = 'outer' WHERE id = 'a'")
        raise RuntimeError
    row = conn.execute("SELECT id, reason FROM sessions").fetchone()
    assert (row["id"], row[1], dict(row)) == ("a", "", {"id": "a", "reason": ""})
    assert not conn.in_transaction


# --- a session on PostgreSQL -------------------------------------------------------------------------


def _session(home: Path, url: str, model: Any, **loop: Any) -> tuple[Any, Any]:
    svc = make_services(home, model, database_url=url, loop={"ideas_per_day": 2, **loop})
    config = new_config(svc.settings, ["doomimir", "simplicia"], session="s1", present=PRESENT)
    SessionStore(svc.db).create(config)
    return svc, config


@postgres
def test_a_session_runs_and_resumes_on_postgres(isolated_home: Path, pg_url: str) -> None:
    model = FakeChatModel.with_responder(ScriptedResearcher())
    svc, config = _session(isolated_home, pg_url, model, depth=4, review_every=2)
    assert type(svc.db).__name__ == "PgConnection"
    first = run_session(make_runner(svc, config), handle_signals=False)
    assert first.status == "awaiting-review", first.reason
    for item in svc.queue.list(session="s1"):
        svc.queue.decide(item.id, "accept")
    store = SessionStore(svc.db)
    second = run_session(make_runner(svc, store.get("s1").config), handle_signals=False)
    assert second.status == "completed", second.reason
    totals = store.totals("s1")
    assert totals.days_done == 8 and totals.generated > 0 and isinstance(totals.prompt_tokens, int)
    assert len(svc.queue.list(session="s1")) == totals.surviving
    assert not (isolated_home / "groundhog.db").exists()  # nothing went to the SQLite file
    svc.close()


# --- a server restarted mid-session ------------------------------------------------------------------


@pytest.fixture
def own_server() -> Any:
    """A server of this test's own, to restart and stop."""
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no initdb): apt-get install postgresql to run these tests")
    server = PgServer(bindir)
    server.start()
    yield server
    server.cleanup()


class _OnCall(ScriptedResearcher):
    """Runs `action` once, at the n-th model call (between two day commits, mid-session)."""

    def __init__(self, n: int, action: Any) -> None:
        super().__init__()
        self._n, self._action, self._calls = n, action, 0

    def __call__(self, messages: Any, kwargs: Any) -> str:
        self._calls += 1
        if self._calls == self._n:
            self._action()
        return super().__call__(messages, kwargs)


@postgres
def test_a_restart_mid_session_is_survived(isolated_home: Path, own_server: PgServer) -> None:
    url = own_server.new_database()
    model = FakeChatModel.with_responder(_OnCall(7, own_server.restart))
    svc, config = _session(isolated_home, url, model, depth=3)
    backend = svc.db._conn.info.backend_pid
    outcome = run_session(make_runner(svc, config), handle_signals=False)
    assert outcome.status == "completed", outcome.reason
    assert SessionStore(svc.db).totals("s1").days_done == 6
    assert svc.db._conn.info.backend_pid != backend  # the connection was lost and opened again


@postgres
def test_a_server_down_too_long_stops_with_the_reason_then_resumes(
    isolated_home: Path, own_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("groundhog.core.pg.RECONNECT_S", 1.0)
    url = own_server.new_database()
    model = FakeChatModel.with_responder(_OnCall(7, lambda: own_server.stop("immediate")))
    svc, config = _session(isolated_home, url, model, depth=3)
    with pytest.raises(StoreError, match="database_url: lost the connection") as info:
        run_session(make_runner(svc, config), handle_signals=False)
    assert "password" not in str(info.value)
    own_server.start()
    svc.close()
    svc = make_services(isolated_home, FakeChatModel.with_responder(ScriptedResearcher()), database_url=url)
    store = SessionStore(svc.db)
    outcome = run_session(make_runner(svc, store.get("s1").config), handle_signals=False)
    assert outcome.status == "completed", outcome.reason
    assert store.totals("s1").days_done == 6


# --- bad configuration: one line naming the setting, exit 2, before any work ---------------------------


def _cli(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"GROUNDHOG_HOME": str(home), "GROUNDHOG_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", "from groundhog import cli; cli.main()", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@postgres
@pytest.mark.parametrize("case", ["unreachable", "wrong-password"])
def test_bad_database_url_is_one_line_and_exit_2(tmp_path: Path, pg_server: PgServer, case: str) -> None:
    from testkit.pg_server import free_port

    if case == "unreachable":
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    else:
        url = f"postgresql://pwuser:wrong@127.0.0.1:{pg_server.port}/postgres"
    done = _cli(tmp_path / "home", url, "babble", "--persona", "doomimir", "--depth", "1")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr + done.stdout
    assert len(lines) == 1 and lines[0].startswith("groundhog: error: database_url: cannot connect to"), lines
    assert ("Connection refused" if case == "unreachable" else "password authentication failed") in lines[0]
    assert "wrong" not in done.stderr  # the password is never printed
    assert not (tmp_path / "home" / "chroma").exists()  # no work started


@postgres
def test_doctor_checks_the_database(isolated_home: Path, pg_url: str, pg_server: PgServer) -> None:
    from groundhog.loop.doctor import run_checks

    model = FakeChatModel.with_responder(lambda m, k: '{"word": "hello"}')
    good = {c.name: c for c in run_checks(make_services(isolated_home, model, database_url=pg_url))}
    assert good["queue database"].ok and pg_url.split("@")[1] in good["queue database"].detail
    bad_url = f"postgresql://pwuser:wrong@127.0.0.1:{pg_server.port}/postgres"
    bad = {c.name: c for c in run_checks(make_services(isolated_home, model, database_url=bad_url))}
    assert not bad["queue database"].ok and bad["queue database"].detail.startswith("database_url: cannot connect")


# --- the session's lock: an advisory lock in the database ---------------------------------------------


@postgres
def test_the_session_lock_is_an_advisory_lock(tmp_path: Path, pg_url: str) -> None:
    from groundhog.core.pg import open_pg
    from groundhog.loop.locks import effective_status, is_running, session_lock

    mine, other = open_pg(pg_url), open_pg(pg_url)  # two connections: two processes, maybe two machines
    assert effective_status(tmp_path, "s1", "running", "", other)[0] == "interrupted"
    with session_lock(tmp_path, "s1", mine):
        assert is_running(tmp_path, "s1", other) and is_running(tmp_path, "s1", mine)
        assert effective_status(tmp_path, "s1", "running", "", other) == ("running", "")
        for db in (other, mine):  # refused elsewhere, and again here
            with pytest.raises(BadInput, match="running in another process"), session_lock(tmp_path, "s1", db):
                pass
        with session_lock(tmp_path, "s2", other):  # another session is not blocked
            pass
    assert not is_running(tmp_path, "s1", other)
    assert not (tmp_path / "locks").exists()  # no lock files on PostgreSQL
    with session_lock(tmp_path, "s1", mine):
        mine.close()  # the process died: its connection, and the lock with it, are gone
        assert not is_running(tmp_path, "s1", other)


@postgres
def test_the_lock_is_taken_again_after_a_reconnect(own_server: PgServer) -> None:
    from groundhog.core.pg import open_pg

    url = own_server.new_database()
    (mine,) = (open_pg(url),)
    assert mine.try_lock("s1")
    own_server.restart()
    other = open_pg(url)
    assert mine.execute("SELECT 1").fetchone()[0] == 1  # reconnects, and takes the lock again
    assert other.is_locked("s1") and not other.try_lock("s1")
