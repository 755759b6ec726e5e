"""Session state: each session's saved settings and status, one row per finished day, and one
row per pause for review.

A day row is the commit point of a day: written in one transaction together with the day's queue
items (and the pause that follows it, if any), after the day's log entries are in Chroma. A day without
a row is redone on resume; so is a failed day, up to MAX_DAY_ATTEMPTS attempts in all.

Each day row carries its review epoch; the `epochs` table (the pauses that end them) is store/epochs.py.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, bindparam, case, delete, func, insert, select, update

from groundhog.core.errors import BadInput
from groundhog.core.records import QueueItem, Usage, selection_bits, utcnow
from groundhog.core.settings import CritiqueOptions, LoopOptions, ModelSettings
from groundhog.store.database import Database
from groundhog.store.queue import ReviewQueue
from groundhog.store.schema import days, epochs, sessions

SessionStatus = Literal["running", "interrupted", "awaiting-review", "completed", "completed-with-failures", "failed"]
PauseCause = Literal["review-every", "selection-bits"]

MAX_DAY_ATTEMPTS = 3  # a failed day is redone on resume until it has been tried this many times


class SessionConfig(LoopOptions, CritiqueOptions):
    """Everything needed to run or resume a session. Saved with it as flat JSON; holds no API key.

    The loop's and the critique's options are inherited from the settings, so each is declared once."""

    model_config = ConfigDict(extra="forbid")

    id: str
    personas: list[str] = Field(min_length=1)
    present: date
    critic_judges_manipulation: bool = False  # resolved from the settings when the session starts
    thresholds: dict[str, float] = Field(default_factory=dict)
    babble: ModelSettings
    critic: ModelSettings | None = None

    def present_on(self, day: int) -> date:
        from datetime import timedelta

        return self.present + timedelta(days=(day - 1) * self.drift_days)


class SessionRow(BaseModel):
    id: str
    created_at: datetime
    updated_at: datetime
    status: SessionStatus
    reason: str
    config: SessionConfig
    elapsed_s: float


class DayRow(BaseModel):
    session: str
    persona: str
    day: int
    status: Literal["done", "failed"]
    present: date
    summary: dict[str, Any]
    generated: int
    surviving: int
    prompt_tokens: int
    completion_tokens: int
    error: str
    finished_at: datetime
    drafts: int = 0  # every version of every idea: a revised idea counts once per draft
    attempts: int = 1
    epoch: int = 1


class Pause(BaseModel):
    """A pause for review, decided with the day it follows and written in the same transaction."""

    epoch: int
    last_day: int
    cause: PauseCause
    reason: str


class Totals(BaseModel):
    generated: int = 0
    drafts: int = 0
    surviving: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    days_done: int = 0
    days_failed: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Totals) -> Totals:
        return Totals(**{name: getattr(self, name) + getattr(other, name) for name in Totals.model_fields})

    def __sub__(self, other: Totals) -> Totals:
        return Totals(**{name: getattr(self, name) - getattr(other, name) for name in Totals.model_fields})

    @classmethod
    def of_day(cls, row: DayRow) -> Totals:
        """One day row's share of the sums."""
        return cls(
            generated=row.generated,
            drafts=row.drafts,
            surviving=row.surviving,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            days_done=int(row.status == "done"),
            days_failed=int(row.status == "failed"),
        )

    @property
    def bits(self) -> float:
        """log2(drafts / surviving): every draft the critic saw counts as generated. inf: none survived."""
        return selection_bits(max(self.drafts, self.generated), self.surviving)

    @property
    def budget_bits(self) -> float | None:
        """The bits the --max-selection-bits budget is checked against; None while nothing survived.

        With no survivor nothing has been selected for the reviewer yet (and there is nothing to review),
        so the budget cannot trip; the first survivor then carries every draft before it. Reports still
        say "inf" for such an epoch. This keeps a day without survivors from making the budget unpayable.
        """
        return None if self.surviving <= 0 else self.bits


def days_to_run(config: SessionConfig, rows: list[DayRow]) -> list[int]:
    """Of a persona's day rows, in order: days without a row, and failed days tried fewer than
    MAX_DAY_ATTEMPTS times."""
    by_day = {d.day: d for d in rows}
    return [
        day
        for day in range(1, config.depth + 1)
        if day not in by_day or (by_day[day].status == "failed" and by_day[day].attempts < MAX_DAY_ATTEMPTS)
    ]


