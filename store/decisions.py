"""Each reviewer's own decision on a queued idea: table `decisions`, one row per (idea, reviewer).

The queue row (store/queue.py) keeps the latest decision, whoever made it, so everything that reads a
status reads it there; these rows say who decided what, for the exports and for the agreement between
reviewers (`queue stats`). Deciding again as the same reviewer overwrites that reviewer's row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, delete, select

from groundhog.core.errors import StoreError
from groundhog.core.records import Decision
from groundhog.store.database import Database
from groundhog.store.schema import decisions

CHUNK = 500  # ids per IN (...) when reading the decisions of a listing: well inside both databases' limits
_ORDER = (decisions.c.decided_at.asc(), decisions.c.reviewer.asc())


def _decision(row: Mapping[Any, Any], where: str) -> Decision:
    try:
        return Decision(
            reviewer=row["reviewer"],
            status=row["status"],
            note=row["note"],
            decided_at=datetime.fromisoformat(row["decided_at"]),
        )
    except (ValidationError, ValueError, TypeError) as err:
        raise StoreError(f"a decision on {row['idea_id']!r} in {where} is unreadable: {err}") from err


def read(conn: Connection, idea_ids: Iterable[str], where: str) -> dict[str, list[Decision]]:
    """idea id -> its decisions, oldest first (ids without any are absent)."""
    ids = list(dict.fromkeys(idea_ids))
    found: dict[str, list[Decision]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        statement = select(decisions).where(decisions.c.idea_id.in_(chunk)).order_by(*_ORDER)
        for row in conn.execute(statement).mappings():
            found.setdefault(str(row["idea_id"]), []).append(_decision(row, where))
    return found


def write(db: Database, conn: Connection, idea_id: str, reviewer: str, status: str, note: str, stamp: str) -> None:
    """Set the reviewer's row for the idea (inserted, or overwriting that reviewer's earlier one)."""
    values = {"idea_id": idea_id, "reviewer": reviewer, "status": status, "note": note, "decided_at": stamp}
    statement = db.insert(decisions).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["idea_id", "reviewer"],
        set_={"status": statement.excluded.status, "note": statement.excluded.note, "decided_at": stamp},
    )
    conn.execute(statement)


def remove(conn: Connection, idea_id: str, reviewer: str) -> None:
    conn.execute(delete(decisions).where(decisions.c.idea_id == idea_id, decisions.c.reviewer == reviewer))
