"""Learning the critic's thresholds from the reviewer's decisions (`babble --calibrated`, `queue stats`).

The critic passes an idea when its rubric mean, its lowest axis and its relevance reach three thresholds
(`critique.critic.Thresholds`). Over the ideas a human has accepted or rejected (with the critic's
scores), this finds the thresholds whose pass/fail best predicts accept/reject: a grid search over
every mean from 1 to 10 in steps of 0.5 and every floor from 1 to 10 (ties go to the thresholds nearest
the ones in force, so a flat stretch of the grid does not move them). Its accuracy is estimated by
stratified k-fold cross-validation: thresholds fitted on k-1 folds, scored on the fold left out.

The decisions it learns from are the survivors (which passed the thresholds in force) and the audit
items (a sample of what the critic rejected, see `critique.audit`): without audit items every decided
idea already passed, and the fit can only tighten the thresholds, never loosen them. With fewer than
MIN_DECISIONS decisions, or fewer than MIN_EACH of either kind, it says so and keeps the defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from groundhog.core.records import QueueItem, stable_id

MIN_DECISIONS = 20
MIN_EACH = 5
FOLDS = 5
MEANS = [1.0 + 0.5 * n for n in range(19)]
FLOORS = list(range(1, 11))


class Calibration(BaseModel):
    usable: bool
    reason: str
    decisions: int = 0
    accepted: int = 0
    rejected: int = 0
    current: dict[str, float] = Field(default_factory=dict)  # the thresholds in force
    thresholds: dict[str, float] | None = None  # fitted on every decision
    cv_accuracy: float | None = None  # of the fitted thresholds, cross-validated
    baseline_accuracy: float | None = None  # always predicting the commoner decision, cross-validated
    current_accuracy: float | None = None  # of the thresholds in force, on every decision
    folds: int = 0

    def describe(self) -> str:
        if not self.usable or self.thresholds is None:
            return self.reason
        t = self.thresholds
        return (
            f"mean >= {t['min_mean']:g}, each axis >= {t['min_each']:g}, relevance >= {t['min_relevance']:g}: "
            f"cross-validated accuracy {self.cv_accuracy:.2f} over {self.decisions} decisions "
            f"({self.accepted} accepted, {self.rejected} rejected; {self.folds} folds), against "
            f"{self.baseline_accuracy:.2f} for always answering the commoner decision and "
            f"{self.current_accuracy:.2f} for the thresholds in force"
        )


def _folds(ids: list[str], labels: list[bool], k: int) -> list[int]:
    """Stratified folds, fixed by the ids: each class dealt round-robin in a hashed order."""
    fold = [0] * len(ids)
    for cls in (True, False):
        members = sorted((n for n, y in enumerate(labels) if y == cls), key=lambda n: stable_id(ids[n], "fold"))
        for position, n in enumerate(members):
            fold[n] = position % k
    return fold


def calibrate(items: Iterable[QueueItem], current: Mapping[str, float]) -> Calibration:
    import numpy as np

    decided = [i for i in items if i.status in ("accepted", "rejected") and i.critique.scores is not None]
    y = [i.status == "accepted" for i in decided]
    accepted, rejected = sum(y), len(y) - sum(y)
    base = Calibration(
        usable=False, reason="", decisions=len(y), accepted=accepted, rejected=rejected, current=dict(current)
    )
    if len(y) < MIN_DECISIONS or min(accepted, rejected) < MIN_EACH:
        base.reason = (
            f"too few decisions to calibrate the critic ({accepted} accepted and {rejected} rejected with "
            f"critic scores; need {MIN_DECISIONS} with at least {MIN_EACH} of each): keeping the thresholds "
            "in force"
        )
        return base
    scores = [i.critique.scores for i in decided if i.critique.scores is not None]
    mean = np.array([s.mean for s in scores])
    each = np.array([min(s.novelty, s.feasibility, s.relevance, s.clarity) for s in scores])
    rel = np.array([s.relevance for s in scores])
    truth = np.array(y)
    grid = [(m, e, r) for m in MEANS for e in FLOORS for r in FLOORS]
    g_mean = np.array([g[0] for g in grid])[:, None]
    g_each = np.array([g[1] for g in grid])[:, None]
    g_rel = np.array([g[2] for g in grid])[:, None]
    passes = (mean[None, :] >= g_mean) & (each[None, :] >= g_each) & (rel[None, :] >= g_rel)
    correct = passes == truth[None, :]
    now = (current.get("min_mean", 6.0), current.get("min_each", 3.0), current.get("min_relevance", 5.0))
    distance = np.array([abs(m - now[0]) / 9 + abs(e - now[1]) / 9 + abs(r - now[2]) / 9 for m, e, r in grid])

    def best(mask: np.ndarray) -> int:
        hits = correct[:, mask].sum(axis=1)
        top = hits == hits.max()
        return int(np.flatnonzero(top)[np.argmin(distance[top])])

    folds = _folds([i.id for i in decided], y, FOLDS)
    fold_of = np.array(folds)
    right = baseline = 0
    for k in range(FOLDS):
        test = fold_of == k
        if not test.any():
            continue
        right += int(correct[best(~test), test].sum())
        majority = truth[~test].mean() >= 0.5
        baseline += int((truth[test] == majority).sum())
    chosen = grid[best(np.ones(len(y), dtype=bool))]
    current_ok = (mean >= now[0]) & (each >= now[1]) & (rel >= now[2])
    base.usable = True
    base.thresholds = {"min_mean": chosen[0], "min_each": chosen[1], "min_relevance": chosen[2]}
    base.cv_accuracy = right / len(y)
    base.baseline_accuracy = baseline / len(y)
    base.current_accuracy = float((current_ok == truth).mean())
    base.folds = FOLDS
    base.reason = "fitted " + base.describe()
    return base
