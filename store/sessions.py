"""Session state in SQLite: each session's saved settings and status, one row per finished day, and one
row per pause for review.

A day row is the commit point of a day: written in one transaction together with the day's queue
items (and the pause that follows it, if any), after the day's log entries are in Chroma. A day without
a row is redone on resume; so is a failed day, up to MAX_DAY_ATTEMPTS attempts in all.

Each day row carries its review epoch; the `epochs` table (the pauses that end them) is `loop.epochs`.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from groundhog.core.db import transaction
from groundhog.core.errors import BadInput
from groundhog.core.records import QueueItem, Usage, selection_bits, utcnow
from groundhog.core.settings import ModelSettings
from groundhog.review.queue import ReviewQueue

SessionStatus = Literal["running", "interrupted", "awaiting-review", "completed", "completed-with-failures", "failed"]
PauseCause = Literal["review-every", "selection-bits"]

MAX_DAY_ATTEMPTS = 3  # a failed day is redone on resume until it has been tried this many times


class SessionConfig(BaseModel):
    """Everything needed to run or resume a session. Saved with it; holds no API key."""

    model_config = ConfigDict(extra="forbid")

    id: str
    personas: list[str] = Field(min_length=1)
    depth: int = Field(ge=1)
    ideas_per_day: int = Field(ge=1)
    present: date
    drift_days: int = 0
    review_every: int | None = None
    max_selection_bits: float | None = None
    hours: float | None = None
    max_tokens: int | None = None
    max_ideas: int | None = None
    concurrency: int = 4
    revisions: int = 1
    cross_critic: str | None = None
    duplicate_threshold: float = 0.8
    critic_judges_manipulation: bool = False
    thresholds: dict[str, float] = Field(default_factory=dict)
    babble: ModelSettings
    critic: ModelSettings | None = None
    shared_kinds: list[str] = Field(default_factory=list)

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
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def create(self, config: SessionConfig) -> SessionRow:
        now = utcnow().isoformat()
        if self.conn.execute("SELECT 1 FROM sessions WHERE id = ?", (config.id,)).fetchone():
            raise BadInput(f"--session: a session named '{config.id}' exists; resume it with --resume {config.id}")
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO sessions (id, created_at, updated_at, status, reason, config) VALUES (?, ?, ?, ?, ?, ?)",
                (config.id, now, now, "running", "", config.model_dump_json()),
            )
        return self.get(config.id)

    def get(self, session_id: str) -> SessionRow:
        row = self.conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            known = [r[0] for r in self.conn.execute("SELECT id FROM sessions ORDER BY created_at DESC LIMIT 5")]
            hint = f" (recent: {', '.join(known)})" if known else " (there are no sessions yet)"
            raise BadInput(f"no session named '{session_id}'{hint}")
        return _session(row)

    def latest(self) -> SessionRow | None:
        row = self.conn.execute("SELECT * FROM sessions ORDER BY created_at DESC, id DESC LIMIT 1").fetchone()
        return _session(row) if row else None

    def all(self) -> list[SessionRow]:
        return [_session(r) for r in self.conn.execute("SELECT * FROM sessions ORDER BY created_at DESC, id")]

    def set_status(self, session_id: str, status: SessionStatus, reason: str = "", add_elapsed: float = 0.0) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE sessions SET status = ?, reason = ?, updated_at = ?, elapsed_s = elapsed_s + ? WHERE id = ?",
                (status, reason, utcnow().isoformat(), add_elapsed, session_id),
            )

    def days(self, session_id: str, persona: str | None = None) -> list[DayRow]:
        sql = "SELECT * FROM days WHERE session = ?"
        args: list[Any] = [session_id]
        if persona:
            sql += " AND persona = ?"
            args.append(persona)
        rows = self.conn.execute(sql + " ORDER BY persona, day", args).fetchall()
        return [_day(r) for r in rows]

    def finished_days(self, session_id: str, persona: str) -> set[int]:
        """Days with a row, done or failed."""
        rows = self.conn.execute("SELECT day FROM days WHERE session = ? AND persona = ?", (session_id, persona))
        return {int(r[0]) for r in rows}

    def days_to_run(self, config: SessionConfig, persona: str) -> list[int]:
        """In order: days without a row, and failed days tried fewer than MAX_DAY_ATTEMPTS times."""
        rows = {d.day: d for d in self.days(config.id, persona)}
        return [
            day
            for day in range(1, config.depth + 1)
            if day not in rows or (rows[day].status == "failed" and rows[day].attempts < MAX_DAY_ATTEMPTS)
        ]

    def totals(self, session_id: str, persona: str | None = None, epoch: int | None = None) -> Totals:
        sql = """SELECT COALESCE(SUM(generated), 0), COALESCE(SUM(drafts), 0), COALESCE(SUM(surviving), 0),
                        COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),
                        COALESCE(SUM(status = 'done'), 0), COALESCE(SUM(status = 'failed'), 0)
                 FROM days WHERE session = ?"""
        args: list[Any] = [session_id]
        if persona:
            sql += " AND persona = ?"
            args.append(persona)
        if epoch is not None:
            sql += " AND epoch = ?"
            args.append(epoch)
        g, dr, s, p, c, done, failed = self.conn.execute(sql, args).fetchone()
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
    ) -> None:
        """The day's row, its queue items and the pause that follows it (if any) in one transaction: all
        land, or none does. A redone day's row replaces the earlier one and counts one more attempt."""
        now = utcnow().isoformat()
        with transaction(self.conn):
            for item in queue_items:
                queue.add(item)
            # A redone day replaces its failed row: one more attempt, and the failed attempts' tokens
            # (they were spent) stay counted with the day.
            self.conn.execute(
                """INSERT OR REPLACE INTO days (session, persona, day, status, present, summary, generated,
                       surviving, prompt_tokens, completion_tokens, error, finished_at, drafts, epoch, attempts)
                   SELECT :session, :persona, :day, :status, :present, :summary, :generated, :surviving,
                          :prompt + COALESCE(prev.prompt_tokens, 0), :completion + COALESCE(prev.completion_tokens, 0),
                          :error, :now, :drafts, :epoch, 1 + COALESCE(prev.attempts, 0)
                   FROM (SELECT 1) LEFT JOIN days AS prev
                        ON prev.session = :session AND prev.persona = :persona AND prev.day = :day
                           AND prev.status = 'failed'""",
                {
                    "session": session,
                    "persona": persona,
                    "day": day,
                    "status": status,
                    "present": present.isoformat(),
                    "summary": json.dumps(summary),
                    "generated": generated,
                    "surviving": surviving,
                    "prompt": prompt_tokens,
                    "completion": completion_tokens,
                    "error": error,
                    "now": now,
                    "drafts": generated if drafts is None else drafts,
                    "epoch": epoch,
                },
            )
            if pause is not None:
                self.conn.execute(
                    """INSERT INTO epochs (session, persona, epoch, last_day, cause, reason, status, paused_at)
                       VALUES (?, ?, ?, ?, ?, ?, 'waiting', ?)""",
                    (session, persona, pause.epoch, pause.last_day, pause.cause, pause.reason, now),
                )
            self.conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (utcnow().isoformat(), session))

    def add_rejudged(self, session_id: str, persona: str, day: int, usage: Usage, judged: list[str]) -> None:
        """A committed day's unjudged ideas judged again: their tokens count to the day, and those now
        judged leave its `unjudged` list."""
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT summary FROM days WHERE session = ? AND persona = ? AND day = ?", (session_id, persona, day)
            ).fetchone()
            if row is None:
                return
            summary = json.loads(row["summary"])
            summary["unjudged"] = [i for i in summary.get("unjudged", []) if i not in judged]
            self.conn.execute(
                "UPDATE days SET prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, "
                "summary = ? WHERE session = ? AND persona = ? AND day = ?",
                (usage.prompt_tokens, usage.completion_tokens, json.dumps(summary), session_id, persona, day),
            )


def _session(row: sqlite3.Row) -> SessionRow:
    return SessionRow(
        id=row["id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        status=row["status"],
        reason=row["reason"],
        config=SessionConfig.model_validate_json(row["config"]),
        elapsed_s=row["elapsed_s"],
    )


def _day(row: sqlite3.Row) -> DayRow:
    return DayRow(
        session=row["session"],
        persona=row["persona"],
        day=row["day"],
        status=row["status"],
        present=date.fromisoformat(row["present"]),
        summary=json.loads(row["summary"]),
        generated=row["generated"],
        surviving=row["surviving"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        error=row["error"],
        finished_at=datetime.fromisoformat(row["finished_at"]),
        drafts=row["drafts"],
        attempts=row["attempts"],
        epoch=row["epoch"],
    )
