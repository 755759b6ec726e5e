"""A researcher's writings, read for drafting a persona: the files, their passages, and the passages that
most sound like the writer, as many as the model's context holds.

Files are read by the library's readers (Markdown and text, PDF through pypdf) and cut by its splitter,
so a persona's writings and the library's papers are read alike. An unreadable file is named and
skipped; the others still count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from groundhog.core.errors import BadInput
from groundhog.core.interfaces import Embedder
from groundhog.researchers.corpus import corpus_paths
from groundhog.researchers.model import CORPUS_SUFFIXES

REDUNDANCY = 0.5  # how much a passage's likeness to those already chosen counts against it
NEAR_COPY = 0.95  # cosine to a chosen passage at which another is a copy of it (boilerplate, a repost)
_BATCH = 256
_SMALLEST = 200  # characters left in the budget below which no passage is worth looking for


@dataclass(frozen=True)
class Writing:
    source: str  # the file, relative to the writings folder
    text: str


@dataclass(frozen=True)
class Passage:
    source: str
    text: str
    score: float  # cosine to the centroid of all the writings' passages


@dataclass
class Writings:
    folder: Path
    documents: list[Writing]
    skipped: list[str] = field(default_factory=list)  # one line each: the file and why it was left out


def read_writings(folder: Path, option: str = "--writings") -> Writings:
    """Every readable writing in `folder` (searched below it); BadInput when there is none at all."""
    from groundhog.library.sources import read_file

    if not folder.exists():
        raise BadInput(f"{option}: folder not found: {folder}")
    if not folder.is_dir():
        raise BadInput(f"{option}: is not a folder: {folder}")
    files = corpus_paths(folder)
    if not files:
        raise BadInput(f"{option}: {folder} has no {', '.join(CORPUS_SUFFIXES)} files")
    out = Writings(folder=folder.resolve(), documents=[])
    for path in files:
        got = read_file(path)
        text = "\n\n".join(paper.document() for paper in got.papers if paper.document().strip())
        if got.errors or not text.strip():
            out.skipped += got.errors or [f"{path}: no text"]
            continue
        out.documents.append(Writing(str(path.relative_to(folder)), text))
    if not out.documents:
        raise BadInput(f"{option}: no readable writing in {folder} ({len(out.skipped)} skipped: {out.skipped[0]})")
    return out


def passages_of(writings: Writings) -> list[tuple[str, str]]:
    """(source, passage) pairs: each writing cut by the library's splitter."""
    from groundhog.library.store import split

    return [(w.source, chunk) for w in writings.documents for chunk in split(w.text)]


def _unit_rows(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    m = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.asarray(m / np.where(norms > 0, norms, 1.0))


def characteristic(pairs: Sequence[tuple[str, str]], embedder: Embedder, budget_chars: int) -> list[Passage]:
    """The passages that most sound like the writer, best first, until `budget_chars` are spent.

    A passage's score is its cosine to the centroid of every passage (what the writings keep returning
    to). Each next pick also pays for its likeness to the passages already picked (maximal marginal
    relevance), so overlapping chunks do not fill the window, and a copy of one is left out. The first
    passage is always kept, cut to the budget when it alone is longer."""
    if not pairs:
        return []
    texts = [text for _, text in pairs]
    vectors = _unit_rows([v for s in range(0, len(texts), _BATCH) for v in embedder.embed(texts[s : s + _BATCH])])
    centre = vectors.mean(axis=0)
    centre = centre / (np.linalg.norm(centre) or 1.0)
    scores = vectors @ centre
    nearest_chosen = np.full(len(texts), -1.0)
    open_ = np.ones(len(texts), dtype=bool)
    chosen: list[Passage] = []
    spent = 0
    while open_.any():
        merit = np.where(open_, scores - REDUNDANCY * np.maximum(nearest_chosen, 0.0), -np.inf)
        i = int(np.argmax(merit))
        open_[i] = False
        if nearest_chosen[i] >= NEAR_COPY:
            continue  # says nothing the window does not hold already
        source, text = pairs[i]
        if spent + len(text) > budget_chars:
            if not chosen:
                chosen.append(Passage(source, text[:budget_chars], float(scores[i])))
                break
            if budget_chars - spent < _SMALLEST:
                break
            continue  # a shorter passage may still fit
        chosen.append(Passage(source, text, float(scores[i])))
        spent += len(text) + len(source) + 8
        nearest_chosen = np.maximum(nearest_chosen, vectors @ vectors[i])
    return chosen
