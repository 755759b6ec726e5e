"""Tournament runs (`groundhog rank`) in the database: which ideas entered, the target and the budget, what the
run has spent so far, and how it stopped. Its matches are rows of `pairwise_judgements` whose `source`
is `rank:<id>`, each written in one transaction with the tokens it cost, so a run stopped at any moment
resumes from the matches on disk without paying for any twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import insert, select, update

from groundhog.core.errors import BadInput
from groundhog.core.records import Usage, utcnow
from groundhog.store.database import Database
from groundhog.store.schema import pairwise_judgements, tournaments

TournamentStatus = Literal["running", "completed", "budget-reached", "interrupted", "failed"]


class TournamentRow(BaseModel):
    id: str
    session: str  # '' : ideas of every session
    ideas: list[str]
    matches: int  # opponents each idea should meet
    max_tokens: int | None
    both_orders: bool
    judge: str  # the critic model's name
    status: TournamentStatus
    reason: str
    calls: int
    failed: int  # calls whose reply could not be read
    prompt_tokens: int
    completion_tokens: int
    created_at: datetime
    updated_at: datetime

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def source(self) -> str:
        return source_of(self.id)


def source_of(tournament_id: str) -> str:
    return f"rank:{tournament_id}"


def _now() -> str:
    return utcnow().isoformat(timespec="microseconds")


class TournamentStore:
    """Over one database (the queue's); it never opens or closes it itself."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        tournament_id: str,
        *,
        session: str,
        ideas: list[str],
        matches: int,
        max_tokens: int | None,
        both_orders: bool,
        judge: str,
    ) -> TournamentRow:
        now = _now()
        with self.db.begin() as conn:
            if conn.execute(select(tournaments.c.id).where(tournaments.c.id == tournament_id)).first():
                raise BadInput(f"a tournament named '{tournament_id}' exists; resume it with --resume")
            conn.execute(
                insert(tournaments).values(
                    id=tournament_id,
                    session=session,
                    ideas=ideas,
                    matches=matches,
                    max_tokens=max_tokens,
                    both_orders=int(both_orders),
                    judge=judge,
                    status="running",
                    created_at=now,
                    updated_at=now,
                )
            )
        return self.get(tournament_id)

    def get(self, tournament_id: str) -> TournamentRow:
        with self.db.connect() as conn:
            row = conn.execute(select(tournaments).where(tournaments.c.id == tournament_id)).mappings().first()
        if row is None:
            raise BadInput(f"no tournament named '{tournament_id}' (see `groundhog rank --list`)")
        return TournamentRow.model_validate(row)

    def all(self) -> list[TournamentRow]:
        """Newest first."""
        statement = select(tournaments).order_by(tournaments.c.created_at.desc(), tournaments.c.id.desc())
        with self.db.connect() as conn:
            return [TournamentRow.model_validate(r) for r in conn.execute(statement).mappings()]

    def update(self, tournament_id: str, **values: object) -> None:
        """Set settings that a resume may change (max_tokens) or the status and reason."""
        allowed = {"max_tokens", "status", "reason"}
        if not set(values) <= allowed:
            raise ValueError(f"cannot update {sorted(set(values) - allowed)}")
        with self.db.begin() as conn:
            conn.execute(
                update(tournaments).where(tournaments.c.id == tournament_id).values(**values, updated_at=_now())
            )

    def record(
        self,
        tournament_id: str,
        usage: Usage,
        *,
        first: str | None = None,
        second: str | None = None,
        winner: str | None = None,
        judge: str = "",
        reasoning: str = "",
    ) -> None:
        """One call's cost, and (when its reply was read) its judgement: one transaction."""
        t = tournaments.c
        with self.db.begin() as conn:
            if first is not None and second is not None and winner is not None:
                conn.execute(
                    insert(pairwise_judgements).values(
                        idea_a=first,
                        idea_b=second,
                        winner=winner,
                        judge=judge,
                        source=source_of(tournament_id),
                        note=reasoning,
                        created_at=_now(),
                    )
                )
            failed = 0 if winner is not None else 1
            conn.execute(
                update(tournaments)
                .where(t.id == tournament_id)
                .values(
                    calls=t.calls + max(1, usage.calls),
                    failed=t.failed + failed,
                    prompt_tokens=t.prompt_tokens + usage.prompt_tokens,
                    completion_tokens=t.completion_tokens + usage.completion_tokens,
                    updated_at=_now(),
                )
            )

    def pairs(self, tournament_id: str) -> list[tuple[str, str]]:
        """The (first, second) pair of each judgement this tournament made, oldest first."""
        j = pairwise_judgements.c
        statement = select(j.idea_a, j.idea_b).where(j.source == source_of(tournament_id)).order_by(j.id)
        with self.db.connect() as conn:
            return [(str(a), str(b)) for a, b in conn.execute(statement)]
