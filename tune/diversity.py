"""How diverse a night was: whether many personas wrote many ideas, or one idea many times.

Measured on the session's ideas (each idea's final version, by the vector the log stored with it), for
the whole session and for each persona group with two or more personas in it:

- distinct share: the ideas that restate no earlier idea of another persona, at the duplicate screen's
  own threshold (what the screen flags across personas);
- mean pairwise cosine across personas against within a persona: a persona's ideas should resemble
  each other more than they resemble everyone else's;
- nearest-centroid accuracy: each idea given to the persona whose other ideas' centroid is nearest
  (leave-one-out), against the chance level of 1 / number of personas.

The personas have collapsed when any figure says so (the bounds below; bench/diversity.py measures
them on the built-in personas' writings).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from groundhog.tune.report import Diversity, DiversityReport, rounded

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore
    from groundhog.store.sessions import SessionStore

MIN_DISTINCT_SHARE = 0.5  # fewer than half the ideas new across personas: a chorus, not a population
MIN_SIMILARITY_GAP = 0.02  # within-persona minus across-persona cosine below this: the voices merge
CHANCE_MARGIN_SE = 2.0  # accuracy within this many binomial standard errors of chance is "near chance"
MIN_PERSONA_IDEAS = 2  # a persona needs this many ideas for its own likeness to be measured
PERMUTATIONS = 200  # label shuffles that say what gap chance alone gives (fewer for a large night:
MIN_PERMUTATIONS = 40  # its null is narrow, far under MIN_SIMILARITY_GAP, and each shuffle costs more)
PERMUTED_IDEAS = 400_000
_BATCH = 1024
_ROWS = 256  # ideas whose near copies are looked for at once


def _unit(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    m = np.asarray(vectors, dtype=float).reshape(len(vectors), -1)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.asarray(m / np.where(norms > 0, norms, 1.0))


def _distinct(v: np.ndarray, codes: np.ndarray, threshold: float) -> int:
    """Ideas with no earlier idea (in the given order) of another persona at or above `threshold`."""
    copies = 0
    for start in range(0, len(v), _ROWS):
        stop = min(start + _ROWS, len(v))
        rows, cols = np.nonzero(v[start:stop] @ v[:stop].T >= threshold)  # few, unless the night collapsed
        rows += start
        copy = (cols < rows) & (codes[cols] != codes[rows])
        copies += len(np.unique(rows[copy]))
    return len(v) - copies


def _codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each label as an index into the sorted distinct labels, and how many ideas each has."""
    _, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return codes, counts


