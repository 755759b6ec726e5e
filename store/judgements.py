"""Pairwise judgements: "of these two queued ideas, which is better?", kept for a later ranking.

The review page's compare mode writes one row per choice into `pairwise_judgements` (see `core.db`);
`winner` is `a`, `b` or `tie`, always relative to the (idea_a, idea_b) order the reviewer saw.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from groundhog.core.db import store_errors, transaction
from groundhog.core.errors import BadInput
from groundhog.core.records import utcnow

Winner = Literal["a", "b", "tie"]
WINNERS: tuple[str, ...] = ("a", "b", "tie")


class Judgement(BaseModel):
    id: int
    idea_a: str
    idea_b: str
    winner: Winner
    judge: str = "human"
    source: str = ""
    note: str = ""
    created_at: datetime

    @property
    def winner_id(self) -> str | None:
        """The better idea's id; None for a tie."""
        return {"a": self.idea_a, "b": self.idea_b}.get(self.winner)


class JudgementStore:
    """Over one open connection (the queue's); it never opens or closes one itself."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(
        self, idea_a: str, idea_b: str, winner: str, *, note: str = "", judge: str = "human", source: str = ""
    ) -> Judgement:
        """Record one choice; both ids must be queued ideas (exact ids) and differ."""
        if winner not in WINNERS:
            raise BadInput(f"unknown choice {winner!r}; use one of {', '.join(WINNERS)}")
        if idea_a == idea_b:
            raise BadInput("a pairwise judgement needs two different ideas")
        with transaction(self.conn):
            for idea_id in (idea_a, idea_b):
                if self.conn.execute("SELECT 1 FROM queue WHERE idea_id = ?", (idea_id,)).fetchone() is None:
                    raise BadInput(f"no queued idea with id {idea_id!r}")
            cur = self.conn.execute(
                "INSERT INTO pairwise_judgements (idea_a, idea_b, winner, judge, source, note, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (idea_a, idea_b, winner, judge, source, note, utcnow().isoformat()),
            )
            row_id = int(cur.lastrowid or 0)
        return self.get(row_id)

    def get(self, row_id: int) -> Judgement:
        with store_errors(self.conn):
            row = self.conn.execute("SELECT * FROM pairwise_judgements WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            raise BadInput(f"no pairwise judgement {row_id}")
        return _judgement(row)

    def list(self, idea_id: str | None = None) -> list[Judgement]:
        """Oldest first; with an id, only the judgements that involve that idea."""
        sql = "SELECT * FROM pairwise_judgements"
        args: tuple[str, ...] = ()
        if idea_id is not None:
            sql, args = sql + " WHERE idea_a = ? OR idea_b = ?", (idea_id, idea_id)
        with store_errors(self.conn):
            rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [_judgement(r) for r in rows]

    def judged_pairs(self) -> set[frozenset[str]]:
        """Every unordered pair judged at least once."""
        with store_errors(self.conn):
            rows = self.conn.execute("SELECT DISTINCT idea_a, idea_b FROM pairwise_judgements").fetchall()
        return {frozenset((str(r[0]), str(r[1]))) for r in rows}


def _judgement(row: sqlite3.Row) -> Judgement:
    return Judgement(
        id=row["id"],
        idea_a=row["idea_a"],
        idea_b=row["idea_b"],
        winner=row["winner"],
        judge=row["judge"],
        source=row["source"],
        note=row["note"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )
