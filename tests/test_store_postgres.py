"""PostgreSQL (`database_url`): the schema and migrations, transactions, a session with the fakes, a server
restarted mid-session, bad configuration, and the session's advisory lock. The server is real, started
by the tests (tests/pg_server.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from groundhog.core.errors import BadInput, StoreError
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.store.database import Database
from groundhog.store.migrate import MANAGED, head
from groundhog.store.postgres import open_postgres, redact
from groundhog.store.schema import sessions
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services
from testkit.pg_server import PgServer, pg_bindir

ROOT = Path(__file__).resolve().parents[1]
PRESENT = date(2026, 11, 23)
postgres = pytest.mark.postgres


def test_a_non_postgres_url_names_the_setting() -> None:
    with pytest.raises(BadInput, match=r"^database_url: 'mysql://x' is not a PostgreSQL URL"):
        open_postgres("mysql://x")


def test_the_password_is_redacted() -> None:
    assert redact("postgresql://me:secret@db:5432/g") == "postgresql://me:***@db:5432/g"
    assert redact("postgresql://me@db/g") == "postgresql://me@db/g"


# --- schema and store --------------------------------------------------------------------------------


def _scalar(db: Database, sql: str) -> Any:
    with db.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


@postgres
def test_migrations_reach_the_latest_schema_once(pg_url: str) -> None:
    db = open_postgres(pg_url)
    assert db.describe()["schema"] == head()
    with db.connect() as conn:
        tables = set(conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").scalars())
    assert {"queue", "sessions", "days", "epochs", "questions", "ratings", "tournaments"} <= tables
    assert _scalar(db, "SELECT data_type FROM information_schema.columns WHERE column_name = 'summary'") == "jsonb"
    db.close()
    again = open_postgres(pg_url)  # a second open finds nothing to do
    assert _scalar(again, "SELECT version FROM schema_version") == MANAGED  # an earlier groundhog refuses it
    again.close()


@postgres
def test_concurrent_fresh_openers_migrate_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_postgres(pg_url).close()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    db = open_postgres(pg_url)
    assert _scalar(db, "SELECT count(*) FROM alembic_version") == 1 and db.describe()["schema"] == head()
    db.close()


@postgres
def test_a_database_with_foreign_tables_is_refused(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute("CREATE TABLE queue (x int)")
    with pytest.raises(StoreError, match="tables groundhog did not create"):
        open_postgres(pg_url)


@postgres
def test_transaction_commits_rolls_back_and_nests(pg_url: str) -> None:
    db = open_postgres(pg_url)
    now = "2026-01-01T00:00:00"
    with db.begin() as conn:
        conn.execute(insert(sessions).values(id="a", created_at=now, updated_at=now, status="running", config={}))
        with pytest.raises(RuntimeError), db.begin() as inner:
            inner.execute(update(sessions).values(reason="inner"))
            raise RuntimeError
    with pytest.raises(RuntimeError), db.begin() as conn:
        conn.execute(update(sessions).values(reason="outer"))
        raise RuntimeError
    with db.connect() as conn:
        assert conn.execute(select(sessions.c.id, sessions.c.reason)).all() == [("a", "")]
    assert not db.in_transaction
    db.close()


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
    assert svc.db.dialect == "postgresql"
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
    backend = _scalar(svc.db, "SELECT pg_backend_pid()")
    outcome = run_session(make_runner(svc, config), handle_signals=False)
    assert outcome.status == "completed", outcome.reason
    assert SessionStore(svc.db).totals("s1").days_done == 6
    assert _scalar(svc.db, "SELECT pg_backend_pid()") != backend  # the pool reconnected


@postgres
def test_a_server_down_too_long_stops_with_the_reason_then_resumes(
    isolated_home: Path, own_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("groundhog.store.postgres.RECONNECT_S", 1.0)
    url = own_server.new_database()
    model = FakeChatModel.with_responder(_OnCall(7, lambda: own_server.stop("immediate")))
    svc, config = _session(isolated_home, url, model, depth=3)
    with pytest.raises(StoreError, match=r"^database_url: ") as info:
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
    from groundhog.compose.doctor import run_checks

    model = FakeChatModel.with_responder(lambda m, k: '{"word": "hello"}')
    good = {c.name: c for c in run_checks(make_services(isolated_home, model, database_url=pg_url))}
    assert good["queue database"].ok and pg_url.split("@")[1] in good["queue database"].detail
    bad_url = f"postgresql://pwuser:wrong@127.0.0.1:{pg_server.port}/postgres"
    bad = {c.name: c for c in run_checks(make_services(isolated_home, model, database_url=bad_url))}
    assert not bad["queue database"].ok and bad["queue database"].detail.startswith("database_url: cannot connect")


# --- the session's lock: an advisory lock in the database ---------------------------------------------


@postgres
def test_the_session_lock_is_an_advisory_lock(tmp_path: Path, pg_url: str) -> None:
    from groundhog.store.locks import effective_status, is_running, session_lock

    mine, other = open_postgres(pg_url), open_postgres(pg_url)  # two engines: two processes, maybe two machines
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
        _kill_lock_holders(other)  # the process died: its connection, and the lock with it, are gone
        assert not is_running(tmp_path, "s1", other)
    other.close()
    mine.close()


def _kill_lock_holders(db: Database) -> None:
    with db.begin() as conn:
        conn.exec_driver_sql(
            # with a timeout it waits until the backend is gone (and its locks with it), not just signalled
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks"
            " WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
        )
