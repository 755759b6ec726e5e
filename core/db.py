"""The SQLite file `<home>/groundhog.db`: the review queue and the session state.

Every connection comes from `open_db`, which sets the pragmas, checks that the file is ours and brings
its schema up to date. Writes go through `transaction`, so a decision is either wholly on disk or not.

Adding a migration
------------------
Append `(next_version, sql_script)` to `MIGRATIONS`; never edit or reorder an entry that has shipped,
because databases in the field already carry its version. Versions are consecutive integers starting at 1.
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

from groundhog.core.errors import BadInput, StoreError

DB_FILENAME = "groundhog.db"

# 'GRDH': marks the file as ours, so a stranger's SQLite file is refused instead of being migrated.
APPLICATION_ID = 0x47524448

DEFAULT_TIMEOUT_S = 5.0

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE queue (
            idea_id           TEXT PRIMARY KEY,
            session           TEXT NOT NULL DEFAULT '',
            persona           TEXT NOT NULL DEFAULT '',
            day               INTEGER NOT NULL DEFAULT 0,
            present           TEXT,                       -- ISO date the persona lived in
            title             TEXT NOT NULL,
            summary           TEXT NOT NULL,
            rationale         TEXT NOT NULL DEFAULT '',
            builds_on         TEXT NOT NULL DEFAULT '[]', -- JSON list of idea ids
            revision          INTEGER NOT NULL DEFAULT 0,
            parent_id         TEXT,
            score_novelty     INTEGER,                    -- critic rubric, 1-10; NULL when unscored
            score_feasibility INTEGER,
            score_relevance   INTEGER,
            score_clarity     INTEGER,
            novelty           REAL NOT NULL DEFAULT 0,    -- distance to the nearest earlier idea, 0..1
            rank_score        REAL NOT NULL DEFAULT 0,    -- best first
            reasoning         TEXT NOT NULL DEFAULT '',
            weakest_point     TEXT NOT NULL DEFAULT '',
            critic            TEXT NOT NULL DEFAULT '',
            flags             TEXT NOT NULL DEFAULT '[]', -- JSON list of Flag objects
            critique          TEXT NOT NULL,              -- the full CritiqueResult as JSON
            status            TEXT NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'accepted', 'rejected', 'deferred')),
            note              TEXT NOT NULL DEFAULT '',
            queued_at         TEXT NOT NULL,              -- ISO 8601 UTC, microseconds
            decided_at        TEXT
        );
        CREATE INDEX queue_status_rank ON queue (status, rank_score);
        CREATE INDEX queue_session ON queue (session);
        CREATE INDEX queue_persona ON queue (persona);
        """,
    ),
    (
        2,
        """
        CREATE TABLE sessions (
            id          TEXT PRIMARY KEY,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            status      TEXT NOT NULL
                        CHECK (status IN ('running', 'interrupted', 'awaiting-review', 'completed', 'failed')),
            reason      TEXT NOT NULL DEFAULT '',
            config      TEXT NOT NULL,                    -- the SessionConfig as JSON (never a key)
            elapsed_s   REAL NOT NULL DEFAULT 0           -- wall time over all runs
        );
        CREATE TABLE days (
            session           TEXT NOT NULL REFERENCES sessions (id),
            persona           TEXT NOT NULL,
            day               INTEGER NOT NULL,
            status            TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            present           TEXT NOT NULL,
            summary           TEXT NOT NULL DEFAULT '{}', -- JSON: context ids, ideas, verdicts, notebook id
            generated         INTEGER NOT NULL DEFAULT 0,
            surviving         INTEGER NOT NULL DEFAULT 0,
            prompt_tokens     INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            error             TEXT NOT NULL DEFAULT '',
            finished_at       TEXT NOT NULL,
            PRIMARY KEY (session, persona, day)
        );
        """,
    ),
    (
        3,
        """
        CREATE TABLE pairwise_judgements (              -- "which of these two is better?", for ranking
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            idea_a      TEXT NOT NULL REFERENCES queue (idea_id),
            idea_b      TEXT NOT NULL REFERENCES queue (idea_id),
            winner      TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie')),
            judge       TEXT NOT NULL DEFAULT 'human',  -- who chose: the human reviewer, or a model
            source      TEXT NOT NULL DEFAULT '',       -- where: e.g. 'web' (the review page's compare mode)
            note        TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL,                  -- ISO 8601 UTC
            CHECK (idea_a <> idea_b)
        );
        CREATE INDEX pairwise_judgements_a ON pairwise_judgements (idea_a);
        CREATE INDEX pairwise_judgements_b ON pairwise_judgements (idea_b);
        """,
    ),
    (
        4,
        """
        PRAGMA defer_foreign_keys = ON;
        CREATE TABLE sessions_v4_copy AS SELECT * FROM sessions;
        DROP TABLE sessions;
        CREATE TABLE sessions (
            id          TEXT PRIMARY KEY,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            status      TEXT NOT NULL
                        CHECK (status IN ('running', 'interrupted', 'awaiting-review', 'completed',
                                          'completed-with-failures', 'failed')),
            reason      TEXT NOT NULL DEFAULT '',
            config      TEXT NOT NULL,                    -- the SessionConfig as JSON (never a key)
            elapsed_s   REAL NOT NULL DEFAULT 0           -- wall time over all runs
        );
        INSERT INTO sessions (id, created_at, updated_at, status, reason, config, elapsed_s)
            SELECT id, created_at, updated_at, status, reason, config, elapsed_s FROM sessions_v4_copy;
        DROP TABLE sessions_v4_copy;
        ALTER TABLE days ADD COLUMN drafts INTEGER NOT NULL DEFAULT 0;    -- every version of every idea
        ALTER TABLE days ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;  -- tries of this day so far
        ALTER TABLE days ADD COLUMN epoch INTEGER NOT NULL DEFAULT 1;     -- the review epoch it ran in
        UPDATE days SET drafts = (
            SELECT COALESCE(SUM(COALESCE(json_extract(value, '$.versions'), 1)), 0)
            FROM json_each(days.summary, '$.ideas')
        ) WHERE json_valid(summary);
        UPDATE days SET drafts = MAX(drafts, generated);
        CREATE TABLE epochs (                              -- one row per pause for review
            session     TEXT NOT NULL REFERENCES sessions (id),
            persona     TEXT NOT NULL,
            epoch       INTEGER NOT NULL,                  -- the epoch this pause ends: 1, 2, ...
            last_day    INTEGER NOT NULL,                  -- the persona paused after this day
            cause       TEXT NOT NULL CHECK (cause IN ('review-every', 'selection-bits')),
            reason      TEXT NOT NULL DEFAULT '',
            status      TEXT NOT NULL DEFAULT 'waiting'
                        CHECK (status IN ('waiting', 'reviewed', 'resumed-without-review')),
            paused_at   TEXT NOT NULL,
            closed_at   TEXT,                              -- when the next epoch started
            undecided   TEXT NOT NULL DEFAULT '[]',        -- JSON ids still pending at a --no-wait resume
            PRIMARY KEY (session, persona, epoch)
        );
        """,
    ),
    (
        5,
        """
        ALTER TABLE queue ADD COLUMN origin TEXT NOT NULL DEFAULT 'survivor'
            CHECK (origin IN ('survivor', 'audit'));        -- audit: the critic rejected it (a sample)
        CREATE TABLE ratings (                             -- Bradley-Terry ratings from pairwise judgements
            idea_id TEXT PRIMARY KEY REFERENCES queue (idea_id),
            rating REAL NOT NULL, sigma REAL NOT NULL,     -- Elo-scale points, and its standard error
            matches INTEGER NOT NULL, updated_at TEXT NOT NULL
        );
        CREATE TABLE tournaments (                         -- `groundhog rank` runs, resumable
            id TEXT PRIMARY KEY, session TEXT NOT NULL DEFAULT '', ideas TEXT NOT NULL DEFAULT '[]',
            matches INTEGER NOT NULL, max_tokens INTEGER, both_orders INTEGER NOT NULL DEFAULT 0,
            judge TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
            calls INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL
        );
        CREATE TABLE questions (                           -- what a persona asked the real researcher
            id TEXT PRIMARY KEY, session TEXT NOT NULL, persona TEXT NOT NULL, day INTEGER NOT NULL,
            present TEXT, question TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '{}',            -- JSON: the day's ideas and notebook id
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
            answer TEXT NOT NULL DEFAULT '', asked_at TEXT NOT NULL, answered_at TEXT
        );
        CREATE INDEX questions_persona ON questions (persona, status);
        """,
    ),
]

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
