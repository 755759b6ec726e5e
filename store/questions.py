"""Questions the personas ask the real researcher, and the answers, which go back into their logs.

A persona's notebook step may end with one question (at most one a day; most days none). It is kept in
the `questions` table with the day it was asked and that day's ideas, written in the same transaction
as the day. Answering writes a `feedback` entry into the asking persona's log first (an idempotent
upsert, one id per question, so answering again overwrites it) and then marks the question answered in
SQLite: the next wake-up finds the answer among the newest feedback (`loop.recent`), as it finds the
reviewer's notes on decided ideas.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from groundhog.core.db import store_errors, transaction
from groundhog.core.errors import BadInput
from groundhog.core.records import LogEntry, stable_id, utcnow

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore

ANSWER_IMPORTANCE = 0.9
MIN_PREFIX = 4
QUESTION_STATUSES: tuple[str, ...] = ("open", "answered")


class Question(BaseModel):
    id: str
    session: str
    persona: str
    day: int
    present: date | None = None
    question: str
    context: dict[str, Any] = Field(default_factory=dict)  # {"ideas": [{"id", "title"}], "notebook_id"}
    status: Literal["open", "answered"] = "open"
    answer: str = ""
    asked_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None

    @property
    def ideas(self) -> list[dict[str, str]]:
        return [i for i in self.context.get("ideas", []) if isinstance(i, dict)]


def question_id(session: str, persona: str, day: int) -> str:
    return stable_id(session, persona, day, "question")


def answer_entry_id(qid: str) -> str:
    return stable_id(qid, "answer")


def _stamp(moment: datetime) -> str:
    """As the queue stamps its decisions (UTC, microseconds), so the two sort together as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class QuestionStore:
    """Over one open connection; it never opens or closes one itself."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(self, q: Question) -> None:
        """Insert; a redone day rewrites its still-open question, an answered one stays as it is."""
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO questions (id, session, persona, day, present, question, context, asked_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET question = excluded.question, "
                "context = excluded.context, asked_at = excluded.asked_at WHERE questions.status = 'open'",
                (
                    q.id,
                    q.session,
                    q.persona,
                    q.day,
                    q.present.isoformat() if q.present else None,
                    q.question,
                    json.dumps(q.context),
                    _stamp(q.asked_at),
                ),
            )

    def _resolve(self, qid: str) -> str:
        qid = qid.strip()
        if not qid:
            raise BadInput("give a question id")
        if self.conn.execute("SELECT 1 FROM questions WHERE id = ?", (qid,)).fetchone():
            return qid
        if len(qid) >= MIN_PREFIX:
            rows = self.conn.execute(
                "SELECT id FROM questions WHERE substr(id, 1, ?) = ? LIMIT 2", (len(qid), qid)
            ).fetchall()
            if len(rows) == 1:
                return str(rows[0][0])
            if len(rows) > 1:
                raise BadInput(f"id prefix {qid!r} matches several questions; give more of it")
        raise BadInput(f"no question with id {qid!r} (see `groundhog questions list`)")

    def get(self, qid: str) -> Question:
        """By id or a unique prefix of at least 4 characters."""
        with store_errors(self.conn):
            row = self.conn.execute("SELECT * FROM questions WHERE id = ?", (self._resolve(qid),)).fetchone()
        return _question(row)

    def list(self, status: str | None = None, session: str | None = None, persona: str | None = None) -> list[Question]:
        """Oldest first: the order they were asked in."""
        clauses, args = [], []
        if status is not None:
            if status not in QUESTION_STATUSES:
                raise BadInput(f"unknown status {status!r}; use open or answered")
            clauses.append("status = ?")
            args.append(status)
        for column, value in (("session", session), ("persona", persona)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT * FROM questions" + (" WHERE " + " AND ".join(clauses) if clauses else "")
        with store_errors(self.conn):
            rows = self.conn.execute(sql + " ORDER BY asked_at, session, persona, day", args).fetchall()
        return [_question(r) for r in rows]

    def count_open(self) -> int:
        with store_errors(self.conn):
            return int(self.conn.execute("SELECT count(*) FROM questions WHERE status = 'open'").fetchone()[0])

    def mark_answered(self, qid: str, answer: str, at: datetime | None = None) -> Question:
        with transaction(self.conn):
            full = self._resolve(qid)
            self.conn.execute(
                "UPDATE questions SET status = 'answered', answer = ?, answered_at = ? WHERE id = ?",
                (answer, _stamp(at or utcnow()), full),
            )
        return self.get(full)


def _question(row: sqlite3.Row) -> Question:
    return Question(
        id=row["id"],
        session=row["session"],
        persona=row["persona"],
        day=row["day"],
        present=date.fromisoformat(row["present"]) if row["present"] else None,
        question=row["question"],
        context=json.loads(row["context"] or "{}"),
        status=row["status"],
        answer=row["answer"],
        asked_at=datetime.fromisoformat(row["asked_at"]),
        answered_at=datetime.fromisoformat(row["answered_at"]) if row["answered_at"] else None,
    )


def answer_text(q: Question, answer: str) -> str:
    """What the persona reads the next morning."""
    asked = " ".join(q.question.split())
    said = " ".join(answer.split())
    return f"The researcher ANSWERED your question '{asked}' (asked on day {q.day}): {said}"


def answer_entry(q: Question, answer: str) -> LogEntry:
    return LogEntry(
        id=answer_entry_id(q.id),
        persona=q.persona,
        session=q.session,
        day=q.day,
        kind="feedback",
        text=answer_text(q, answer),
        importance=ANSWER_IMPORTANCE,
        created_at=utcnow(),
        present=q.present,
        meta={"question_id": q.id, "question": q.question, "answer": answer, "decision": "answered"},
    )


def record_answer(store: QuestionStore, log: LogStore, qid: str, answer: str) -> Question:
    """Answer a question (id or unique prefix): the feedback entry into the log, then SQLite."""
    answer = answer.strip()
    if not answer:
        raise BadInput("the answer is empty; write what the persona should read")
    q = store.get(qid)
    log.add([answer_entry(q, answer)])
    return store.mark_answered(q.id, answer)
