"""A home made by the release before Alembic opens and upgrades in place with nothing lost, on SQLite and on
PostgreSQL; and the migrations build exactly the tables store/schema.py declares.

The earlier schema is frozen test data (tests/legacy_home.py, tests/data/): the test builds a home with
it, writes a row into every table as that code wrote it, opens the home with this code, reads every row
back through the stores and writes to each table again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from legacy_home import T, insert_sql, rows, sqlite_home

from groundhog.core.records import CritiqueResult, Decision, Idea, QueueItem, Usage
from groundhog.core.reviewer import LEGACY
from groundhog.core.settings import ModelSettings
from groundhog.rank.ratings import refresh_ratings
from groundhog.store.database import Database
from groundhog.store.epochs import EpochStore
from groundhog.store.judgements import JudgementStore
from groundhog.store.migrate import BASELINE, HEAD, MANAGED, head
from groundhog.store.questions import Question, QuestionStore
from groundhog.store.queue import ReviewQueue
from groundhog.store.recent import RecentIndex
from groundhog.store.sessions import SessionConfig, SessionStore
from groundhog.store.tournaments import TournamentStore

CONFIG = SessionConfig(
    id="old", personas=["doomimir"], depth=2, ideas_per_day=1, present=date(2026, 11, 23), babble=ModelSettings()
)


def _sqlite_legacy(tmp_path: Path) -> Path:
    path = sqlite_home(tmp_path / "home" / "groundhog.db")
    with closing(sqlite3.connect(path)) as conn:
        for table, values in rows(CONFIG.model_dump(mode="json")):
            conn.execute(insert_sql(table, values, "?"), list(values.values()))
        conn.commit()
    return path


def _postgres_legacy(url: str) -> None:
    import psycopg
    from legacy_home import postgres_schema_sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(postgres_schema_sql())  # no parameters: the whole script in one call, as it ran
        for table, values in rows(CONFIG.model_dump(mode="json")):
            conn.execute(insert_sql(table, values, "%s"), list(values.values()))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def upgraded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The legacy home, opened (and so upgraded) by this code."""
    if request.param == "postgres":
        from groundhog.store.postgres import open_postgres

        url = request.getfixturevalue("pg_url")
        _postgres_legacy(url)
        db = open_postgres(url)
    else:
        from groundhog.store.sqlite import open_sqlite

        db = open_sqlite(_sqlite_legacy(tmp_path))
    try:
        yield db
    finally:
        db.close()


def _legacy_version(db: Database) -> Any:
    sql = "PRAGMA user_version" if db.dialect == "sqlite" else "SELECT version FROM schema_version"
    with db.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


def test_every_row_of_a_legacy_home_survives_the_upgrade(upgraded: Database) -> None:
    db = upgraded
    assert db.describe()["schema"] == head() != BASELINE
    assert _legacy_version(db) == MANAGED  # the earlier release now refuses it as newer
    sessions = SessionStore(db)
    (session,) = sessions.all()
    assert (session.id, session.status, session.reason, session.elapsed_s) == (
        "old",
        "completed",
        "all 1 days done",
        12.5,
    )
    assert session.config == CONFIG
    (day,) = sessions.days("old")
    assert (day.summary["notebook_id"], day.drafts, day.attempts, day.prompt_tokens) == ("nb1", 4, 1, 100)
    assert sessions.totals("old").days_done == 1
    queue = ReviewQueue(db)
    first = queue.get("idea0001")
    assert (first.status, first.note, first.idea.builds_on, first.critique.scores.novelty) == (
        "accepted",
        "good",
        ["x1"],
        7,
    )
    assert (first.rating, first.rating_sigma, first.matches) == (1550.0, 80.0, 1)
    # the decision made before reviewers were recorded is kept as the legacy reviewer's own
    assert first.decisions == [
        Decision(reviewer=LEGACY, status="accepted", note="good", decided_at=datetime.fromisoformat(T))
    ]
    assert first.reviewer == LEGACY and queue.get("idea0002").decisions == []
    assert queue.get("idea0002").critique.scores is None and queue.get("idea0002").origin == "audit"
    assert queue.counts() == {"pending": 1, "accepted": 1, "rejected": 0, "deferred": 0}
    (epoch,) = EpochStore(db).all("old")
    assert (epoch.status, epoch.cause, epoch.undecided) == ("reviewed", "review-every", [])
    (judgement,) = JudgementStore(db).list()
    assert (judgement.winner_id, judgement.source, judgement.note) == ("idea0001", "web", "clearer")
    tournament = TournamentStore(db).get("t1")
    assert (tournament.ideas, tournament.both_orders, tournament.calls, tournament.failed) == (
        ["idea0001", "idea0002"],
        True,
        3,
        1,
    )
    question = QuestionStore(db).get("q1")
    assert (question.status, question.answer, question.ideas) == (
        "answered",
        "the first",
        [{"id": "idea0001", "title": "Old"}],
    )
    recent = RecentIndex(db)
    assert recent.notebook_ids("doomimir", 5) == ["nb1"]
    assert recent.work_ids("doomimir", 5) == ["e2", "e1"]
    assert len(recent.feedback_ids("doomimir", 5)) == 2  # the decision and the answer


