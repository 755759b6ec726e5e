"""One process per session: an advisory lock held while a session runs.

On SQLite, a lock file in the home (fcntl). On PostgreSQL (`database_url` set), a session-level
`pg_try_advisory_lock` held by a connection of its own for as long as the session runs, so processes on
different machines exclude each other; a connection that dies (its process killed) releases it. The lock
also tells a session that is really running from one whose process died (status still `running` in the
database, nobody holding the lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from groundhog.core.errors import BadInput
from groundhog.store.database import Database
from groundhog.store.migrate import LOCK_CLASS


def lock_path(home: Path, session: str) -> Path:
    return home / "locks" / f"{session}.lock"


def lock_key(name: str) -> int:
    """The second advisory-lock key (a signed 32-bit integer) for a name such as a session id."""
    return zlib.crc32(name.encode()) - (1 << 31)


def _pg(db: Any) -> bool:
    return isinstance(db, Database) and db.dialect == "postgresql"


@contextmanager
def session_lock(home: Path, session: str, db: Database | None = None) -> Iterator[None]:
    if _pg(db):
        assert db is not None
        with _advisory_lock(db, session):
            yield
        return
    path = lock_path(home, session)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BadInput(f"session '{session}' is running in another process") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def _advisory_lock(db: Database, name: str) -> Iterator[None]:
    """Held by a connection kept out of the pool for the whole block; released, or gone with it."""
    key = lock_key(name)
    with db.errors():
        conn = db.engine.connect()
    try:
        with db.errors():
            got = conn.execute(select(func.pg_try_advisory_lock(LOCK_CLASS, key))).scalar()
            conn.commit()
        if not got:
            raise BadInput(f"session '{name}' is running in another process")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # the connection is gone, and the lock with it
                conn.execute(select(func.pg_advisory_unlock(LOCK_CLASS, key)))
                conn.commit()
    finally:
        with contextlib.suppress(Exception):
            conn.close()


_HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
    "AND classid::bigint = :class_id AND objid::bigint = :object_id"
)


def is_running(home: Path, session: str, db: Database | None = None) -> bool:
    """Whether some process holds the session's lock right now."""
    if _pg(db):
        assert db is not None
        with db.connect() as conn:
            held = conn.execute(_HELD, {"class_id": LOCK_CLASS, "object_id": lock_key(session) & 0xFFFFFFFF})
            return bool(held.scalar())
    path = lock_path(home, session)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def effective_status(home: Path, session: str, status: str, reason: str, db: Database | None = None) -> tuple[str, str]:
    """A session recorded as running whose process is gone was killed: say so."""
    if status == "running" and not is_running(home, session, db):
        return (
            "interrupted",
            f"the process ended without a clean stop (killed or crashed); resume with --resume {session}",
        )
    return status, reason
