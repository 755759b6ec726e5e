"""Questions the personas ask the real researcher, in the `questions` table, and their answers.

A persona's notebook step may end with one question (at most one a day; most days none). It is kept with
the day it was asked and that day's ideas, written in the same transaction as the day (the `days`
trigger of the baseline revision). Answering marks it answered here after the answer's feedback entry is
in the log (review/questions.py): the next wake-up finds the answer among the newest feedback
(store/recent.py), as it finds the reviewer's notes on decided ideas.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, select, update

from groundhog.core.errors import BadInput
from groundhog.core.records import stable_id, utcnow
from groundhog.store.database import Database
from groundhog.store.schema import questions

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
    """Over one database; it never opens or closes it itself."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, q: Question) -> None:
        """Insert; a redone day rewrites its still-open question, an answered one stays as it is."""
        statement = self.db.insert(questions).values(
            id=q.id,
            session=q.session,
            persona=q.persona,
            day=q.day,
            present=q.present.isoformat() if q.present else None,
            question=q.question,
            context=q.context,
            asked_at=_stamp(q.asked_at),
        )
        statement = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "question": statement.excluded.question,
                "context": statement.excluded.context,
                "asked_at": statement.excluded.asked_at,
            },
            where=questions.c.status == "open",
        )
        with self.db.begin() as conn:
            conn.execute(statement)

    def _resolve(self, qid: str) -> str:
        qid = qid.strip()
        if not qid:
            raise BadInput("give a question id")
        with self.db.connect() as conn:
            if conn.execute(select(questions.c.id).where(questions.c.id == qid)).first():
                return qid
            rows: list[str] = []
            if len(qid) >= MIN_PREFIX:
                prefix = func.substr(questions.c.id, 1, len(qid)) == qid
                rows = list(conn.execute(select(questions.c.id).where(prefix).limit(2)).scalars())
        if len(rows) == 1:
            return str(rows[0])
        if len(rows) > 1:
            raise BadInput(f"id prefix {qid!r} matches several questions; give more of it")
        raise BadInput(f"no question with id {qid!r} (see `groundhog questions list`)")

    def get(self, qid: str) -> Question:
        """By id or a unique prefix of at least 4 characters."""
        full = self._resolve(qid)
        with self.db.connect() as conn:
            row = conn.execute(select(questions).where(questions.c.id == full)).mappings().one()
        return Question.model_validate(row)

    def list(self, status: str | None = None, session: str | None = None, persona: str | None = None) -> list[Question]:
        """Oldest first: the order they were asked in."""
        clauses: list[ColumnElement[bool]] = []
        if status is not None:
            if status not in QUESTION_STATUSES:
                raise BadInput(f"unknown status {status!r}; use open or answered")
            clauses.append(questions.c.status == status)
        if session is not None:
            clauses.append(questions.c.session == session)
        if persona is not None:
            clauses.append(questions.c.persona == persona)
        c = questions.c
        statement = select(questions).where(*clauses).order_by(c.asked_at, c.session, c.persona, c.day)
        with self.db.connect() as conn:
            return [Question.model_validate(r) for r in conn.execute(statement).mappings()]

    def count_open(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).where(questions.c.status == "open")).scalar() or 0)

    def mark_answered(self, qid: str, answer: str, at: datetime | None = None) -> Question:
        with self.db.begin() as conn:
            full = self._resolve(qid)
            conn.execute(
                update(questions)
                .where(questions.c.id == full)
                .values(status="answered", answer=answer, answered_at=_stamp(at or utcnow()))
            )
        return self.get(full)
