"""The prior-art bar: how similar an idea must be to a library passage before the critic is asked whether
the paper already did it. Cosine scales differ between embedders, so the bar is kept per embedder.

It is derived from data (`data/calibration.toml`): ideas restating a starter paper in other words, and
ideas no starter paper has. Each restatement's similarity to its own paper and each unrelated idea's
similarity to its nearest paper are computed against the starter library; the bar is the cut between them
with the best accuracy, the widest gap winning ties (the cut sits midway in that gap). `python -m
bench.prior_art_bar` prints the figures; the value for the bundled MiniLM is recorded in PRIOR_ART_BARS.
Any other embedder derives its bar the same way on first use.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from groundhog.core.interfaces import Embedder
from groundhog.memory.embeddings import MINILM_NAME

DATA = Path(__file__).with_name("data")
STARTER = DATA / "starter.jsonl"
CALIBRATION = DATA / "calibration.toml"
# Derived by `python -m bench.prior_art_bar`: MiniLM puts the 15 restatements at 0.539-0.832 to their own
# paper and the 15 unrelated ideas at 0.283-0.493 to their nearest one; the cut is 0.516 (accuracy 1.00).
PRIOR_ART_BARS: dict[str, float] = {MINILM_NAME: 0.516}
_DERIVED: dict[str, float] = {}


@dataclass(frozen=True)
class BarFit:
    bar: float
    accuracy: float
    paraphrase: list[float]  # each restatement's similarity to its own paper
    unrelated: list[float]  # each unrelated idea's similarity to its nearest paper


def cut(positive: Sequence[float], negative: Sequence[float]) -> tuple[float, float]:
    """(threshold, accuracy): the midpoint between neighbouring values that classifies best (>= is
    positive), the widest gap among the best."""
    values = sorted(set(positive) | set(negative))
    best: tuple[float, float, float] | None = None  # accuracy, gap, threshold
    total = len(positive) + len(negative)
    for low, high in itertools.pairwise(values):
        t = (low + high) / 2
        right = sum(p >= t for p in positive) + sum(n < t for n in negative)
        key = (right / total, high - low, t)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return (values[0] if values else 0.5), 0.0
    return round(best[2], 3), best[0]


def fit(embedder: Embedder) -> BarFit:
    """The bar for `embedder`, from the calibration data against the starter library, in memory."""
    import numpy as np

    from groundhog.library.sources import read_file
    from groundhog.library.store import split

    papers = read_file(STARTER).papers
    data = tomllib.loads(CALIBRATION.read_text(encoding="utf-8"))
    chunks = [(p.title, c) for p in papers for c in split(p.document())]
    docs = np.array(embedder.embed([c for _, c in chunks]))
    owners = [t for t, _ in chunks]
    para = data["paraphrase"]
    queries = np.array(embedder.embed([d["text"] for d in para] + [d["text"] for d in data["unrelated"]]))
    sims = queries @ docs.T
    positive = []
    for n, d in enumerate(para):
        own = [i for i, t in enumerate(owners) if t == d["paper"]]
        assert own, f"calibration paper {d['paper']!r} is not in the starter library"
        positive.append(float(sims[n, own].max()))
    negative = [float(row.max()) for row in sims[len(para) :]]
    bar, accuracy = cut(positive, negative)
    return BarFit(bar, accuracy, positive, negative)


def prior_art_bar(embedder: Embedder) -> float:
    name = embedder.name
    if name in PRIOR_ART_BARS:
        return PRIOR_ART_BARS[name]
    if name not in _DERIVED:
        _DERIVED[name] = fit(embedder).bar
    return _DERIVED[name]