def test_a_legacy_home_takes_new_writes_in_every_table(upgraded: Database) -> None:
    db = upgraded
    sessions, queue = SessionStore(db), ReviewQueue(db)
    question = {"id": "q2", "text": "And now?", "context": {"ideas": []}}
    sessions.commit_day(
        session="old", persona="doomimir", day=2, present=date(2026, 11, 23), summary={"question": question},
        generated=1, surviving=0, prompt_tokens=5, completion_tokens=1, queue_items=[], queue=queue,
    )  # fmt: skip
    assert [d.day for d in sessions.days("old")] == [1, 2]
    assert QuestionStore(db).get("q2").question == "And now?"  # the day's trigger still files its question
    QuestionStore(db).add(Question(id="q3", session="old", persona="doomimir", day=2, question="Why?"))
    QuestionStore(db).mark_answered("q3", "because")
    queue.decide("idea0002", "reject", note="no")
    queue.decide("idea0001", "reject", note="a second look", reviewer="ada")  # beside the legacy decision
    JudgementStore(db).add("idea0002", "idea0001", "b", judge="fake", source="rank:t1")
    TournamentStore(db).record("t1", Usage(prompt_tokens=1, completion_tokens=1, calls=1))
    sessions.set_status("old", "completed-with-failures", "a reason")
    assert refresh_ratings(db).games == 2
    assert queue.get("idea0002").status == "rejected" and queue.get("idea0001").rating is not None
    again = queue.get("idea0001")
    assert [(d.reviewer, d.status, d.note) for d in again.decisions] == [
        (LEGACY, "accepted", "good"),
        ("ada", "rejected", "a second look"),
    ]
    assert (again.status, again.note, again.reviewer) == ("rejected", "a second look", "ada")
    assert TournamentStore(db).get("t1").calls == 4
    assert sessions.get("old").status == "completed-with-failures"


def test_a_legacy_home_opens_again_without_migrating(tmp_path: Path) -> None:
    from groundhog.store.sqlite import open_sqlite

    path = _sqlite_legacy(tmp_path)
    for _ in range(2):
        db = open_sqlite(path)
        try:
            assert len(SessionStore(db).all()) == 1
        finally:
            db.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head(),)]
        assert conn.execute("SELECT count(*) FROM queue").fetchone() == (2,)


def _open(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if engine == "postgres":
        from groundhog.store.postgres import open_postgres

        return open_postgres(request.getfixturevalue("pg_url"))
    from groundhog.store.sqlite import open_sqlite

    return open_sqlite(tmp_path / "groundhog.db")


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_decisions_of_a_home_at_0003_move_in_under_the_legacy_reviewer(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A home the previous revision wrote (decisions on the queue rows only) upgrades to one decision row
    per decided idea, status, note and time as they were; pending ideas get none."""
    db = _open(engine, request, tmp_path)
    decided = {"acc00001": ("accepted", "keep"), "rej00001": ("rejected", "no"), "def00001": ("deferred", "later")}
    try:
        queue = ReviewQueue(db)
        for idea_id in [*decided, "pen00001"]:
            idea = Idea(id=idea_id, title=f"Idea {idea_id}", summary="s", persona="doomimir")
            queue.add(QueueItem(idea=idea, critique=CritiqueResult(idea_id=idea_id, verdict="pass")))
        with db.begin() as conn:  # as revision 0003 left it: the decision on the queue row, no table of them
            for n, (idea_id, (status, note)) in enumerate(decided.items()):
                conn.exec_driver_sql(
                    f"UPDATE queue SET status = '{status}', note = '{note}', "
                    f"decided_at = '2026-11-2{n}T06:00:00.000000+00:00' WHERE idea_id = '{idea_id}'"
                )
            conn.exec_driver_sql("DROP TABLE decisions")
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")
    finally:
        db.close()
    db = _open(engine, request, tmp_path)  # the same database again (pg_url is one per test)
    try:
        assert db.describe()["schema"] == HEAD
        queue = ReviewQueue(db)
        for n, (idea_id, (status, note)) in enumerate(decided.items()):
            item = queue.get(idea_id)
            when = datetime.fromisoformat(f"2026-11-2{n}T06:00:00.000000+00:00")
            assert item.decisions == [Decision(reviewer=LEGACY, status=status, note=note, decided_at=when)]  # type: ignore[arg-type]
            assert (item.status, item.note, item.decided_at, item.reviewer) == (status, note, when, LEGACY)
        assert queue.get("pen00001").decisions == [] and queue.get("pen00001").reviewer is None
    finally:
        db.close()


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_migrations_build_the_declared_tables(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Alembic's own comparison of the declared MetaData with the migrated database finds nothing to add,
    drop or change (columns, types on PostgreSQL, nullability, indexes, foreign keys)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from groundhog.store.schema import metadata

    if engine == "postgres":
        from groundhog.store.postgres import open_postgres

        db = open_postgres(request.getfixturevalue("pg_url"))
    else:
        from groundhog.store.sqlite import open_sqlite

        db = open_sqlite(tmp_path / "groundhog.db")
    try:
        with db.connect() as conn:
            # SQLite keeps JSON as TEXT and reports REAL for Double: only PostgreSQL's types are compared.
            context = MigrationContext.configure(conn, opts={"compare_type": engine == "postgres"})
            diff = compare_metadata(context, metadata)
        ignored = {"schema_version"}  # PostgreSQL's record of the version for the release before Alembic
        diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name in ignored)]
        assert diff == []
    finally:
        db.close()


def test_the_head_the_store_checks_at_open_is_alembics_head() -> None:
    """`migrate` recognises an up-to-date database by `HEAD` without importing Alembic: a new revision
    must move it, or every open would run the upgrade again."""
    assert head() == HEAD


def test_an_up_to_date_home_opens_without_importing_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    from groundhog.store.sqlite import open_sqlite

    open_sqlite(tmp_path / "groundhog.db").close()  # made, and migrated, here
    code = (
        "import sys; from pathlib import Path; from groundhog.store.sqlite import open_sqlite; "
        f"db = open_sqlite(Path({str(tmp_path / 'groundhog.db')!r})); db.describe(); db.close(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
