"""Auditing the critic: a fixed share of the ideas it rejected goes to the review queue anyway.

Only the critic's own rejections are sampled: an idea a screen flagged (degenerate, duplicate,
manipulation, weird), or that the critic flagged, or that was never scored, is not an audit candidate.
The draw is a hash of the idea's id, so a redone day picks the same ideas, and each rejected idea has
the same chance, `fraction`, whatever else happened that day: the reviewer's decisions on the sample
then estimate the critic's miss rate without bias (see `review.stats`).
"""

from __future__ import annotations

from groundhog.core.records import CritiqueResult, stable_id

SCALE = float(16**16)  # stable_id is 16 hex digits


def audit_draw(idea_id: str) -> float:
    """A number in [0, 1) fixed by the idea's id."""
    return int(stable_id(idea_id, "audit"), 16) / SCALE


def is_candidate(result: CritiqueResult) -> bool:
    """Rejected by the critic on its scores (not by a screen or a flag, not left unjudged)."""
    return result.verdict == "fail" and result.scores is not None and not result.flags and result.critic != "screens"


def audited(result: CritiqueResult, idea_id: str, fraction: float) -> bool:
    """Whether this rejected idea joins the queue as an audit item."""
    return fraction > 0 and is_candidate(result) and audit_draw(idea_id) < fraction
