"""The newest notebook and feedback entries of a persona, found through SQLite's tables rather than by
listing the persona's whole history in the vector store: the wake-up then fetches them by id."""

from __future__ import annotations

import sqlite3

from groundhog.core.records import stable_id


class RecentIndex:
    """Reads the day rows (each names its notebook entry) and the decided queue items (each decision
    wrote one feedback entry with a deterministic id). Use it on the connection's own thread."""

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

    def feedback_ids(self, persona: str | None, limit: int) -> list[str]:
        """The newest decisions' feedback entries (of one persona, or of all), newest first."""
        sql = "SELECT idea_id FROM queue WHERE status != 'pending' AND decided_at IS NOT NULL"
        args: list[object] = []
        if persona is not None:
            sql += " AND persona = ?"
            args.append(persona)
        rows = self.conn.execute(sql + " ORDER BY decided_at DESC LIMIT ?", [*args, limit]).fetchall()
        return [stable_id(r[0], "feedback") for r in rows]