def _sums(v: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each persona's sum of idea vectors (every persona has at least one idea)."""
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return np.asarray(np.add.reduceat(v[order], starts, axis=0))


def _pairwise(v: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> tuple[float | None, float | None]:
    """Mean cosine of pairs within a persona and of pairs across personas, from sums of vectors:
    for unit vectors the sum of a set's pairwise cosines is |sum|^2 minus its size."""
    sums = _sums(v, codes, counts)
    squares = float((sums * sums).sum())
    within_pairs = float((counts * (counts - 1)).sum())
    total = v.sum(axis=0)
    across_pairs = float(len(v) ** 2 - (counts**2).sum())
    within = (squares - float(counts.sum())) / within_pairs if within_pairs else None
    across = (float(total @ total) - squares) / across_pairs if across_pairs else None
    return within, across


def _random_gap(v: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> float | None:
    """The within-minus-across gap that shuffled persona labels reach in 1 draw of 20 (the 95th percentile
    of PERMUTATIONS shuffles, the same shuffles every time): a gap no larger carries no persona signal."""
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(max(MIN_PERMUTATIONS, min(PERMUTATIONS, PERMUTED_IDEAS // len(v)))):
        within, across = _pairwise(v, rng.permutation(codes), counts)
        if within is None or across is None:
            return None
        gaps.append(within - across)
    return float(np.percentile(gaps, 95))


def _accuracy(v: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> tuple[float | None, int]:
    """Leave-one-out nearest-centroid accuracy over the ideas of personas with enough ideas: each idea's
    own persona is represented by its other ideas. (accuracy, ideas classified)."""
    if len(counts) < 2:
        return None, 0
    sums = _sums(v, codes, counts)
    norms = np.linalg.norm(sums, axis=1)
    centroids = sums / np.maximum(norms, 1e-12)[:, None]
    right = tried = 0
    for start in range(0, len(v), _BATCH):
        batch, own = v[start : start + _BATCH], codes[start : start + _BATCH]
        sims = batch @ centroids.T
        dot = (batch * sums[own]).sum(axis=1)  # v . (sum of its persona's ideas), itself included
        rest = np.sqrt(np.maximum(norms[own] ** 2 - 2 * dot + 1.0, 1e-12))  # |that sum without v|
        rows = np.arange(len(batch))
        sims[rows, own] = (dot - 1.0) / rest
        keep = counts[own] >= MIN_PERSONA_IDEAS
        right += int((sims.argmax(axis=1) == own)[keep].sum())
        tried += int(keep.sum())
    return (right / tried if tried else None), tried


def measure(scope: str, ideas: Sequence[tuple[str, Sequence[float]]], threshold: float) -> Diversity:
    """The figures for `(persona, vector)` pairs, oldest idea first."""
    people = {p for p, _ in ideas}
    out = Diversity(scope=scope, personas=len(people), ideas=len(ideas))
    if len(people) < 2 or len(ideas) < 2:
        out.note = "fewer than two personas with ideas: nothing to compare"
        return out
    v = _unit([vec for _, vec in ideas]).astype(np.float32)
    codes, counts = _codes(np.array([p for p, _ in ideas]))
    out.distinct = _distinct(v, codes, threshold)
    out.distinct_share = rounded(out.distinct / len(ideas))
    within, across = _pairwise(v, codes, counts)
    out.within_similarity, out.across_similarity = rounded(within), rounded(across)
    out.random_gap = rounded(_random_gap(v, codes, counts))
    accuracy, tried = _accuracy(v, codes, counts)
    out.centroid_accuracy, out.chance = rounded(accuracy), rounded(1.0 / len(counts))
    if within is None:
        out.note = f"no persona has {MIN_PERSONA_IDEAS} ideas: likeness within a persona is not measured"
    out.reasons = _reasons(out, tried)
    out.collapsed = bool(out.reasons)
    return out


def _reasons(d: Diversity, tried: int) -> list[str]:
    reasons = []
    if d.distinct_share is not None and d.distinct_share < MIN_DISTINCT_SHARE:
        reasons.append(f"only {d.distinct_share:.0%} of the ideas are distinct across personas")
    if d.within_similarity is not None and d.across_similarity is not None:
        gap = d.within_similarity - d.across_similarity
        bound = max(MIN_SIMILARITY_GAP, d.random_gap if d.random_gap is not None else MIN_SIMILARITY_GAP)
        if gap < bound:
            reasons.append(
                f"ideas are about as alike across personas ({d.across_similarity:.3f}) as within one "
                f"({d.within_similarity:.3f}; gap {gap:+.3f}, below {bound:.3f})"
            )
    if d.centroid_accuracy is not None and d.chance is not None and tried:
        margin = CHANCE_MARGIN_SE * math.sqrt(d.chance * (1 - d.chance) / tried)
        if d.centroid_accuracy <= d.chance + margin:
            near = "no better than" if d.centroid_accuracy <= d.chance else "near"
            told = f"a persona is told from its ideas {d.centroid_accuracy:.0%} of the time"
            reasons.append(f"{told}, {near} chance ({d.chance:.0%})")
    return reasons


def night_diversity(
    session: str,
    ideas: Sequence[tuple[str, Sequence[float]]],
    groups: Mapping[str, str | None],
    threshold: float,
) -> DiversityReport:
    """The session's figures and each group's (`groups`: persona -> its group, or None)."""
    report = DiversityReport(
        session=session, duplicate_threshold=threshold, session_figures=measure("session", ideas, threshold)
    )
    by_group: dict[str, list[tuple[str, Sequence[float]]]] = {}
    for persona, vector in ideas:
        group = groups.get(persona)
        if group:
            by_group.setdefault(group, []).append((persona, vector))
    for group in sorted(by_group):
        members = by_group[group]
        if len({p for p, _ in members}) >= 2:
            report.groups.append(measure(f"group {group}", members, threshold))
    return report


def warning_line(d: Diversity) -> str:
    """The one line that says a scope's personas collapsed, and why."""
    return f"warning: the personas of the {d.scope} collapsed: {'; '.join(d.reasons)}"


def session_diversity(
    store: SessionStore, log: LogStore, session_id: str, groups: Mapping[str, str | None]
) -> DiversityReport:
    """`night_diversity` of a session's ideas as the log holds them: each idea's final version (the one
    its day reported), by its stored vector, at the session's own duplicate threshold."""
    row = store.get(session_id)
    final = [i["final_id"] for d in store.days(session_id) for i in d.summary.get("ideas", []) if i.get("final_id")]
    ideas = [(e.persona, v) for e, v in log.with_vectors(ids=final, kind="idea")]
    return night_diversity(session_id, ideas, groups, row.config.duplicate_threshold)
