"""Fitting the learned screen (critique/learned.py) for an embedder, on the training split of the screens
corpus: cross-validated, then fitted on all of it. Needs scikit-learn (the `train` extra), imported here
only; applying a fitted model does not.

Training units are the units of the training texts (`learned.units`), each labelled by where it occurs:
benign if any benign text holds it (the research text an injected sentence sits in is benign wherever it
appears), else the one harmful family whose texts hold it. Cross-validation keeps apart both what a text
was composed from: its hand-written part (the corpus's `group`) and the research texts it sits in (its
`carriers`), on a grid of folds (`cells`), so every text is scored by a model that saw neither, as a
night's ideas are new research prose around whatever they hold. The bar is the P(not benign) that flags
`FALSE_FLAGS` of the benign training texts across the cells; recall per family at that bar is recorded with the model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from groundhog.core.interfaces import Embedder
from groundhog.critique.corpus import BENIGN, LabelledText, corpus_key, load_corpus
from groundhog.critique.learned import FEATURES_VERSION, HASHED, LinearModel, find_model, fitted_path, hashed, units

FOLDS = 5
FALSE_FLAGS = 0.02  # share of benign training texts the bar may flag, across the folds
# Inverse regularisation strength. 3 rather than 10: judged by scripts/corpus/judge.py over the three render
# seeds, 80.8 -> 81.4 mean recall on the training split's cross-validation, every family's average higher.
C = 3.0
# A benign unit counts this many times a harmful one: false flags cost more. 3 rather than 8: on the
# training split's cross-validation, 1 to 2 points more recall per family at the same 2% of false flags.
BENIGN_WEIGHT = 3.0
EMBED_BATCH = 256
EXAMPLES = 400  # harmful training units kept per family, with their vectors, for a reason's nearest examples

Progress = Callable[[str], None]


def unit_labels(texts: Sequence[LabelledText]) -> dict[str, str]:
    """Each unit of `texts` with its class; a unit held by two harmful families (and no benign text) is
    left out. Degenerate text counts only as a whole and only when no sentence of it is benign elsewhere:
    research prose cut off mid-sentence is the degenerate screen's to catch, not a lesson in what prose
    looks like."""
    seen: dict[str, set[str]] = defaultdict(set)
    for t in texts:
        if t.family != "degenerate":
            for u in units(t.text):
                seen[u].add(t.label)
    benign = {u for u, labels in seen.items() if BENIGN in labels}
    for t in texts:  # degenerate text as a whole only (its sentences may be fine), and only with none benign
        if t.family == "degenerate" and not benign.intersection(units(t.text)):
            seen[units(t.text)[0]].add(t.label)
    out = {}
    for unit, labels in seen.items():
        if BENIGN in labels:
            out[unit] = BENIGN
        elif len(labels) == 1:
            out[unit] = next(iter(labels))
    return out


def _embed(embedder: Embedder, texts: list[str], on_progress: Progress) -> np.ndarray:
    rows: list[list[float]] = []
    for start in range(0, len(texts), EMBED_BATCH):
        rows += embedder.embed(texts[start : start + EMBED_BATCH])
        on_progress(f"embedded {len(rows)} of {len(texts)} training units")
    return np.asarray(rows, dtype=np.float32)


def features(unit_texts: Sequence[str], vectors: np.ndarray):  # type: ignore[no-untyped-def]
    """One sparse row per unit: its embedding, then its hashed features (`learned.hashed`)."""
    from scipy import sparse

    pairs = [hashed(unit) for unit in unit_texts]
    indptr = np.cumsum([0, *(len(cols) for cols, _ in pairs)])
    cols = np.concatenate([np.zeros(0, np.int64), *(c for c, _ in pairs)])
    vals = np.concatenate([np.zeros(0, np.float32), *(v for _, v in pairs)])
    lex = sparse.csr_matrix((vals, cols, indptr), shape=(len(unit_texts), HASHED), dtype=np.float32)
    return sparse.hstack([sparse.csr_matrix(np.asarray(vectors, dtype=np.float32)), lex], format="csr")


@dataclass(frozen=True)
class Settings:
    """The fitter's settings: the classifier's inverse regularisation and how much a benign unit counts."""

    c: float = C
    benign_weight: float = BENIGN_WEIGHT


def _classifier(labels: Sequence[str], settings: Settings):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    weights = {label: (settings.benign_weight if label == BENIGN else 1.0) for label in set(labels)}
    return LogisticRegression(C=settings.c, max_iter=5000, class_weight=weights)


def _text_scores(clf, classes: list[str], text_units: list[list[int]], x: np.ndarray) -> list[float]:  # type: ignore[no-untyped-def]
    benign = classes.index(BENIGN)
    out = []
    for rows in text_units:
        p = clf.predict_proba(x[rows])
        out.append(float((1.0 - p[:, benign]).max()))
    return out


def reason_examples(labels: dict[str, str], per_family: int = EXAMPLES) -> list[str]:
    """The harmful units a model keeps for its reasons: at most `per_family` of each family, spread evenly
    over the family's units in corpus order (so every hand-written round of parts is represented)."""
    by_family: dict[str, list[str]] = defaultdict(list)
    for unit, label in labels.items():
        if label != BENIGN:
            by_family[label].append(unit)
    out = []
    for units_of in by_family.values():
        step = max(1, -(-len(units_of) // per_family))
        out += units_of[::step]
    return out


def cells(texts: Sequence[LabelledText], folds: int) -> list[tuple[list[int], list[int]]]:
    """Cross-validation's (train, test) pairs: a grid of `folds` x `folds` cells, one by the text's part
    (`group`, grouped k-fold) and one by its first carrier (carrier number modulo `folds`; texts in no
    carrier go with the first column). Each text is tested in one cell, by a model fitted on the texts
    of neither its part's fold nor any of its carriers' fold."""
    from sklearn.model_selection import GroupKFold

    part = np.zeros(len(texts), dtype=int)
    for k, (_, test) in enumerate(GroupKFold(n_splits=folds).split(texts, groups=[t.group for t in texts])):
        part[test] = k
    out = []
    for i in range(folds):
        for j in range(folds):
            test = [
                n for n, t in enumerate(texts) if part[n] == i and (t.carriers[0] % folds if t.carriers else 0) == j
            ]
            train = [n for n, t in enumerate(texts) if part[n] != i and all(c % folds != j for c in t.carriers)]
            if test:
                out.append((train, test))
    return out


def _score_cell(x, index: dict[str, int], texts: list[LabelledText], text_units: list[list[int]], cell, settings):  # type: ignore[no-untyped-def]
    train, test = cell
    labels = unit_labels([texts[i] for i in train])
    rows = [index[u] for u in labels]
    clf = _classifier(list(labels.values()), settings).fit(x[rows], list(labels.values()))
    return test, _text_scores(clf, list(clf.classes_), [text_units[i] for i in test], x)


@dataclass(frozen=True)
class Prepared:
    """Texts as the fitter reads them: their distinct units, embedded, with features, and each text's rows."""

    texts: list[LabelledText]
    index: dict[str, int]
    vectors: np.ndarray
    x: Any  # scipy CSR, one row per unit
    text_units: list[list[int]]


def prepare(texts: Sequence[LabelledText], embedder: Embedder, on_progress: Progress | None = None) -> Prepared:
    say = on_progress or (lambda message: None)
    all_units = list(dict.fromkeys(u for t in texts for u in units(t.text)))
    index = {u: i for i, u in enumerate(all_units)}
    vectors = _embed(embedder, all_units, say)
    text_units = [[index[u] for u in units(t.text)] for t in texts]
    return Prepared(list(texts), index, vectors, features(all_units, vectors), text_units)


def out_of_fold(
    data: Prepared,
    grid: list[tuple[list[int], list[int]]],
    *,
    settings: Settings | None = None,
    on_progress: Progress | None = None,
) -> np.ndarray:
    """Each text's score (its likeliest harmful unit's P(not benign)) from the model of its cell of `grid`
    (`cells`), which saw neither its part nor its carriers; the cells fitted on every core."""
    from joblib import Parallel, delayed

    settings = settings or Settings()
    say = on_progress or (lambda message: None)
    say(f"cross-validation: {len(grid)} cells, fitted in parallel")
    scores = np.zeros(len(data.texts))
    done = Parallel(n_jobs=-1, return_as="generator")(
        delayed(_score_cell)(data.x, data.index, data.texts, data.text_units, cell, settings) for cell in grid
    )
    for k, (test, cell_scores) in enumerate(done):
        scores[test] = cell_scores
        say(f"cross-validation cell {k + 1} of {len(grid)} done")
    return scores


def fitter_bar(scores: np.ndarray, benign: np.ndarray) -> float:
    """The bar the fitter sets: the score that flags `FALSE_FLAGS` of the benign texts, to 3 decimals,
    never below even odds and never unreachable."""
    threshold = round(float(np.quantile(scores[benign], 1.0 - FALSE_FLAGS)), 3)
    return min(max(threshold, 0.5), 0.99)


def fit(embedder: Embedder, *, folds: int | None = None, on_progress: Progress | None = None) -> LinearModel:
    """The learned screen for `embedder`, with its cross-validated figures (over `FOLDS` x `FOLDS` cells
    by default)."""
    folds = folds or FOLDS
    settings = Settings()
    data = prepare(load_corpus("train"), embedder, on_progress)
    texts, index, vectors, x = data.texts, data.index, data.vectors, data.x
    grid = cells(texts, folds)
    scores = out_of_fold(data, grid, settings=settings, on_progress=on_progress)
    benign = np.array([t.benign for t in texts])
    threshold = fitter_bar(scores, benign)
    flagged = scores >= threshold
    recall = {
        family: float(flagged[[i for i, t in enumerate(texts) if t.family == family]].mean())
        for family in sorted({t.family for t in texts if not t.benign})
    }
    labels = unit_labels(texts)
    rows = [index[u] for u in labels]
    clf = _classifier(list(labels.values()), settings).fit(x[rows], list(labels.values()))
    harmful = reason_examples(labels)
    figures = {
        "folds": folds,
        "cells": len(grid),
        "units": len(rows),
        "texts": len(texts),
        "false_flags": float(flagged[benign].mean()),
        "recall": recall,
        "C": settings.c,
        "benign_weight": settings.benign_weight,
    }
    return LinearModel(
        embedder=embedder.name,
        classes=tuple(str(c) for c in clf.classes_),
        coef=np.asarray(clf.coef_, dtype=np.float32),
        intercept=np.asarray(clf.intercept_, dtype=np.float32),
        threshold=threshold,
        examples=tuple(harmful),
        example_families=tuple(labels[u] for u in harmful),
        example_vectors=vectors[[index[u] for u in harmful]].astype(np.float16),
        corpus=corpus_key(),
        version=FEATURES_VERSION,
        figures=figures,
    )


def ensure_fitted(embedder: Embedder, on_progress: Progress | None = None) -> tuple[LinearModel | None, str]:
    """The learned screen for `embedder`, fitted and kept in the cache folder when there is none for the
    current corpus; with scikit-learn missing, None and the line that says how to get it."""
    from groundhog.core.extras import BY_NAME

    model, _ = find_model(embedder.name)
    if model is not None and model.corpus == corpus_key():
        return model, model.describe()
    extra = BY_NAME["train"]
    if extra.missing():
        return None, (
            f"no learned screen for embedder {embedder.name} and fitting one needs the 'train' extra: "
            f"{extra.install_hint()}"
        )
    model = fit(embedder, on_progress=on_progress)
    model.save(fitted_path(embedder.name))
    return model, "fitted " + model.describe()
