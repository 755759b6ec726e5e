"""The review queue: ideas that survived the critique, best first, waiting for a human decision.

Rows live in the `queue` table of the groundhog database (see `core.db`). The idea's fields and the
critic's scores are columns, so the queue can be filtered and ranked in SQL; the full critique is kept
as JSON beside them, so nothing the critic said is lost.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from groundhog.core.db import db_path, store_errors, transaction
from groundhog.core.errors import BadInput, StoreError
from groundhog.core.records import QUEUE_STATUSES, CritiqueResult, Idea, QueueItem, utcnow

RUBRIC_WEIGHT = 0.75
NOVELTY_WEIGHT = 0.25
MIN_PREFIX = 4

DECISIONS: dict[str, str] = {"accept": "accepted", "reject": "rejected", "defer": "deferred"}


def decision_status(decision: str) -> str:
    """'accept' -> 'accepted'; BadInput for any other word, before anything is written."""
    word = decision.strip().lower()
    if word not in DECISIONS:
        raise BadInput(f"unknown decision {decision!r}; use accept, reject or defer")
    return DECISIONS[word]


_Items = list[QueueItem]

_COLUMNS = (
    "idea_id, session, persona, day, present, title, summary, rationale, builds_on, revision, parent_id, "
    "score_novelty, score_feasibility, score_relevance, score_clarity, novelty, rank_score, reasoning, "
    "weakest_point, critic, flags, critique, status, note, queued_at, decided_at, origin"
)
_PLACEHOLDERS = ", ".join("?" for _ in _COLUMNS.split(","))
_ORDER = "ORDER BY rank_score DESC, queued_at ASC, idea_id ASC"
# Reading: each row with its tournament rating, if it has one. Rated ideas come first, best rating
# first; the others follow by rank_score (rubric and novelty).
_SELECT = f"SELECT {_COLUMNS}, rating, sigma, matches FROM queue LEFT JOIN ratings USING (idea_id)"
_READ_ORDER = "ORDER BY rating IS NULL, rating DESC, rank_score DESC, queued_at ASC, idea_id ASC"


def rank_score(critique: CritiqueResult, novelty: float) -> float:
    """Best first: 0.75 x the rubric mean mapped from 1..10 to 0..1, plus 0.25 x novelty (clamped to 0..1).

    The rubric dominates because it judges the idea itself; novelty breaks ties in favour of ideas
    far from earlier ones. An unscored critique counts as the lowest rubric.
    """
    rubric = 0.0 if critique.scores is None else (critique.scores.mean - 1.0) / 9.0
    return RUBRIC_WEIGHT * rubric + NOVELTY_WEIGHT * min(1.0, max(0.0, novelty))


def _stamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with fixed precision, so text order is time order."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _row_values(item: QueueItem) -> tuple[Any, ...]:
    idea, critique = item.idea, item.critique
    scores = critique.scores
    return (
        idea.id,
        idea.session,
        idea.persona,
        idea.day,
        idea.present.isoformat() if idea.present else None,
        idea.title,
        idea.summary,
        idea.rationale,
        json.dumps(idea.builds_on),
        idea.revision,
        idea.parent_id,
        scores.novelty if scores else None,
        scores.feasibility if scores else None,
        scores.relevance if scores else None,
        scores.clarity if scores else None,
        float(item.novelty),
        float(item.rank_score),
        critique.reasoning,
        critique.weakest_point,
        critique.critic,
        json.dumps([flag.model_dump(mode="json") for flag in critique.flags]),
        critique.model_dump_json(),
        item.status,
        item.note,
        _stamp(item.queued_at),
        _stamp(item.decided_at),
        item.origin,
    )


def _item_from_row(row: sqlite3.Row, where: str) -> QueueItem:
    try:
        idea = Idea(
            id=row["idea_id"],
            title=row["title"],
            summary=row["summary"],
            rationale=row["rationale"],
            builds_on=json.loads(row["builds_on"]),
            persona=row["persona"],
            session=row["session"],
            day=row["day"],
            present=date.fromisoformat(row["present"]) if row["present"] else None,
            revision=row["revision"],
            parent_id=row["parent_id"],
        )
        return QueueItem(
            idea=idea,
            critique=CritiqueResult.model_validate_json(row["critique"]),
            rank_score=row["rank_score"],
            novelty=row["novelty"],
            status=row["status"],
            note=row["note"],
            queued_at=datetime.fromisoformat(row["queued_at"]),
            decided_at=datetime.fromisoformat(row["decided_at"]) if row["decided_at"] else None,
            origin=row["origin"],
            rating=row["rating"],
            rating_sigma=row["sigma"],
            matches=row["matches"] or 0,
        )
    except (ValidationError, ValueError, TypeError) as err:
        raise StoreError(f"queued idea {row['idea_id']!r} in {where} is unreadable: {err}") from err


class ReviewQueue:
    """The queue over one open connection (from `core.db.open_db`); it never opens or closes one itself.

    Transactions: `add` is a single INSERT and opens none of its own, so outside a transaction it commits
    at once and inside the caller's `transaction(conn)` it commits or rolls back with the rest.
    `decide` uses `transaction`, which nests as a savepoint inside the caller's one.
    """

    def __init__(self, conn: sqlite3.Connection, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.conn = conn
        self.clock = clock

    def add(self, item: QueueItem) -> bool:
        """Queue an item; the same idea id twice never makes two rows. True when a row was inserted."""
        with store_errors(self.conn):
            cursor = self.conn.execute(
                f"INSERT OR IGNORE INTO queue ({_COLUMNS}) VALUES ({_PLACEHOLDERS})", _row_values(item)
            )
        return cursor.rowcount == 1

    def _resolve(self, idea_id: str) -> str:
        """An exact id, or a unique prefix of at least MIN_PREFIX characters."""
        idea_id = idea_id.strip()
        if not idea_id:
            raise BadInput("give an idea id")
        row = self.conn.execute("SELECT idea_id FROM queue WHERE idea_id = ?", (idea_id,)).fetchone()
        if row is not None:
            return str(row[0])
        if len(idea_id) >= MIN_PREFIX:
            rows = self.conn.execute(
                f"SELECT idea_id FROM queue WHERE substr(idea_id, 1, ?) = ? {_ORDER} LIMIT 6",
                (len(idea_id), idea_id),
            ).fetchall()
            if len(rows) == 1:
                return str(rows[0][0])
            if len(rows) > 1:
                shown = ", ".join(r[0] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
                raise BadInput(f"id prefix {idea_id!r} matches several queued ideas ({shown}); give more of it")
        raise BadInput(f"no queued idea with id {idea_id!r}")

    def get(self, idea_id: str) -> QueueItem:
        """One item by id or unique id prefix (>= 4 characters); BadInput when missing or ambiguous."""
        with store_errors(self.conn):
            full_id = self._resolve(idea_id)
            row = self.conn.execute(f"{_SELECT} WHERE idea_id = ?", (full_id,)).fetchone()
        if row is None:
            raise BadInput(f"no queued idea with id {idea_id!r}")
        return _item_from_row(row, db_path(self.conn))

    def list(
        self,
        status: str | None = None,
        session: str | None = None,
        persona: str | None = None,
        limit: int | None = None,
    ) -> _Items:
        """Items best first: by tournament rating where one exists (those first), then by rank_score
        (rubric and novelty); ties oldest first."""
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            if status not in QUEUE_STATUSES:
                raise BadInput(f"unknown status {status!r}; use one of {', '.join(QUEUE_STATUSES)}")
            clauses.append("status = ?")
            params.append(status)
        if session is not None:
            clauses.append("session = ?")
            params.append(session)
        if persona is not None:
            clauses.append("persona = ?")
            params.append(persona)
        sql = _SELECT
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " " + _READ_ORDER
        if limit is not None:
            if limit < 0:
                raise BadInput(f"limit must be 0 or more, not {limit}")
            sql += " LIMIT ?"
            params.append(limit)
        with store_errors(self.conn):
            rows = self.conn.execute(sql, params).fetchall()
        where = db_path(self.conn)
        return [_item_from_row(row, where) for row in rows]

    def decide(self, idea_id: str, decision: str, note: str = "") -> QueueItem:
        """Record a human decision; committed (and synced) before returning. Deciding again overwrites."""
        status = decision_status(decision)
        with transaction(self.conn):
            full_id = self._resolve(idea_id)
            self.conn.execute(
                "UPDATE queue SET status = ?, note = ?, decided_at = ? WHERE idea_id = ?",
                (status, note, _stamp(self.clock()), full_id),
            )
        return self.get(full_id)

    def counts(self) -> dict[str, int]:
        """How many items in each status, every status present (zero included)."""
        with store_errors(self.conn):
            rows = self.conn.execute("SELECT status, count(*) FROM queue GROUP BY status").fetchall()
        found = {str(r[0]): int(r[1]) for r in rows}
        return {status: found.get(status, 0) for status in QUEUE_STATUSES}
