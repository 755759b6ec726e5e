"""The newest notebook and feedback entries of a persona (the reviewer's decisions and answers), found
through the database's tables rather than by listing the persona's whole history in the vector store:
the wake-up then fetches them by id.

Every wake-up asks these three questions, so the statements are built once, with bound parameters
(SQLAlchemy then reuses their compiled form), and `newest` asks all three on one connection.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, literal, select, union_all

from groundhog.core.records import stable_id
from groundhog.store.database import Database
from groundhog.store.schema import days, questions, queue

_DONE = (days.c.persona == bindparam("persona"), days.c.status == "done")
_NEWEST_FIRST = (days.c.finished_at.desc(), days.c.day.desc())
_NOTEBOOKS = (
    select(days.c.summary["notebook_id"].as_string()).where(*_DONE).order_by(*_NEWEST_FIRST).limit(bindparam("n"))
)
_WORK = select(days.c.summary["entry_ids"]).where(*_DONE).order_by(*_NEWEST_FIRST)


def _feedback_statement(one_persona: bool) -> Any:
    decided = select(queue.c.idea_id.label("id"), queue.c.decided_at.label("at"), literal("feedback").label("kind"))
    decided = decided.where(queue.c.status != "pending", queue.c.decided_at.is_not(None))
    answered = select(questions.c.id, questions.c.answered_at, literal("answer"))
    answered = answered.where(questions.c.status == "answered", questions.c.answered_at.is_not(None))
    if one_persona:
        decided = decided.where(queue.c.persona == bindparam("persona"))
        answered = answered.where(questions.c.persona == bindparam("persona"))
    both = union_all(decided, answered).subquery()
    return select(both.c.id, both.c.kind).order_by(both.c.at.desc()).limit(bindparam("n"))


_FEEDBACK = {True: _feedback_statement(True), False: _feedback_statement(False)}


class RecentIndex:
    """Reads the day rows (each names its notebook entry), the decided queue items (each decision wrote
    one feedback entry with a deterministic id) and the answered questions (each answer one entry, too)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def newest(
        self, persona: str, notes: int, feedback_of: str | None, feedback: int, work: int
    ) -> tuple[list[str], list[str], list[str] | None]:
        """`notebook_ids`, `feedback_ids` (of `feedback_of`; None: of all) and `work_ids`, read together."""
        with self.db.connect() as conn:
            return (
                _notebook_ids(conn, persona, notes),
                _feedback_ids(conn, feedback_of, feedback),
                _work_ids(conn, persona, work),
            )

    def notebook_ids(self, persona: str, limit: int) -> list[str]:
        """The persona's newest notebook entries, newest first, over every session in the home."""
        with self.db.connect() as conn:
            return _notebook_ids(conn, persona, limit)

    def work_ids(self, persona: str, limit: int) -> list[str] | None:
        """The ids of the persona's newest log entries (its days' ideas, critiques and notes), newest day
        first, at least `limit` of them when there are so many; None when a day row older than this
        version (which did not list its entries) would be needed: the caller then lists the log."""
        with self.db.connect() as conn:
            return _work_ids(conn, persona, limit)

    def feedback_ids(self, persona: str | None, limit: int) -> list[str]:
        """The newest feedback entries (of one persona, or of all), newest first: the decisions' (one
        entry per decided idea) and the researcher's answers to the personas' questions, by time."""
        with self.db.connect() as conn:
            return _feedback_ids(conn, persona, limit)


def _notebook_ids(conn: Connection, persona: str, limit: int) -> list[str]:
    return [str(found) for found in conn.execute(_NOTEBOOKS, {"persona": persona, "n": limit}).scalars() if found]


def _work_ids(conn: Connection, persona: str, limit: int) -> list[str] | None:
    found: list[str] = []
    for listed in conn.execute(_WORK, {"persona": persona}).scalars():
        if len(found) >= limit:
            break
        if listed is None:
            return None
        found += reversed(listed)
    return found


def _feedback_ids(conn: Connection, persona: str | None, limit: int) -> list[str]:
    params = {"n": limit} if persona is None else {"persona": persona, "n": limit}
    return [stable_id(row[0], row[1]) for row in conn.execute(_FEEDBACK[persona is not None], params)]
