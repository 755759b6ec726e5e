"""The learned screen: a linear classifier beside the patterns and the exemplar banks, fitted on the
training split of the screens corpus (critique/corpus.py) for one embedder.

It reads a text as units: the whole text, and each sentence the exemplar layers embed
(`text._embeddable_sentences`: quoted examples masked). Each unit's features are its embedding, its
words and word pairs hashed into `BUCKETS` slots, and the character 3- to 5-grams of its words hashed into
`CHAR_BUCKETS` more (a new inflection, compound or misspelling of a trained word still counts; on the
training split's cross-validation, carriers kept apart from the texts a fold is scored on, they add 1 to
4 points of recall a family at 2% false flags).
A multinomial logistic regression gives each unit a probability per family; the text is flagged when
some unit's probability of not being benign reaches the model's bar (chosen by cross-validation to keep
false flags on benign training text near 2%), with the family of that unit and its nearest training
examples as the reason.

Applying the model needs only numpy: the coefficients are stored as arrays (an .npz, no pickle) with the
embedder they were fitted for, the feature version and the figures of the fit. Fitting needs
scikit-learn (`critique.fitting`, the `train` extra). The bundled MiniLM's model ships in critique/data;
a model for any other embedder is fitted by `babble --calibrated` and kept in the cache folder.
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from groundhog.core.files import cache_dir
from groundhog.core.interfaces import Embedder
from groundhog.core.records import Flag
from groundhog.critique.corpus import BENIGN, FAMILIES
from groundhog.critique.text import _embeddable_sentences, _quote

FEATURES_VERSION = 2  # of `hashed`: a model fitted on other features is not applied
BUCKETS = 8192  # words and word pairs
CHAR_BUCKETS = 32768  # character n-grams of the words
CHAR_GRAMS = (3, 5)
HASHED = BUCKETS + CHAR_BUCKETS
LEXICAL_WEIGHT = 1.0  # each hashed block's length beside the unit-length embedding
NEAREST = 2  # training examples named in a reason
SHIPPED_DIR = Path(__file__).parent / "data"
_TOKEN = re.compile(r"[a-z0-9']+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def units(text: str) -> list[str]:
    """What the screen scores: the text itself, then its sentences (the exemplar layers' own)."""
    whole = text.strip()
    return list(dict.fromkeys([whole, *_embeddable_sentences(text)])) if whole else []


def hashed(unit: str) -> tuple[np.ndarray, np.ndarray]:
    """The unit's hashed features as (columns, values) after the embedding's: its words and adjacent word
    pairs (CRC-32, stable across runs and machines), then the character n-grams of its words; each block
    binary and of length `LEXICAL_WEIGHT`."""
    words = _TOKEN.findall(unit.lower())
    grams = {*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))}
    word_cols = {zlib.crc32(g.encode()) % BUCKETS for g in grams}
    joined = f" {' '.join(words)} "
    low, high = CHAR_GRAMS
    chars = {joined[i : i + n] for n in range(low, high + 1) for i in range(len(joined) - n + 1)}
    char_cols = {BUCKETS + zlib.crc32(b"c" + g.encode()) % CHAR_BUCKETS for g in chars}
    cols, vals = [], []
    for block in (word_cols, char_cols):
        if block:
            cols += sorted(block)
            vals += [LEXICAL_WEIGHT / float(np.sqrt(len(block)))] * len(block)
    return np.asarray(cols, dtype=np.int64), np.asarray(vals, dtype=np.float32)


def model_file(name: str) -> str:
    return f"learned_screen-{_UNSAFE.sub('_', name)}.npz"


