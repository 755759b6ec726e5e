"""Embedding geometry for `groundhog tune`: grounding centroids, the in-character score and novelty.

Kept apart from the analysis so the vector maths can be tested, and later shared, on its own; it knows
nothing of days, yields or recommendations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from groundhog.core.errors import BadInput
from groundhog.core.interfaces import Embedder
from groundhog.core.records import LogEntry
from groundhog.memory.store import novelty

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore
    from groundhog.researchers.personas import Persona


def unit(vector: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=float)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def centroid(vectors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray | None:
    """The unit-length mean: one direction for a body of text (None for no text)."""
    m = np.asarray(vectors, dtype=float)
    if m.size == 0:
        return None
    return unit(m.reshape(len(m), -1).mean(axis=0))


def in_character_score(
    text_vectors: Sequence[Sequence[float]] | np.ndarray,
    own_centroid: Sequence[float] | np.ndarray,
    other_centroids: Iterable[Sequence[float] | np.ndarray],
) -> float | None:
    """Cosine of the text's centroid to its own persona's grounding minus the best cosine to any other's.

    Positive: the text sounds more like its own persona than like anyone else. A similarity to one's own
    grounding alone says little (every persona writes about alignment); the margin over the nearest other
    persona is what shows the voice. None when there is no text or no other persona to compare with.
    """
    text = centroid(text_vectors)
    others = [unit(c) for c in other_centroids]
    if text is None or not others:
        return None
    own = float(text @ unit(own_centroid))
    return own - max(float(text @ o) for o in others)


class VectorCache:
    """Embeds each distinct text once, in batches."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            for text, vector in zip(chunk, self.embedder.embed(chunk), strict=True):
                self._vectors[text] = unit(vector)
        if not texts:
            return np.zeros((0, 0))
        return np.stack([self._vectors[t] for t in texts])


def grounding_texts(persona: Persona) -> list[str]:
    """The persona's corpus files, chunked as the loop ingests them; empty when it has none."""
    from groundhog.researchers.personas import corpus_chunks, corpus_files

    try:
        files = corpus_files(persona)
    except BadInput:
        return []
    return [chunk for path in files for chunk in corpus_chunks(path)]


def grounding_centroids(
    embedder: Embedder | VectorCache,
    personas: Sequence[Persona],
    log: LogStore | None = None,
    extra_ids: Iterable[str] = (),
) -> dict[str, np.ndarray]:
    """Each persona's grounding centroid: its `corpus` entries in the log, else its corpus files.

    `extra_ids` are personas known only from the log (a user persona since removed): log entries only.
    """
    cache = embedder if isinstance(embedder, VectorCache) else VectorCache(embedder)
    logged: dict[str, list[str]] = defaultdict(list)
    if log is not None:
        for e in log.entries(kind="corpus"):
            logged[e.persona].append(e.text)
    out: dict[str, np.ndarray] = {}
    by_id = {p.id: p for p in personas}
    for pid in list(by_id) + [i for i in extra_ids if i not in by_id]:
        texts = logged.get(pid) or (grounding_texts(by_id[pid]) if pid in by_id else [])
        found = centroid(cache.embed(texts)) if texts else None
        if found is not None:
            out[pid] = found
    return out


def novelty_by_day(log: LogStore, days: Mapping[tuple[str, int], list[LogEntry]]) -> dict[tuple[str, int], float]:
    """Mean over a day's ideas of 1 - cosine to the nearest idea written before that day (any session),
    by the same nearest-idea query and novelty measure as the duplicate screen. A day with no earlier
    idea at all has no novelty (nothing to be new against)."""
    out: dict[tuple[str, int], float] = {}
    for key, entries in days.items():
        if not entries:
            continue
        start = min(e.created_at for e in entries)
        distances = []
        for vector in log.embedder.embed([e.text for e in entries]):
            hits = log.nearest_ideas(vector, 1, keep=lambda e: e.created_at < start)  # noqa: B023
            if hits:
                distances.append(novelty(hits[0][1]))
        if distances:
            out[key] = float(np.mean(distances))
    return out
