"""The `epochs` table: one row per pause for review, written with the day it follows (store/sessions.py)
and closed when the next review epoch starts (loop/epochs.py decides when)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select, update

from groundhog.core.records import utcnow
from groundhog.store.database import Database
from groundhog.store.schema import epochs
from groundhog.store.sessions import PauseCause

EpochStatus = Literal["waiting", "reviewed", "resumed-without-review"]


class EpochRow(BaseModel):
    """The end of one review epoch of one persona: why it paused and how the pause was closed."""

    session: str
    persona: str
    epoch: int
    last_day: int
    cause: PauseCause
    reason: str
    status: EpochStatus
    paused_at: datetime
    closed_at: datetime | None
    undecided: list[str]


class EpochStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self, session_id: str, persona: str | None = None) -> list[EpochRow]:
        """The pauses recorded: one per ended (or waiting) epoch, oldest first."""
        statement = select(epochs).where(epochs.c.session == session_id)
        if persona:
            statement = statement.where(epochs.c.persona == persona)
        with self.db.connect() as conn:
            rows = conn.execute(statement.order_by(epochs.c.persona, epochs.c.epoch)).mappings()
            return [EpochRow.model_validate(r) for r in rows]

    def paused_after(self, session_id: str, persona: str, day: int) -> bool:
        """Whether a pause was already recorded after this day or a later one."""
        e = epochs.c
        statement = select(e.epoch).where(e.session == session_id, e.persona == persona, e.last_day >= day)
        with self.db.connect() as conn:
            return conn.execute(statement.limit(1)).first() is not None

    def close(self, pause: EpochRow, status: EpochStatus, undecided: list[str] | None = None) -> None:
        e = epochs.c
        with self.db.begin() as conn:
            conn.execute(
                update(epochs)
                .where(e.session == pause.session, e.persona == pause.persona, e.epoch == pause.epoch)
                .where(e.status == "waiting")
                .values(status=status, closed_at=utcnow().isoformat(), undecided=undecided or [])
            )