def bits_json(bits: float) -> float | str:
    """JSON has no infinity: report it as the string "inf"."""
    return "inf" if math.isinf(bits) else round(bits, 4)


def day_list(days: list[int]) -> str:
    """[1, 2, 3, 5] -> "days 1-3, 5"; [2] -> "day 2"."""
    days = sorted(days)
    runs: list[list[int]] = []
    for d in days:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    text = ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
    return f"day{'s' if len(days) != 1 else ''} {text}"


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, config: SessionConfig) -> SessionRow:
        now = utcnow().isoformat()
        with self.db.begin() as conn:
            if conn.execute(select(sessions.c.id).where(sessions.c.id == config.id)).first():
                raise BadInput(f"--session: a session named '{config.id}' exists; resume it with --resume {config.id}")
            conn.execute(
                insert(sessions).values(
                    id=config.id,
                    created_at=now,
                    updated_at=now,
                    status="running",
                    reason="",
                    config=config.model_dump(mode="json"),
                )
            )
        return self.get(config.id)

    def get(self, session_id: str) -> SessionRow:
        with self.db.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.id == session_id)).mappings().first()
            if row is None:
                recent = select(sessions.c.id).order_by(sessions.c.created_at.desc()).limit(5)
                known = list(conn.execute(recent).scalars())
                hint = f" (recent: {', '.join(known)})" if known else " (there are no sessions yet)"
                raise BadInput(f"no session named '{session_id}'{hint}")
        return SessionRow.model_validate(row)

    def latest(self) -> SessionRow | None:
        with self.db.connect() as conn:
            row = conn.execute(_NEWEST.limit(1)).mappings().first()
        return SessionRow.model_validate(row) if row else None

    def all(self) -> list[SessionRow]:
        with self.db.connect() as conn:
            rows = conn.execute(select(sessions).order_by(sessions.c.created_at.desc(), sessions.c.id)).mappings()
            return [SessionRow.model_validate(r) for r in rows]

    def set_status(self, session_id: str, status: SessionStatus, reason: str = "", add_elapsed: float = 0.0) -> None:
        with self.db.begin() as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.id == session_id)
                .values(
                    status=status,
                    reason=reason,
                    updated_at=utcnow().isoformat(),
                    elapsed_s=sessions.c.elapsed_s + add_elapsed,
                )
            )

    def days(self, session_id: str, persona: str | None = None) -> list[DayRow]:
        statement = select(days).where(*_of(session_id, persona)).order_by(days.c.persona, days.c.day)
        with self.db.connect() as conn:
            return [DayRow.model_validate(r) for r in conn.execute(statement).mappings()]

    def finished_days(self, session_id: str, persona: str) -> set[int]:
        """Days with a row, done or failed."""
        with self.db.connect() as conn:
            return {int(d) for d in conn.execute(select(days.c.day).where(*_of(session_id, persona))).scalars()}

    def days_to_run(self, config: SessionConfig, persona: str) -> list[int]:
        """In order: days without a row, and failed days tried fewer than MAX_DAY_ATTEMPTS times."""
        return days_to_run(config, self.days(config.id, persona))

    def totals(self, session_id: str, persona: str | None = None, epoch: int | None = None) -> Totals:
        def total(value: Any) -> Any:
            return func.coalesce(func.sum(value), 0)

        clauses = _of(session_id, persona)
        if epoch is not None:
            clauses.append(days.c.epoch == epoch)
        statement = select(
            total(days.c.generated),
            total(days.c.drafts),
            total(days.c.surviving),
            total(days.c.prompt_tokens),
            total(days.c.completion_tokens),
            total(case((days.c.status == "done", 1), else_=0)),
            total(case((days.c.status == "failed", 1), else_=0)),
        ).where(*clauses)
        with self.db.connect() as conn:
            row = conn.execute(statement).one()
        g, dr, s, p, c, done, failed = (int(v) for v in row)  # PostgreSQL sums integers as numeric
        return Totals(
            generated=g,
            drafts=dr,
            surviving=s,
            prompt_tokens=p,
            completion_tokens=c,
            days_done=done,
            days_failed=failed,
        )

    def commit_day(
        self,
        *,
        session: str,
        persona: str,
        day: int,
        present: date,
        summary: dict[str, Any],
        generated: int,
        surviving: int,
        prompt_tokens: int,
        completion_tokens: int,
        queue_items: list[QueueItem],
        queue: ReviewQueue,
        status: Literal["done", "failed"] = "done",
        error: str = "",
        drafts: int | None = None,
        epoch: int = 1,
        pause: Pause | None = None,
    ) -> Totals:
        """The day's row, its queue items and the pause that follows it (if any) in one transaction: all
        land, or none does. A redone day's row replaces the earlier one and counts one more attempt.
        Returns the row's share of the session's sums (the runner keeps them without asking again)."""
        now = utcnow().isoformat()
        key = {"session": session, "persona": persona, "day": day}
        with self.db.begin() as conn:
            queue.add_many(queue_items)
            # A redone day replaces its failed row: one more attempt, and the failed attempts' tokens
            # (they were spent) stay counted with the day. Deleted and inserted again, so the trigger that
            # files the day's question fires as for a first attempt.
            prev = conn.execute(_FAILED_DAY, key).first()
            spent_prompt, spent_completion, attempts = prev if prev is not None else (0, 0, 0)
            conn.execute(_DELETE_DAY, key)
            row = {
                **key,
                "status": status,
                "present": present.isoformat(),
                "summary": summary,
                "generated": generated,
                "surviving": surviving,
                "prompt_tokens": prompt_tokens + spent_prompt,
                "completion_tokens": completion_tokens + spent_completion,
                "error": error,
                "finished_at": now,
                "drafts": generated if drafts is None else drafts,
                "epoch": epoch,
                "attempts": 1 + attempts,
            }
            conn.execute(_INSERT_DAY, row)
            if pause is not None:
                conn.execute(
                    insert(epochs).values(
                        session=session,
                        persona=persona,
                        epoch=pause.epoch,
                        last_day=pause.last_day,
                        cause=pause.cause,
                        reason=pause.reason,
                        status="waiting",
                        paused_at=now,
                    )
                )
            conn.execute(_TOUCH_SESSION, {"id_": session, "at": utcnow().isoformat()})
        return Totals(
            generated=generated,
            drafts=generated if drafts is None else drafts,
            surviving=surviving,
            prompt_tokens=prompt_tokens + spent_prompt,
            completion_tokens=completion_tokens + spent_completion,
            days_done=int(status == "done"),
            days_failed=int(status == "failed"),
        )

    def add_rejudged(self, session_id: str, persona: str, day: int, usage: Usage, judged: list[str]) -> None:
        """A committed day's unjudged ideas judged again: their tokens count to the day, and those now
        judged leave its `unjudged` list."""
        key = (days.c.session == session_id, days.c.persona == persona, days.c.day == day)
        with self.db.begin() as conn:
            summary = conn.execute(select(days.c.summary).where(*key)).scalar()
            if summary is None:
                return
            summary["unjudged"] = [i for i in summary.get("unjudged", []) if i not in judged]
            conn.execute(
                update(days)
                .where(*key)
                .values(
                    prompt_tokens=days.c.prompt_tokens + usage.prompt_tokens,
                    completion_tokens=days.c.completion_tokens + usage.completion_tokens,
                    summary=summary,
                )
            )


# The day commit's statements, built once (SQLAlchemy reuses their compiled form): a night commits
# thousands of days.
_DAY_KEY = (
    days.c.session == bindparam("session"),
    days.c.persona == bindparam("persona"),
    days.c.day == bindparam("day"),
)
_FAILED_DAY = select(days.c.prompt_tokens, days.c.completion_tokens, days.c.attempts).where(
    *_DAY_KEY, days.c.status == "failed"
)
_DELETE_DAY = delete(days).where(*_DAY_KEY)
_INSERT_DAY = insert(days)
_TOUCH_SESSION = update(sessions).where(sessions.c.id == bindparam("id_")).values(updated_at=bindparam("at"))

_NEWEST = select(sessions).order_by(sessions.c.created_at.desc(), sessions.c.id.desc())


def _of(session_id: str, persona: str | None) -> list[ColumnElement[bool]]:
    clauses = [days.c.session == session_id]
    if persona:
        clauses.append(days.c.persona == persona)
    return clauses
