"""The newest notebook and feedback entries of a persona (the reviewer's decisions and answers), found
through SQLite's tables rather than by listing the persona's whole history in the vector store: the
wake-up then fetches them by id."""

from __future__ import annotations

import json
import sqlite3

from groundhog.core.records import stable_id


class RecentIndex:
    """Reads the day rows (each names its notebook entry), the decided queue items (each decision wrote
    one feedback entry with a deterministic id) and the answered questions (each answer one entry, too).
    Use it on the connection's own thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def notebook_ids(self, persona: str, limit: int) -> list[str]:
        """The persona's newest notebook entries, newest first, over every session in the home."""
        rows = self.conn.execute(
            "SELECT json_extract(summary, '$.notebook_id') FROM days "
            "WHERE persona = ? AND status = 'done' ORDER BY finished_at DESC, day DESC LIMIT ?",
            (persona, limit),
        ).fetchall()
        return [str(r[0]) for r in rows if r[0]]

    def work_ids(self, persona: str, limit: int) -> list[str] | None:
        """The ids of the persona's newest log entries (its days' ideas, critiques and notes), newest day
        first, at least `limit` of them when there are so many; None when a day row older than this
        version (which did not list its entries) would be needed: the caller then lists the log."""
        rows = self.conn.execute(
            "SELECT json_extract(summary, '$.entry_ids') FROM days "
            "WHERE persona = ? AND status = 'done' ORDER BY finished_at DESC, day DESC",
            (persona,),
        )
        found: list[str] = []
        for (listed,) in rows:
            if len(found) >= limit:
                break
            if listed is None:
                return None
            found += reversed(json.loads(listed))
        return found

    def feedback_ids(self, persona: str | None, limit: int) -> list[str]:
        """The newest feedback entries (of one persona, or of all), newest first: the decisions' (one
        entry per decided idea) and the researcher's answers to the personas' questions, by time."""
        own = " AND persona = ?" if persona is not None else ""
        args: list[object] = [persona] * 2 if persona is not None else []
        rows = self.conn.execute(
            "SELECT idea_id, decided_at AS at, 'feedback' FROM queue "
            f"WHERE status != 'pending' AND decided_at IS NOT NULL{own} "
            "UNION ALL SELECT id, answered_at AS at, 'answer' FROM questions "
            f"WHERE status = 'answered' AND answered_at IS NOT NULL{own} "
            "ORDER BY at DESC LIMIT ?",
            [*args, limit],
        ).fetchall()
        return [stable_id(r[0], r[2]) for r in rows]
