"""Pairwise judgements: "of these two queued ideas, which is better?", kept for a later ranking.

The review page's compare mode writes one row per choice into `pairwise_judgements`, a tournament one per
match (store/tournaments.py); `winner` is `a`, `b` or `tie`, always relative to the (idea_a, idea_b) order
the judge saw. The ratings fitted from them (rank/ratings.py) are kept in `ratings` (`replace_ratings`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import delete, insert, or_, select

from groundhog.core.errors import BadInput
from groundhog.core.records import utcnow
from groundhog.store.database import Database
from groundhog.store.schema import pairwise_judgements, queue, ratings

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
    """Over one database (the queue's); it never opens or closes it itself."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self, idea_a: str, idea_b: str, winner: str, *, note: str = "", judge: str = "human", source: str = ""
    ) -> Judgement:
        """Record one choice; both ids must be queued ideas (exact ids) and differ."""
        if winner not in WINNERS:
            raise BadInput(f"unknown choice {winner!r}; use one of {', '.join(WINNERS)}")
        if idea_a == idea_b:
            raise BadInput("a pairwise judgement needs two different ideas")
        with self.db.begin() as conn:
            for idea_id in (idea_a, idea_b):
                if conn.execute(select(queue.c.idea_id).where(queue.c.idea_id == idea_id)).first() is None:
                    raise BadInput(f"no queued idea with id {idea_id!r}")
            result = conn.execute(
                insert(pairwise_judgements).values(
                    idea_a=idea_a,
                    idea_b=idea_b,
                    winner=winner,
                    judge=judge,
                    source=source,
                    note=note,
                    created_at=utcnow().isoformat(),
                )
            )
            key = result.inserted_primary_key
            assert key is not None  # an INSERT of one row always has its key
            row_id = int(key[0])
        return self.get(row_id)

    def get(self, row_id: int) -> Judgement:
        with self.db.connect() as conn:
            statement = select(pairwise_judgements).where(pairwise_judgements.c.id == row_id)
            row = conn.execute(statement).mappings().first()
        if row is None:
            raise BadInput(f"no pairwise judgement {row_id}")
        return Judgement.model_validate(row)

    def outcomes(self) -> list[tuple[str, str, str, str]]:
        """(idea_a, idea_b, winner, judge) of every judgement, oldest first: what the ratings are fitted on."""
        j = pairwise_judgements.c
        with self.db.connect() as conn:
            rows = conn.execute(select(j.idea_a, j.idea_b, j.winner, j.judge).order_by(j.id)).all()
        return [(str(a), str(b), str(w), str(judge)) for a, b, w, judge in rows]

    def list(self, idea_id: str | None = None) -> list[Judgement]:
        """Oldest first; with an id, only the judgements that involve that idea."""
        j = pairwise_judgements.c
        statement = select(pairwise_judgements).order_by(j.id)
        if idea_id is not None:
            statement = statement.where(or_(j.idea_a == idea_id, j.idea_b == idea_id))
        with self.db.connect() as conn:
            return [Judgement.model_validate(r) for r in conn.execute(statement).mappings()]

    def judged_pairs(self) -> set[frozenset[str]]:
        """Every unordered pair judged at least once."""
        j = pairwise_judgements.c
        with self.db.connect() as conn:
            rows = conn.execute(select(j.idea_a, j.idea_b).distinct()).all()
        return {frozenset((str(a), str(b))) for a, b in rows}


def replace_ratings(db: Database, rows: Iterable[tuple[str, float, float, int]]) -> None:
    """The `ratings` table becomes exactly these (idea_id, rating, sigma, matches), in one transaction."""
    now = utcnow().isoformat(timespec="microseconds")
    values = [
        {"idea_id": i, "rating": rating, "sigma": sigma, "matches": matches, "updated_at": now}
        for i, rating, sigma, matches in rows
    ]
    with db.begin() as conn:
        conn.execute(delete(ratings))
        if values:
            conn.execute(insert(ratings), values)
