"""Queue statistics: what the human decided, and how often the critic's ranking agreed with it (and, in
review/agreement.py, how often the human reviewers agreed with each other).

The critic is an LLM and can be gamed; the human is the final gate. Comparing the critic's rank with the
human's accept/reject over pairs of ideas measures how far the critic can be trusted. Pure functions
over items, so they work on a queue listing, an export read back, or a hand-made test set.

The audit (`CriticAudit`) measures the critic's verdicts themselves. Survivors are the ideas it passed;
audit items are a random sample of the ideas it rejected (`critique.audit`), shown to the reviewer like
any other. Over final decisions (accepted or rejected; deferred and pending ones count nowhere):

- miss rate: accepted audit items / decided audit items, the share of its rejections the reviewer
  would have kept (estimates P(accept | the critic rejected));
- precision: accepted survivors / decided survivors (P(accept | the critic passed));
- agreement: (accepted survivors + rejected audit items) / every decided item of both kinds: how often
  the critic's verdict matched the reviewer's on the ideas the reviewer saw. Survivors are all queued
  and rejections only sampled, so this weighs the critic's passes more than their share of its verdicts.

Each comes with a 95% Wilson score interval, which stays inside 0..1 and is honest for small counts.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from groundhog.core.records import QueueItem
from groundhog.review.agreement import ReviewerAgreement, reviewer_agreement


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


class Proportion(BaseModel):
    """successes / trials with a 95% Wilson interval; None everywhere when there are no trials."""

    successes: int = 0
    trials: int = 0
    estimate: float | None = None
    low: float | None = None
    high: float | None = None


def wilson(successes: int, trials: int, z: float = 1.959964) -> Proportion:
    """The Wilson score interval for a binomial proportion (95% for the default z)."""
    if trials <= 0:
        return Proportion()
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return Proportion(
        successes=successes, trials=trials, estimate=p, low=max(0.0, centre - half), high=min(1.0, centre + half)
    )


class CriticAudit(BaseModel):
    """The critic's verdicts against the reviewer's final decisions (see the module's docstring)."""

    audit_items: int = 0  # queued as audit items, decided or not
    survivors: int = 0
    miss_rate: Proportion = Field(default_factory=Proportion)
    precision: Proportion = Field(default_factory=Proportion)
    agreement: Proportion = Field(default_factory=Proportion)


def critic_audit(items: Iterable[QueueItem]) -> CriticAudit:
    out = CriticAudit()
    audit_acc = audit_rej = surv_acc = surv_rej = 0
    for item in items:
        audit = item.origin == "audit"
        out.audit_items += audit
        out.survivors += not audit
        accepted, rejected = item.status == "accepted", item.status == "rejected"
        audit_acc += audit and accepted
        audit_rej += audit and rejected
        surv_acc += not audit and accepted
        surv_rej += not audit and rejected
    out.miss_rate = wilson(audit_acc, audit_acc + audit_rej)
    out.precision = wilson(surv_acc, surv_acc + surv_rej)
    out.agreement = wilson(surv_acc + audit_rej, surv_acc + surv_rej + audit_acc + audit_rej)
    return out


class GroupStats(BaseModel):
    """Counts, critic scores of accepted vs rejected items, agreement, and the audit of the critic's
    verdicts, for one group of items."""

    counts: StatusCounts = Field(default_factory=StatusCounts)
    accepted_scores: ScoreMeans = Field(default_factory=ScoreMeans)
    rejected_scores: ScoreMeans = Field(default_factory=ScoreMeans)
    agreement: Agreement = Field(default_factory=Agreement)
    critic: CriticAudit = Field(default_factory=CriticAudit)


class QueueStats(BaseModel):
    """Stats over all items and per persona (pairs never cross personas in the per-persona figures), and
    the agreement between human reviewers over every item (review/agreement.py)."""

    overall: GroupStats = Field(default_factory=GroupStats)
    personas: dict[str, GroupStats] = Field(default_factory=dict)
    reviewers: ReviewerAgreement = Field(default_factory=ReviewerAgreement)


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
        critic=critic_audit(items),
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
        reviewers=reviewer_agreement(items),
    )
