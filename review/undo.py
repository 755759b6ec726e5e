"""Decisions that can be taken back: `u` on the review page undoes the last one, in the queue and the log.

A decision is made exactly as `groundhog queue decide` makes it (`feedback.record_decision`: the feedback
entry into the log, then the decision into the database). Before it, the journal keeps what it
overwrites: the row's status, note and time, the feedback entry the log held for the idea (a deferred
idea has one), and this reviewer's own earlier decision on it. Undo puts them back: the feedback entry
is removed (or the earlier one restored), then, in one transaction, the row returns to its earlier state
(pending for a first decision, or the decision that was the latest before, perhaps another reviewer's)
and the reviewer's own decision is removed or restored. Undo refuses when the row has changed since
(decided again from another window, the terminal or by another reviewer), rather than overwrite a
newer decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from groundhog.core.errors import BadInput
from groundhog.core.records import Decision, LogEntry, QueueItem
from groundhog.core.reviewer import check_reviewer, resolve_reviewer
from groundhog.review.feedback import feedback_id, record_decision
from groundhog.store.queue import ReviewQueue

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore


@dataclass(frozen=True)
class Decided:
    """One decision made in this sitting, with everything needed to take it back."""

    idea_id: str
    title: str
    status: str  # what the decision set
    note: str
    decided_at: str | None  # the row's stamp after the decision: how undo knows nothing changed since
    before_status: str
    before_note: str
    before_decided_at: str | None
    before_feedback: LogEntry | None
    reviewer: str  # who decided: undo takes back this reviewer's own decision only
    before_decision: Decision | None = None  # the reviewer's own, which the decision overwrote


def _remove_entry(log: LogStore, entry_id: str) -> None:
    log.delete_ids([entry_id])


class DecisionJournal:
    """Decide and undo over one queue and log. Not thread-safe: one caller (the page's worker) at a time."""

    def __init__(self, queue: ReviewQueue, log: LogStore, reviewer: str | None = None) -> None:
        self.queue = queue
        self.log = log
        self.reviewer = resolve_reviewer(None) if reviewer is None else check_reviewer(reviewer, "reviewer")
        self.done: list[Decided] = []

    def _row(self, idea_id: str) -> tuple[str, str, str | None]:
        return self.queue.state(idea_id)

    @property
    def last(self) -> Decided | None:
        return self.done[-1] if self.done else None

    def decide(self, idea_id: str, decision: str, note: str = "") -> QueueItem:
        """The same as `queue decide`, remembering what it replaces."""
        item = self.queue.get(idea_id)
        status, old_note, stamp = self._row(item.id)
        before = self.log.get(feedback_id(item.id))
        own = item.decision_of(self.reviewer)
        decided = record_decision(self.queue, self.log, item.id, decision, note, self.reviewer)
        self.done.append(
            Decided(
                idea_id=item.id,
                title=" ".join(item.idea.title.split()),
                status=decided.status,
                note=note,
                decided_at=self._row(item.id)[2],
                before_status=status,
                before_note=old_note,
                before_decided_at=stamp,
                before_feedback=before,
                reviewer=self.reviewer,
                before_decision=own,
            )
        )
        return decided

    def undo(self) -> Decided | None:
        """Take back the newest decision of this sitting; None when there is none."""
        if not self.done:
            return None
        last = self.done.pop()
        status, _, stamp = self._row(last.idea_id)
        if (status, stamp) != (last.status, last.decided_at):
            raise BadInput(
                f"'{last.title}' was decided again elsewhere ({status}) after this sitting's decision; not undone"
            )
        fid = feedback_id(last.idea_id)
        made = self.log.get(fid)
        if last.before_feedback is None:
            _remove_entry(self.log, fid)
        else:
            self.log.add([last.before_feedback])
        try:
            self.queue.restore(
                last.idea_id,
                last.before_status,
                last.before_note,
                last.before_decided_at,
                reviewer=last.reviewer,
                before=last.before_decision,
            )
        except BaseException:
            if made is not None:  # the row still says decided: so should the log
                self.log.add([made])
            self.done.append(last)
            raise
        return last
