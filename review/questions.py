"""Answering the personas' questions: the answer goes into the asking persona's log, then the store.

Answering writes a `feedback` entry into the log first (an idempotent upsert, one id per question, so
answering again overwrites it) and then marks the question answered (store/questions.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from groundhog.core.errors import BadInput
from groundhog.core.records import LogEntry, utcnow
from groundhog.store.questions import Question, QuestionStore, answer_entry_id

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore

ANSWER_IMPORTANCE = 0.9


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
    """Answer a question (id or unique prefix): the feedback entry into the log, then the store."""
    answer = answer.strip()
    if not answer:
        raise BadInput("the answer is empty; write what the persona should read")
    q = store.get(qid)
    log.add([answer_entry(q, answer)])
    return store.mark_answered(q.id, answer)
