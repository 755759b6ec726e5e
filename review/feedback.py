"""Feedback into the loop: every human decision becomes a `feedback` entry in the deciding persona's log.

The persona has no memory but its log, so a decision that stayed in SQLite would never reach the next
night. The entry is written first and the queue decision second: the log write is an idempotent upsert
(one id per idea, so a changed mind overwrites rather than piles up), and the SQLite commit is the point
at which the decision counts. A crash between the two leaves the idea pending with its feedback already
written; deciding again rewrites the same entry. The idea's own log entry is never touched, so the
duplicate screen keeps seeing rejected ideas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from groundhog.core.records import LogEntry, QueueItem, stable_id, utcnow
from groundhog.core.reviewer import check_reviewer, resolve_reviewer
from groundhog.store.queue import ReviewQueue, decision_status

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore

FEEDBACK_IMPORTANCE = 0.9


def _clause(note: str) -> str:
    """The note as one clause, without trailing punctuation that would double up."""
    return " ".join(note.split()).rstrip(" .;:")


def feedback_text(item: QueueItem, status: str, note: str) -> str:
    """What the persona reads the next morning: the verdict, the reason, and what to do with it."""
    title = " ".join(item.idea.title.split())
    reason = _clause(note)
    if status == "accepted":
        said = f": {reason}" if reason else ""
        return f"Reviewer ACCEPTED your idea '{title}'{said}. Build on it."
    if status == "rejected":
        said = f" because: {reason}" if reason else " (no reason given)"
        return f"Reviewer REJECTED your idea '{title}'{said}. Avoid this direction."
    said = f": {reason}" if reason else ""
    return f"Reviewer DEFERRED your idea '{title}'{said}. Undecided for now; it may come back."


def feedback_id(idea_id: str) -> str:
    """The id of the feedback entry a decision on this idea writes (the same for every decision)."""
    return stable_id(idea_id, "feedback")


def feedback_entry(item: QueueItem, status: str, note: str, reviewer: str = "") -> LogEntry:
    """The log entry for a decision; its id depends only on the idea, so deciding again overwrites it
    (the persona reads the latest decision, whichever reviewer made it)."""
    idea = item.idea
    return LogEntry(
        id=feedback_id(idea.id),
        persona=idea.persona,
        session=idea.session,
        day=idea.day,
        kind="feedback",
        text=feedback_text(item, status, note),
        importance=FEEDBACK_IMPORTANCE,
        created_at=utcnow(),
        present=idea.present,
        meta={"idea_id": idea.id, "decision": status, "title": idea.title, "note": note, "reviewer": reviewer},
    )


def record_decision(
    queue: ReviewQueue, log: LogStore, idea_id: str, decision: str, note: str = "", reviewer: str | None = None
) -> QueueItem:
    """Decide a queued idea (id or unique prefix) as `reviewer` (default: GROUNDHOG_REVIEWER, else the
    login name): feedback into the log, then the decision into the database."""
    status = decision_status(decision)
    who = resolve_reviewer(None) if reviewer is None else check_reviewer(reviewer, "reviewer")
    item = queue.get(idea_id)
    log.add([feedback_entry(item, status, note, who)])
    return queue.decide(item.id, decision, note, reviewer=who)
