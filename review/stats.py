"""Queue statistics: what the human decided, and how often the critic's ranking agreed with it.

The critic is an LLM and can be gamed; the human is the final gate. Comparing the critic's rank with the
human's accept/reject over pairs of ideas measures how far the critic can be trusted. Pure functions
over items, so they work on a queue listing, an export read back, or a hand-made test set.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from groundhog.core.records import QueueItem


class StatusCounts(BaseModel):
    """How many items were queued and where each stands now."""

    queued: int = 0
    pending: int = 0
    accepted: int = 0
    rejected: int = 0
    deferred: int = 0


class ScoreMeans(BaseModel):
    """The critic's mean rubric scores over a set of items; None where no item was scored."""

    count: int = 0  # items with rubric scores
    novelty: float | None = None
    feasibility: float | None = None
    relevance: float | None = None
    clarity: float | None = None
    mean: float | None = None


class Agreement(BaseModel):
    """Critic-human agreement over every (accepted, rejected) pair.

    A pair is concordant when the critic ranked the accepted item above the rejected one, discordant
    when below, tied when equal. `agreement` = (concordant + ties / 2) / pairs; `tau` = (concordant -
    discordant) / pairs, a Kendall-like score from -1 (always reversed) to 1 (always agrees). Both are
    None when there are no pairs.
    """

    pairs: int = 0
    concordant: int = 0
    discordant: int = 0
    ties: int = 0
    agreement: float | None = None
    tau: float | None = None


class GroupStats(BaseModel):
    """Counts, critic scores of accepted vs rejected items, and agreement, for one group of items."""

    counts: StatusCounts = Field(default_factory=StatusCounts)
    accepted_scores: ScoreMeans = Field(default_factory=ScoreMeans)
    rejected_scores: ScoreMeans = Field(default_factory=ScoreMeans)
    agreement: Agreement = Field(default_factory=Agreement)


class QueueStats(BaseModel):
    """Stats over all items and per persona (pairs never cross personas in the per-persona figures)."""

    overall: GroupStats = Field(default_factory=GroupStats)
    personas: dict[str, GroupStats] = Field(default_factory=dict)


def status_counts(items: Iterable[QueueItem]) -> StatusCounts:
    counts = StatusCounts()
    for item in items:
        counts.queued += 1
        setattr(counts, item.status, getattr(counts, item.status) + 1)
    return counts


def score_means(items: Iterable[QueueItem]) -> ScoreMeans:
    scored = [item.critique.scores for item in items if item.critique.scores is not None]
    if not scored:
        return ScoreMeans()
    n = len(scored)
    return ScoreMeans(
        count=n,
        novelty=sum(s.novelty for s in scored) / n,
        feasibility=sum(s.feasibility for s in scored) / n,
        relevance=sum(s.relevance for s in scored) / n,
        clarity=sum(s.clarity for s in scored) / n,
        mean=sum(s.mean for s in scored) / n,
    )


def agreement(items: Iterable[QueueItem]) -> Agreement:
    """Pairwise critic-human agreement; sorting makes it O(n log n) rather than one loop per pair."""
    accepted: list[float] = []
    rejected: list[float] = []
    for item in items:
        if item.status == "accepted":
            accepted.append(item.rank_score)
        elif item.status == "rejected":
            rejected.append(item.rank_score)
    pairs = len(accepted) * len(rejected)
    if pairs == 0:
        return Agreement()
    rejected.sort()
    concordant = ties = 0
    for score in accepted:
        below = bisect_left(rejected, score)
        concordant += below
        ties += bisect_right(rejected, score) - below
    discordant = pairs - concordant - ties
    return Agreement(
        pairs=pairs,
        concordant=concordant,
        discordant=discordant,
        ties=ties,
        agreement=(concordant + ties / 2) / pairs,
        tau=(concordant - discordant) / pairs,
    )


def group_stats(items: Sequence[QueueItem]) -> GroupStats:
    return GroupStats(
        counts=status_counts(items),
        accepted_scores=score_means(i for i in items if i.status == "accepted"),
        rejected_scores=score_means(i for i in items if i.status == "rejected"),
        agreement=agreement(items),
    )


def queue_stats(items: Iterable[QueueItem]) -> QueueStats:
    """Overall and per-persona statistics for a set of queue items."""
    items = list(items)
    by_persona: dict[str, list[QueueItem]] = {}
    for item in items:
        by_persona.setdefault(item.idea.persona, []).append(item)
    return QueueStats(
        overall=group_stats(items),
        personas={persona: group_stats(group) for persona, group in sorted(by_persona.items())},
    )
