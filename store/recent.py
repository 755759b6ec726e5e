"""The newest notebook and feedback entries of a persona (the reviewer's decisions and answers), found
through the database's tables rather than by listing the persona's whole history in the vector store:
the wake-up then fetches them by id."""

from __future__ import annotations

from sqlalchemy import literal, select, union_all

from groundhog.core.records import stable_id
from groundhog.store.database import Database
from groundhog.store.schema import days, questions, queue


class RecentIndex:
    """Reads the day rows (each names its notebook entry), the decided queue items (each decision wrote
    one feedback entry with a deterministic id) and the answered questions (each answer one entry, too)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def notebook_ids(self, persona: str, limit: int) -> list[str]:
        """The persona's newest notebook entries, newest first, over every session in the home."""
        statement = (
            select(days.c.summary["notebook_id"].as_string())
            .where(days.c.persona == persona, days.c.status == "done")
            .order_by(days.c.finished_at.desc(), days.c.day.desc())
            .limit(limit)
        )
        with self.db.connect() as conn:
            return [str(found) for found in conn.execute(statement).scalars() if found]

    def work_ids(self, persona: str, limit: int) -> list[str] | None:
        """The ids of the persona's newest log entries (its days' ideas, critiques and notes), newest day
        first, at least `limit` of them when there are so many; None when a day row older than this
        version (which did not list its entries) would be needed: the caller then lists the log."""
        statement = (
            select(days.c.summary["entry_ids"])
            .where(days.c.persona == persona, days.c.status == "done")
            .order_by(days.c.finished_at.desc(), days.c.day.desc())
        )
        found: list[str] = []
        with self.db.connect() as conn:
            for listed in conn.execute(statement).scalars():
                if len(found) >= limit:
                    break
                if listed is None:
                    return None
                found += reversed(listed)
        return found

    def feedback_ids(self, persona: str | None, limit: int) -> list[str]:
        """The newest feedback entries (of one persona, or of all), newest first: the decisions' (one
        entry per decided idea) and the researcher's answers to the personas' questions, by time."""
        decided = select(queue.c.idea_id.label("id"), queue.c.decided_at.label("at"), literal("feedback").label("kind"))
        decided = decided.where(queue.c.status != "pending", queue.c.decided_at.is_not(None))
        answered = select(questions.c.id, questions.c.answered_at, literal("answer"))
        answered = answered.where(questions.c.status == "answered", questions.c.answered_at.is_not(None))
        if persona is not None:
            decided = decided.where(queue.c.persona == persona)
            answered = answered.where(questions.c.persona == persona)
        both = union_all(decided, answered).subquery()
        statement = select(both.c.id, both.c.kind).order_by(both.c.at.desc()).limit(limit)
        with self.db.connect() as conn:
            return [stable_id(row[0], row[1]) for row in conn.execute(statement)]
