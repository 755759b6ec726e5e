"""How well each persona's ideas match its own writings: the in-character score against the corpus.

For every idea, its similarity to its persona's corpus (the mean cosine of its `TOP_K` nearest passages)
is set against its similarity to each other corpus, measured alike; the score is the margin over the
nearest other corpus. Personas that share one corpus (spawned variants keep their parent's) count as one
corpus: a variant is not measured against its own writings under another name.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from groundhog.tune.report import rounded
from groundhog.tune.vectors import VectorCache, grounding_texts

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore
    from groundhog.researchers.personas import Persona

TOP_K = 3  # passages of a corpus an idea is compared with: its nearest few, not one lucky sentence
_BATCH = 512


class CorpusMatch(BaseModel):
    """One persona's ideas against the corpora (`personas check --json` prints a list of these)."""

    persona: str
    ideas: int
    corpus_chunks: int
    own: float | None = None  # mean over ideas of the similarity to its own corpus
    other: float | None = None  # ... to the nearest other corpus
    score: float | None = None  # own - other: positive when the ideas sound like the persona's writings
    nearest_own: float | None = None  # share of ideas whose nearest corpus is their own
    chance: float | None = None  # 1 / number of corpora: what nearest_own is by luck
    nearest_other: str | None = None  # the persona whose corpus the ideas lean to most, besides their own
    note: str = ""  # why a figure is missing


def _corpora(
    log: LogStore, personas: Sequence[Persona], cache: VectorCache
) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """(persona id -> corpus key, corpus key -> unit vectors of its passages). The passages are the
    log's `corpus` entries with their stored vectors, else the corpus files, chunked and embedded."""
    logged: dict[str, list[list[float]]] = defaultdict(list)
    for entry, vector in log.with_vectors(kind="corpus"):
        logged[entry.persona].append(vector)
    key_of: dict[str, str] = {}
    vectors: dict[str, np.ndarray] = {}
    by_id = {p.id: p for p in personas}
    for pid in sorted(set(by_id) | set(logged)):
        persona = by_id.get(pid)
        folder = persona.corpus_dir() if persona is not None else None
        key = str(folder) if folder is not None else f"log:{pid}"
        key_of[pid] = key
        if key in vectors:
            continue
        if logged.get(pid):
            found = np.asarray(logged[pid], dtype=float)
        else:
            texts = grounding_texts(persona) if persona is not None else []
            found = cache.embed(texts) if texts else np.zeros((0, 0))
        if len(found):
            norms = np.linalg.norm(found, axis=1, keepdims=True)
            vectors[key] = found / np.where(norms > 0, norms, 1.0)
    return {pid: key for pid, key in key_of.items() if key in vectors}, vectors


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Per row, the mean of its k highest values."""
    k = min(k, sims.shape[1])
    return np.asarray(np.sort(sims, axis=1)[:, -k:].mean(axis=1))


def corpus_match(
    log: LogStore,
    personas: Sequence[Persona],
    *,
    session: str | None = None,
    only: Sequence[str] | None = None,
) -> list[CorpusMatch]:
    """Each persona with ideas in the log (of `session`, of the personas in `only`), against the corpora."""
    cache = VectorCache(log.embedder)
    ideas: dict[str, list[list[float]]] = defaultdict(list)
    for entry, vector in log.with_vectors(kind="idea", session=session):
        if only is None or entry.persona in only:
            ideas[entry.persona].append(vector)
    key_of, corpora = _corpora(log, personas, cache)
    keys = sorted(corpora)
    owner = {key: sorted(p for p, k in key_of.items() if k == key)[0] for key in keys}
    out = []
    for pid in sorted(ideas):
        m = np.asarray(ideas[pid], dtype=float)
        m = m / np.where((n := np.linalg.norm(m, axis=1, keepdims=True)) > 0, n, 1.0)
        own_key = key_of.get(pid)
        row = CorpusMatch(persona=pid, ideas=len(m), corpus_chunks=len(corpora[own_key]) if own_key else 0)
        if own_key is None:
            row.note = "no corpus: the persona has no grounding writings to match"
        elif len(keys) < 2:
            row.note = "no other corpus to compare with"
        else:
            _score(row, m, own_key, keys, corpora, owner)
        out.append(row)
    return out


def _score(
    row: CorpusMatch,
    ideas: np.ndarray,
    own_key: str,
    keys: list[str],
    corpora: dict[str, np.ndarray],
    owner: dict[str, str],
) -> None:
    sims = np.zeros((len(ideas), len(keys)))
    for start in range(0, len(ideas), _BATCH):
        batch = ideas[start : start + _BATCH]
        for j, key in enumerate(keys):
            sims[start : start + _BATCH, j] = _top_mean(batch @ corpora[key].T, TOP_K)
    own_col = keys.index(own_key)
    own = sims[:, own_col]
    rest = np.delete(sims, own_col, axis=1)
    other = rest.max(axis=1)
    leaning = Counter(owner[np.delete(np.array(keys), own_col)[j]] for j in rest.argmax(axis=1))
    row.own = rounded(float(own.mean()))
    row.other = rounded(float(other.mean()))
    row.score = rounded(float((own - other).mean()))
    row.nearest_own = rounded(float((sims.argmax(axis=1) == own_col).mean()))
    row.chance = rounded(1.0 / len(keys))
    row.nearest_other = leaning.most_common(1)[0][0]
