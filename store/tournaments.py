"""Tournament runs (`groundhog rank`) in SQLite: which ideas entered, the target and the budget, what the
run has spent so far, and how it stopped. Its matches are rows of `pairwise_judgements` whose `source`
is `rank:<id>`, each written in one transaction with the tokens it cost, so a run stopped at any moment
resumes from the matches on disk without paying for any twice.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from groundhog.core.db import store_errors, transaction
from groundhog.core.errors import BadInput
from groundhog.core.records import Usage, utcnow

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
    """Over one open connection (the queue's); it never opens or closes one itself."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

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
        with transaction(self.conn):
            if self.conn.execute("SELECT 1 FROM tournaments WHERE id = ?", (tournament_id,)).fetchone():
                raise BadInput(f"a tournament named '{tournament_id}' exists; resume it with --resume")
            self.conn.execute(
                "INSERT INTO tournaments (id, session, ideas, matches, max_tokens, both_orders, judge, status, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (tournament_id, session, json.dumps(ideas), matches, max_tokens, int(both_orders), judge, now, now),
            )
        return self.get(tournament_id)

    def get(self, tournament_id: str) -> TournamentRow:
        with store_errors(self.conn):
            row = self.conn.execute("SELECT * FROM tournaments WHERE id = ?", (tournament_id,)).fetchone()
        if row is None:
            raise BadInput(f"no tournament named '{tournament_id}' (see `groundhog rank --list`)")
        return _row(row)

    def all(self) -> list[TournamentRow]:
        """Newest first."""
        with store_errors(self.conn):
            rows = self.conn.execute("SELECT * FROM tournaments ORDER BY created_at DESC, id DESC").fetchall()
        return [_row(r) for r in rows]

    def update(self, tournament_id: str, **values: object) -> None:
        """Set settings that a resume may change (max_tokens) or the status and reason."""
        allowed = {"max_tokens", "status", "reason"}
        if not set(values) <= allowed:
            raise ValueError(f"cannot update {sorted(set(values) - allowed)}")
        sets = ", ".join(f"{k} = ?" for k in values)
        with transaction(self.conn):
            self.conn.execute(
                f"UPDATE tournaments SET {sets}, updated_at = ? WHERE id = ?",
                (*values.values(), _now(), tournament_id),
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
        with transaction(self.conn):
            if first is not None and second is not None and winner is not None:
                self.conn.execute(
                    "INSERT INTO pairwise_judgements (idea_a, idea_b, winner, judge, source, note, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (first, second, winner, judge, source_of(tournament_id), reasoning, _now()),
                )
            failed = 0 if winner is not None else 1
            self.conn.execute(
                "UPDATE tournaments SET calls = calls + ?, failed = failed + ?, prompt_tokens = prompt_tokens + ?, "
                "completion_tokens = completion_tokens + ?, updated_at = ? WHERE id = ?",
                (max(1, usage.calls), failed, usage.prompt_tokens, usage.completion_tokens, _now(), tournament_id),
            )

    def pairs(self, tournament_id: str) -> list[tuple[str, str]]:
        """The (first, second) pair of each judgement this tournament made, oldest first."""
        with store_errors(self.conn):
            rows = self.conn.execute(
                "SELECT idea_a, idea_b FROM pairwise_judgements WHERE source = ? ORDER BY id",
                (source_of(tournament_id),),
            ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]


def _row(row: sqlite3.Row) -> TournamentRow:
    return TournamentRow(
        id=row["id"],
        session=row["session"],
        ideas=json.loads(row["ideas"]),
        matches=row["matches"],
        max_tokens=row["max_tokens"],
        both_orders=bool(row["both_orders"]),
        judge=row["judge"],
        status=row["status"],
        reason=row["reason"],
        calls=row["calls"],
        failed=row["failed"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )
