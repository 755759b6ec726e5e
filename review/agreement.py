"""Agreement between human reviewers, over the ideas more than one of them decided.

Decisions are nominal: accepted, rejected, deferred. For every pair of reviewers, Cohen's kappa over the
ideas both decided: from their confusion counts n_ij (N ideas), the observed agreement p_o = sum_i n_ii / N,
the agreement expected from each one's own shares p_e = sum_i n_i. n_.i / N^2, and kappa = (p_o - p_e) /
(1 - p_e). With three reviewers or more, Krippendorff's alpha (nominal) over every idea at least two of
them decided, missing decisions allowed: each idea u with m_u decisions adds 1 / (m_u - 1) to the
coincidence o_ck for every ordered pair of its decisions, n_c = sum_k o_ck, n = sum_c n_c, and alpha = 1 -
(n - 1) * sum_(c != k) o_ck / sum_(c != k) n_c n_k.

Each comes with a 95% percentile bootstrap interval over ideas: the ideas are drawn again with replacement
(2,000 times, seeded, so the same decisions give the same interval), the statistic recomputed each time,
and the 2.5th and 97.5th percentiles taken. A resample is a multinomial draw over the distinct patterns of
decisions (a pair of statuses; a multiset of statuses), which is the same thing and costs nothing per
idea. A statistic is None where it is undefined: kappa when both reviewers gave one and the same status
throughout (p_e = 1), alpha when every decision was the same.

Written here rather than taken from scikit-learn (`cohen_kappa_score`, which brings SciPy into the light
base install) or the `krippendorff` package (GPL-licensed); the tests check both against those libraries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from groundhog.core.records import QueueItem

if TYPE_CHECKING:
    import numpy as np

CATEGORIES: tuple[str, ...] = ("accepted", "rejected", "deferred")
RESAMPLES = 2000
SEED = 0
METHOD = f"95% percentile bootstrap over ideas ({RESAMPLES} resamples, seed {SEED})"


class PairAgreement(BaseModel):
    """Cohen's kappa of two reviewers over the ideas both decided."""

    reviewers: list[str]  # the two, in name order; `confusion` is the first's status -> the second's
    items: int = 0
    observed: float | None = None  # p_o: the share of ideas they decided alike
    expected: float | None = None  # p_e: the share chance would give, from each one's own shares
    kappa: float | None = None
    low: float | None = None
    high: float | None = None
    confusion: dict[str, dict[str, int]] = Field(default_factory=dict)


class AlphaAgreement(BaseModel):
    """Krippendorff's alpha (nominal) over every idea at least two reviewers decided."""

    reviewers: list[str]
    items: int = 0  # ideas with two decisions or more
    decisions: int = 0  # the decisions on them (the pairable values)
    alpha: float | None = None
    low: float | None = None
    high: float | None = None


class ReviewerAgreement(BaseModel):
    """Who decided how much, and how far they agree (beside the critic-vs-human figures)."""

    method: str = METHOD
    reviewers: dict[str, int] = Field(default_factory=dict)  # reviewer -> decisions made
    pairs: list[PairAgreement] = Field(default_factory=list)  # pairs with at least one idea in common
    alpha: AlphaAgreement | None = None  # with three reviewers or more on shared ideas


def _finite(value: Any) -> float | None:
    number = float(value)
    return None if number != number else number  # NaN: undefined


def kappa_of(counts: np.ndarray) -> np.ndarray:
    """Cohen's kappa of confusion counts (..., K, K); NaN where p_e = 1."""
    import numpy as np

    total = counts.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.trace(counts, axis1=-2, axis2=-1) / total
        expected = (counts.sum(axis=-1) * counts.sum(axis=-2)).sum(axis=-1) / (total * total)
        kappa = (observed - expected) / (1.0 - expected)
    return np.where(expected >= 1.0 - 1e-12, np.nan, kappa)


def alpha_of(coincidences: np.ndarray) -> np.ndarray:
    """Krippendorff's nominal alpha of coincidence matrices (..., K, K); NaN where all values agree."""
    import numpy as np

    per_value = coincidences.sum(axis=-1)
    total = per_value.sum(axis=-1)
    disagreeing = coincidences.sum(axis=(-2, -1)) - np.trace(coincidences, axis1=-2, axis2=-1)
    by_chance = total * total - (per_value * per_value).sum(axis=-1)  # sum over c != k of n_c n_k
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (total - 1.0) * disagreeing / by_chance
    return np.where(by_chance <= 1e-12 * total * total, np.nan, alpha)