@dataclass(frozen=True)
class LinearModel:
    """A fitted learned screen: softmax(features @ coef.T + intercept) over `classes`."""

    embedder: str
    classes: tuple[str, ...]
    coef: np.ndarray  # (classes, dim + HASHED): the embedding's weights, then the hashed features
    intercept: np.ndarray  # (classes,)
    threshold: float  # P(not benign) of a unit at which the text is flagged
    examples: tuple[str, ...] = ()  # harmful training units, for the reason
    example_families: tuple[str, ...] = ()
    example_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float16))
    corpus: str = ""  # `corpus.corpus_key()` of the training split it was fitted on
    version: int = FEATURES_VERSION
    figures: dict[str, Any] = field(default_factory=dict)  # cross-validated, see `describe`

    @property
    def dim(self) -> int:
        return int(self.coef.shape[1]) - HASHED

    def probabilities(self, unit_texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """softmax over the classes, one row per unit: the embedding's part as a product, the hashed
        features' part as a sum of the few columns each unit sets."""
        dense = self.coef[:, : self.dim]
        logits = np.asarray(vectors, dtype=np.float32).reshape(len(unit_texts), -1) @ dense.T + self.intercept
        for row, unit in enumerate(unit_texts):
            cols, vals = hashed(unit)
            logits[row] += self.coef[:, self.dim + cols] @ vals
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def harm(self, unit_texts: Sequence[str], vectors: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Per unit: the probability that it is not benign, and its likeliest harmful family."""
        p = self.probabilities(unit_texts, vectors)
        benign = self.classes.index(BENIGN)
        harmful = [i for i in range(len(self.classes)) if i != benign]
        best = p[:, harmful].argmax(axis=1)
        return 1.0 - p[:, benign], [self.classes[harmful[int(b)]] for b in best]

    def nearest_examples(self, vector: np.ndarray, family: str) -> list[str]:
        pick = [i for i, f in enumerate(self.example_families) if f == family]
        if not pick:
            return []
        sims = self.example_vectors[pick].astype(np.float32) @ np.asarray(vector, dtype=np.float32)
        return [self.examples[pick[int(i)]] for i in np.argsort(-sims)[:NEAREST]]

    def describe(self) -> str:
        f = self.figures
        if not f:
            return f"learned screen for {self.embedder}"
        recall = ", ".join(f"{k} {v:.0%}" for k, v in sorted(f.get("recall", {}).items()))
        return (
            f"learned screen for {self.embedder}: {f.get('units', 0)} training units, cross-validated over "
            f"{f.get('folds', 0)} x {f.get('folds', 0)} folds (parts x carriers) at bar {self.threshold:.2f}: "
            f"{f.get('false_flags', 0):.1%} of benign "
            f"training texts flagged; recall {recall}"
        )

    def save(self, path: Path) -> None:
        meta = {
            "embedder": self.embedder,
            "classes": list(self.classes),
            "threshold": self.threshold,
            "examples": list(self.examples),
            "example_families": list(self.example_families),
            "corpus": self.corpus,
            "version": self.version,
            "figures": self.figures,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as fh:
            np.savez_compressed(
                fh,
                meta=np.array(json.dumps(meta)),
                coef=self.coef.astype(np.float32),
                intercept=self.intercept.astype(np.float32),
                example_vectors=self.example_vectors.astype(np.float16),
            )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                embedder=meta["embedder"],
                classes=tuple(meta["classes"]),
                coef=data["coef"],
                intercept=data["intercept"],
                threshold=float(meta["threshold"]),
                examples=tuple(meta["examples"]),
                example_families=tuple(meta["example_families"]),
                example_vectors=data["example_vectors"],
                corpus=meta.get("corpus", ""),
                version=int(meta.get("version", 0)),
                figures=meta.get("figures", {}),
            )


def fitted_path(name: str) -> Path:
    """Where a model fitted here for the embedder `name` is kept (the shipped one is in critique/data)."""
    return cache_dir() / "learned-screen" / model_file(name)


def find_model(name: str) -> tuple[LinearModel | None, str]:
    """The model for embedder `name`: one fitted here, else the shipped one; else None and why."""
    for path in (fitted_path(name), SHIPPED_DIR / model_file(name)):
        if not path.exists():
            continue
        try:
            model = LinearModel.load(path)
        except (OSError, ValueError, KeyError) as exc:
            return None, f"the learned screen in {path} cannot be read ({exc}); `babble --calibrated` refits it"
        if model.embedder != name or model.version != FEATURES_VERSION:
            continue  # fitted for another embedder or on other features: look further
        return model, ""
    return None, (
        f"no learned screen for embedder {name}: `groundhog babble --calibrated` fits one (needs the 'train' extra)"
    )


class LearnedScreen:
    """The learned screen for one embedder. Built with the embedder; off (with `why_off`) when no model
    was fitted for it or the model does not fit its vectors."""

    def __init__(self, embedder: Embedder | None, model: LinearModel | None = None) -> None:
        self.embedder = embedder
        self.why_off = "" if embedder is not None else "no embedder"
        if model is None and embedder is not None:
            model, self.why_off = find_model(embedder.name)
        self.model = model

    @property
    def on(self) -> bool:
        return self.model is not None and self.embedder is not None

    def units(self, text: str) -> list[str]:
        return units(text) if self.on else []

    def score(self, text: str, vectors: Mapping[str, Sequence[float]] | None = None) -> Scored | None:
        """Each unit of the text scored; None when the screen is off. `vectors` are the units' embeddings
        as the other layers already have them; a unit missing from it is embedded here."""
        model, embedder = self.model, self.embedder
        parts = self.units(text)
        if model is None or embedder is None or not parts:
            return None
        known = vectors or {}
        missing = [u for u in parts if u not in known]
        extra = dict(zip(missing, embedder.embed(missing), strict=True)) if missing else {}
        matrix = np.asarray([known[u] if u in known else extra[u] for u in parts], dtype=np.float32)
        if matrix.shape[1] != model.dim:
            self.model, self.why_off = None, f"the learned screen expects {model.dim}-d vectors, not {matrix.shape[1]}"
            return None
        harm, family = model.harm(parts, matrix)
        return Scored(model, parts, matrix, harm, family)

    def check(self, text: str, vectors: Mapping[str, Sequence[float]] | None = None) -> Flag | None:
        """Flag the text if one of its units reads as harmful."""
        scored = self.score(text, vectors)
        return scored.flag() if scored is not None else None


@dataclass(frozen=True)
class Scored:
    """A text's units as the learned screen read them."""

    model: LinearModel
    units: list[str]
    vectors: np.ndarray
    harm: np.ndarray  # P(not benign) per unit
    family: list[str]  # likeliest harmful family per unit

    def flag(self) -> Flag | None:
        """The flag of the unit likeliest harmful, if it reaches the model's bar: its family in words,
        the unit, and the nearest training examples of that family."""
        i = int(self.harm.argmax())
        if self.harm[i] < self.model.threshold:
            return None
        family = self.family[i]
        name, what = FAMILIES[family]
        like = " and ".join(f"'{_quote(e, 60)}'" for e in self.model.nearest_examples(self.vectors[i], family))
        near = f"; nearest training examples {like}" if like else ""
        return Flag(
            name=name,
            reason=f"{family}, {what} (learned screen, {self.harm[i]:.2f}): '{_quote(self.units[i], 80)}'{near}",
        )
