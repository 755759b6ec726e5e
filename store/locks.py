"""One process per session: an advisory lock held while a session runs.

On SQLite, a lock file in the home (fcntl). On PostgreSQL (`db` a PgConnection, `database_url` set), a
`pg_try_advisory_lock` held by the session's connection, so processes on different machines exclude each
other; a connection that dies (its process killed) releases it. The lock also tells a session that is
really running from one whose process died (status still `running` in the database, nobody holding the
lock).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from groundhog.core.errors import BadInput


def lock_path(home: Path, session: str) -> Path:
    return home / "locks" / f"{session}.lock"


@contextmanager
def session_lock(home: Path, session: str, db: Any = None) -> Iterator[None]:
    if _pg(db):
        if not db.try_lock(session):
            raise BadInput(f"session '{session}' is running in another process")
        try:
            yield
        finally:
            db.unlock(session)
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


def _pg(db: Any) -> bool:
    return getattr(db, "dialect", None) == "postgresql"


def is_running(home: Path, session: str, db: Any = None) -> bool:
    """Whether some process holds the session's lock right now."""
    if _pg(db):
        return bool(db.is_locked(session))
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


def effective_status(home: Path, session: str, status: str, reason: str, db: Any = None) -> tuple[str, str]:
    """A session recorded as running whose process is gone was killed: say so."""
    if status == "running" and not is_running(home, session, db):
        return (
            "interrupted",
            f"the process ended without a clean stop (killed or crashed); resume with --resume {session}",
        )
    return status, reason