def _bootstrap(patterns: Counter[Any], matrix: dict[Any, np.ndarray], statistic: Any) -> tuple[Any, Any, Any]:
    """(estimate, low, high) of `statistic` over ideas, resampled as patterns (see the module's docstring)."""
    import numpy as np

    keys = list(patterns)
    weights = np.array([patterns[k] for k in keys], dtype=float)
    stack = np.stack([matrix[k] for k in keys])  # (P, K, K)
    estimate = statistic(np.tensordot(weights, stack, axes=1))
    rng = np.random.default_rng(SEED)
    drawn = rng.multinomial(int(weights.sum()), weights / weights.sum(), size=RESAMPLES).astype(float)
    values = statistic(np.tensordot(drawn, stack, axes=1))
    values = values[~np.isnan(values)]
    if values.size == 0:
        return estimate, np.nan, np.nan
    low, high = np.percentile(values, [2.5, 97.5])
    return estimate, low, high


def pair_agreement(
    a: str, b: str, pairs: Sequence[tuple[str, str]], categories: Sequence[str] = CATEGORIES
) -> PairAgreement:
    """Kappa of reviewers a and b from their (a's status, b's status) on each idea both decided."""
    import numpy as np

    k = len(categories)
    index = {c: n for n, c in enumerate(categories)}
    patterns: Counter[tuple[str, str]] = Counter(pairs)
    cells = {}
    for first, second in patterns:
        cell = np.zeros((k, k))
        cell[index[first], index[second]] = 1.0
        cells[(first, second)] = cell
    kappa, low, high = _bootstrap(patterns, cells, kappa_of)
    n = len(pairs)
    confusion = {c: {d: patterns.get((c, d), 0) for d in categories} for c in categories}
    rows = {c: sum(confusion[c].values()) for c in categories}
    columns = {c: sum(confusion[x][c] for x in categories) for c in categories}
    return PairAgreement(
        reviewers=[a, b],
        items=n,
        observed=sum(confusion[c][c] for c in categories) / n,
        expected=sum(rows[c] * columns[c] for c in categories) / (n * n),
        kappa=_finite(kappa),
        low=_finite(low),
        high=_finite(high),
        confusion=confusion,
    )


def alpha_agreement(
    units: Sequence[Sequence[str]], categories: Sequence[str] = CATEGORIES
) -> tuple[float | None, float | None, float | None]:
    """(alpha, low, high) over units, each the values the reviewers who decided it gave; units with
    fewer than two values are not pairable and count for nothing."""
    import numpy as np

    k = len(categories)
    index = {c: n for n, c in enumerate(categories)}
    patterns: Counter[tuple[str, ...]] = Counter(tuple(sorted(u)) for u in units if len(u) >= 2)
    if not patterns:
        return None, None, None
    matrices = {}
    for pattern in patterns:
        m = np.zeros((k, k))
        for i, j in ((i, j) for i in range(len(pattern)) for j in range(len(pattern)) if i != j):
            m[index[pattern[i]], index[pattern[j]]] += 1.0 / (len(pattern) - 1)
        matrices[pattern] = m
    alpha, low, high = _bootstrap(patterns, matrices, alpha_of)
    return _finite(alpha), _finite(low), _finite(high)


def reviewer_agreement(items: Iterable[QueueItem]) -> ReviewerAgreement:
    """Kappa for every pair of reviewers with ideas in common; alpha once three or more share ideas."""
    made: dict[str, dict[str, str]] = {}  # idea id -> reviewer -> status
    counts: Counter[str] = Counter()
    for item in items:
        for decision in item.decisions:
            made.setdefault(item.id, {})[decision.reviewer] = decision.status
            counts[decision.reviewer] += 1
    out = ReviewerAgreement(reviewers=dict(sorted(counts.items())))
    for a, b in combinations(sorted(counts), 2):
        both = [(by[a], by[b]) for by in made.values() if a in by and b in by]
        if both:
            out.pairs.append(pair_agreement(a, b, both))
    shared = [by for by in made.values() if len(by) >= 2]
    sharing = sorted({reviewer for by in shared for reviewer in by})
    if len(sharing) >= 3:
        alpha, low, high = alpha_agreement([list(by.values()) for by in shared])
        out.alpha = AlphaAgreement(
            reviewers=sharing,
            items=len(shared),
            decisions=sum(len(by) for by in shared),
            alpha=alpha,
            low=low,
            high=high,
        )
    return out
