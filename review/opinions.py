"""Second opinions: ideas someone else has decided, offered to another reviewer blind to that decision.

Agreement between reviewers (`queue stats`) is only worth measuring when the second reviewer did not see
the first one's verdict. So an idea offered for a second opinion is shown as if it were still pending:
no status, no note, no reviewer, no time and, as for any undecided idea, no critic's verdict or origin.
The second reviewer's decision is a row of its own; the first one's stays as it was.
"""

from __future__ import annotations

from groundhog.core.records import QueueItem
from groundhog.store.queue import ReviewQueue


def blind(item: QueueItem) -> QueueItem:
    """The item with every trace of its decisions removed, for a reviewer who has not decided it."""
    return item.model_copy(update={"status": "pending", "note": "", "decided_at": None, "decisions": []})


def needs_second_opinion(item: QueueItem, reviewer: str) -> bool:
    """Decided by someone, never by this reviewer."""
    return bool(item.decisions) and item.decision_of(reviewer) is None


def second_opinion_items(
    queue: ReviewQueue, reviewer: str, *, session: str | None = None, persona: str | None = None
) -> list[QueueItem]:
    """Ideas decided by another reviewer and not by this one, best first, each blind."""
    return [blind(i) for i in queue.list(session=session, persona=persona) if needs_second_opinion(i, reviewer)]
