"""Exemplar banks for the similarity layer of the screens: labelled sentences (critique/data/*_exemplars.toml),
embedded once per embedder, and the bars a sentence must clear to be flagged by its nearest exemplars."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
            vectors = np.asarray(self.embedder.embed(texts), dtype=np.float32)
            self._pos = vectors[: len(self.bank.positive)]
            self._neg = vectors[len(self.bank.positive) :]
        return self._pos, self._neg

    def match(self, sentences: Sequence[str]) -> list[SentenceMatch]:
        if not sentences:
            return []
        pos, neg = self._matrices()
        vectors = np.asarray(self.embedder.embed(list(sentences)), dtype=np.float32)
        pos_sims = vectors @ pos.T
        neg_sims = vectors @ neg.T
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


@dataclass(frozen=True)
class Bar:
    """How close a sentence must come to the nearest positive exemplar (`similarity`) and by how much it
    must beat the nearest negative one (`margin`). Cosine scales differ between embedding models, so bars
    are calibrated per model and kept in tables keyed by the embedder's name."""

    similarity: float
    margin: float
