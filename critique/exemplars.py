"""Exemplar banks for the similarity layer of the screens: labelled sentences (critique/data/*_exemplars.toml),
embedded once per embedder, and the bars a sentence must clear to be flagged by its nearest exemplars."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from groundhog.core.files import cache_dir
from groundhog.core.interfaces import Embedder


@dataclass(frozen=True)
class Exemplar:
    text: str
    kind: str = ""


@dataclass(frozen=True)
class ExemplarBank:
    positive: tuple[Exemplar, ...]
    negative: tuple[Exemplar, ...]

    @classmethod
    def load(cls, path: Path) -> ExemplarBank:
        with path.open("rb") as fh:
            data = tomllib.load(fh)

        def _read(key: str) -> tuple[Exemplar, ...]:
            return tuple(Exemplar(text=e["text"], kind=e.get("kind", "")) for e in data.get(key, []))

        return cls(positive=_read("positive"), negative=_read("negative"))


@dataclass(frozen=True)
class SentenceMatch:
    """How one sentence sits between the positive and the negative exemplars."""

    sentence: str
    positive_sim: float
    negative_sim: float
    nearest_positive: Exemplar
    nearest_negative: Exemplar

    @property
    def margin(self) -> float:
        return self.positive_sim - self.negative_sim


class ExemplarIndex:
    """A bank embedded once, lazily, with one embedder; scores sentences by their nearest exemplars."""

    def __init__(self, bank: ExemplarBank, embedder: Embedder) -> None:
        self.bank = bank
        self.embedder = embedder
        self._pos: np.ndarray | None = None
        self._neg: np.ndarray | None = None

    def _matrices(self) -> tuple[np.ndarray, np.ndarray]:
        if self._pos is None or self._neg is None:
            texts = [e.text for e in self.bank.positive] + [e.text for e in self.bank.negative]
            vectors = self._cached_vectors(texts)
            self._pos = vectors[: len(self.bank.positive)]
            self._neg = vectors[len(self.bank.positive) :]
        return self._pos, self._neg

    def _cached_vectors(self, texts: list[str]) -> np.ndarray:
        """The bank's vectors, embedded once per embedder and bank version and kept on disk."""
        key = hashlib.sha256("\x1f".join([self.embedder.name, *texts]).encode()).hexdigest()[:20]
        path = cache_dir() / "exemplars" / f"{key}.npy"
        try:
            cached = np.load(path)
            if cached.shape[0] == len(texts):
                return cached
        except (OSError, ValueError):
            pass  # not there yet, or unreadable: embed again
        vectors = np.asarray(self.embedder.embed(texts), dtype=np.float32)
        with contextlib.suppress(OSError):  # a cache only: a read-only disk costs the embedding next time
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".bank.", suffix=".npy", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, vectors)
            os.replace(tmp, path)
        return vectors

    def derived_bar(self) -> tuple[Bar | None, str]:
        """A bar from the bank itself, for an embedder without a calibration: each exemplar is scored
        against the rest of the bank (leave one out). The similarity bar is the higher of the median
        positive's nearest-positive similarity and the 75th percentile of the negatives'; the margin bar
        lets at most a tenth of the negatives through. Only when the embedder separates the bank (its
        nearest neighbour is of the same side for at least `SEPARABLE` of the exemplars); else None and
        the reason."""
        pos, neg = self._matrices()
        if len(pos) < 4 or len(neg) < 4:
            return None, "the exemplar bank is too small to derive a bar from"
        both = np.vstack([pos, neg])
        sims = both @ both.T
        np.fill_diagonal(sims, -np.inf)
        side = np.array([1] * len(pos) + [0] * len(neg))
        separation = float((side[sims.argmax(axis=1)] == side).mean())
        if separation < SEPARABLE:
            return None, (
                f"embedder {self.embedder.name} does not separate the exemplar bank "
                f"({separation:.2f} < {SEPARABLE} nearest-neighbour agreement): patterns only"
            )
        to_pos, to_neg = sims[:, : len(pos)], sims[:, len(pos) :]
        pos_sim, neg_sim = to_pos.max(axis=1), to_neg.max(axis=1)
        similarity = max(float(np.median(pos_sim[: len(pos)])), float(np.percentile(pos_sim[len(pos) :], 75)))
        margin = max(0.02, float(np.percentile((pos_sim - neg_sim)[len(pos) :], 90)))
        return Bar(similarity=round(similarity, 3), margin=round(margin, 3)), ""

    def match(self, sentences: Sequence[str], vectors: Sequence[Sequence[float]] | None = None) -> list[SentenceMatch]:
        """Each sentence's nearest exemplars; `vectors`, when given, are the sentences' embeddings already."""
        if not sentences:
            return []
        pos, neg = self._matrices()
        made = np.asarray(self.embedder.embed(list(sentences)) if vectors is None else vectors, dtype=np.float32)
        pos_sims = made @ pos.T
        neg_sims = made @ neg.T
        out = []
        for i, sentence in enumerate(sentences):
            p, n = int(pos_sims[i].argmax()), int(neg_sims[i].argmax())
            out.append(
                SentenceMatch(
                    sentence=sentence,
                    positive_sim=float(pos_sims[i, p]),
                    negative_sim=float(neg_sims[i, n]),
                    nearest_positive=self.bank.positive[p],
                    nearest_negative=self.bank.negative[n],
                )
            )
        return out


SEPARABLE = 0.78  # nearest-neighbour agreement on the bank below which derived bars are not trusted


@dataclass(frozen=True)
class Bar:
    """How close a sentence must come to the nearest positive exemplar (`similarity`) and by how much it
    must beat the nearest negative one (`margin`). Cosine scales differ between embedding models, so bars
    are calibrated per model and kept in tables keyed by the embedder's name."""

    similarity: float
    margin: float
