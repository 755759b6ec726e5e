"""Agreement between reviewers (review/agreement.py): Krippendorff's alpha on his own worked example, kappa
and alpha against scikit-learn and the `krippendorff` package on random decisions, the bootstrap
interval, and the cases where a statistic is undefined."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from groundhog.core.records import CritiqueResult, Decision, Idea, QueueItem
from groundhog.review.agreement import CATEGORIES, alpha_agreement, pair_agreement, reviewer_agreement

# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), the nominal example: four observers
# (rows) value twelve units (columns); None where an observer gave no value.
KRIPPENDORFF = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
VALUES = ("1", "2", "3", "4", "5")


def _units(table: list[list[int | None]]) -> list[list[str]]:
    return [[str(row[u]) for row in table if row[u] is not None] for u in range(len(table[0]))]


def test_alpha_reproduces_krippendorffs_worked_example() -> None:
    # By hand, as the paper does it: unit 12 has one value and is not pairable, leaving n = 40 values.
    # Their coincidences give n_1 = 9, n_2 = 13, n_3 = 10, n_4 = 5, n_5 = 3. The disagreeing ones:
    # unit 2 (2, 2, 3, 2) adds 3 x 1/3 to o_23 and to o_32; unit 6 (1, 2, 3, 4) adds 1/3 to each of
    # its 12 ordered pairs; unit 8 (1, 1, 2, 1) adds 1 to o_12 and to o_21: 2 + 4 + 2 = 8 in all.
    # alpha = 1 - (n - 1) * 8 / (n^2 - sum n_c^2) = 1 - 39 * 8 / (1600 - 384) = 1 - 312 / 1216 = 0.743,
    # the value the paper publishes.
    n_c = (9, 13, 10, 5, 3)
    by_hand = 1 - (40 - 1) * 8 / (40**2 - sum(v * v for v in n_c))
    assert round(by_hand, 3) == 0.743
    alpha, low, high = alpha_agreement(_units(KRIPPENDORFF), categories=VALUES)
    assert alpha == pytest.approx(by_hand)
    assert low is not None and high is not None and low < alpha <= high <= 1.0


def _random_decisions(seed: int, reviewers: int, ideas: int, missing: float) -> list[list[str | None]]:
    rng = random.Random(seed)
    truth = [rng.choice(CATEGORIES) for _ in range(ideas)]
    return [
        [None if rng.random() < missing else (t if rng.random() < 0.65 else rng.choice(CATEGORIES)) for t in truth]
        for _ in range(reviewers)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kappa_is_scikit_learns(seed: int) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    a, b = _random_decisions(seed, 2, 60, 0.0)
    pair = pair_agreement("a", "b", list(zip(a, b, strict=True)))  # type: ignore[arg-type]
    assert pair.kappa == pytest.approx(metrics.cohen_kappa_score(a, b), abs=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alpha_with_missing_decisions_is_the_krippendorff_packages(seed: int) -> None:
    krippendorff = pytest.importorskip("krippendorff")
    import numpy as np

    table = _random_decisions(seed, 4, 50, 0.3)
    code = {c: float(n) for n, c in enumerate(CATEGORIES)}
    reliability = np.array([[np.nan if v is None else code[v] for v in row] for row in table])
    units = [[row[u] for row in table if row[u] is not None] for u in range(50)]
    alpha, _, _ = alpha_agreement(units)  # type: ignore[arg-type]
    expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
    assert alpha == pytest.approx(expected, abs=1e-12)


def test_the_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    a, b = _random_decisions(7, 2, 80, 0.0)
    pairs = list(zip(a, b, strict=True))
    first = pair_agreement("a", "b", pairs)  # type: ignore[arg-type]
    assert first == pair_agreement("a", "b", pairs)  # type: ignore[arg-type]
    assert first.low is not None and first.high is not None and first.kappa is not None
    assert -1.0 <= first.low < first.kappa < first.high <= 1.0
    more = pair_agreement("a", "b", pairs * 4)  # type: ignore[arg-type]
    assert more.kappa == pytest.approx(first.kappa)  # the same shares, four times the ideas:
    assert more.high - more.low < first.high - first.low  # a narrower interval


def test_undefined_statistics_are_none() -> None:
    same = pair_agreement("a", "b", [("accepted", "accepted")] * 5)
    assert (same.observed, same.expected, same.kappa, same.low, same.high) == (1.0, 1.0, None, None, None)
    assert alpha_agreement([["rejected", "rejected", "rejected"]] * 4) == (None, None, None)
    assert alpha_agreement([["accepted"], ["rejected"]]) == (None, None, None)  # nothing pairable


def _item(n: int, made: dict[str, str]) -> QueueItem:
    idea_id = f"idea{n:04d}"
    when = datetime(2026, 11, 23, 6, n, tzinfo=UTC)
    return QueueItem(
        idea=Idea(id=idea_id, title="t", summary="s"),
        critique=CritiqueResult(idea_id=idea_id, verdict="pass"),
        status=list(made.values())[-1] if made else "pending",  # type: ignore[arg-type]
        decisions=[Decision(reviewer=r, status=s, decided_at=when) for r, s in made.items()],  # type: ignore[arg-type]
    )


def test_pairs_only_count_ideas_both_decided_and_alpha_needs_three_reviewers() -> None:
    items = [
        _item(0, {"ada": "accepted", "bea": "accepted"}),
        _item(1, {"ada": "rejected", "bea": "accepted"}),
        _item(2, {"ada": "rejected"}),
        _item(3, {}),
    ]
    two = reviewer_agreement(items)
    assert two.reviewers == {"ada": 3, "bea": 2} and two.alpha is None
    (pair,) = two.pairs
    assert pair.items == 2 and pair.confusion["rejected"]["accepted"] == 1
    items.append(_item(4, {"cyd": "deferred"}))  # a third reviewer who shares no idea: still no alpha
    assert reviewer_agreement(items).alpha is None and len(reviewer_agreement(items).pairs) == 1
    items.append(_item(5, {"ada": "accepted", "cyd": "accepted"}))
    three = reviewer_agreement(items)
    assert three.alpha is not None and three.alpha.reviewers == ["ada", "bea", "cyd"]
    assert (three.alpha.items, three.alpha.decisions) == (3, 6)
    assert [p.reviewers for p in three.pairs] == [["ada", "bea"], ["ada", "cyd"]]  # bea and cyd share none
