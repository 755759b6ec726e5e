"""Novelty against the literature, beside novelty against the log: per day, the mean over its ideas of
1 - cosine similarity to the nearest library passage (the prior-art check's measure). No library, no
figure (None)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from groundhog.core.records import LogEntry
from groundhog.library.store import library_beside
from groundhog.memory.store import LogStore
from groundhog.tune.report import DayStats, rounded

Key = tuple[str, int]


def literature_by_day(log: LogStore, days: Mapping[Key, list[LogEntry]]) -> dict[Key, float]:
    if getattr(log, "client", None) is None:
        return {}
    library = library_beside(log)
    if library.count() == 0:
        return {}
    keys = [k for k, entries in days.items() if entries]
    texts = [e.text for k in keys for e in days[k]]
    found = iter(library.passages_many(log.embedder.embed(texts), 1) if texts else [])
    out: dict[Key, float] = {}
    for k in keys:
        distances = [1.0 - hits[0].similarity for hits in (next(found) for _ in days[k]) if hits]
        if distances:
            out[k] = sum(distances) / len(distances)
    return out


def pool(pooled: Sequence[DayStats], literature: Mapping[Key, float], days: Mapping[Key, list[LogEntry]]) -> None:
    """The pooled rows' literature novelty: each persona's day weighted by its ideas."""
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for key, value in literature.items():
        sums[key[1]][0] += value * len(days[key])
        sums[key[1]][1] += len(days[key])
    for d in pooled:
        total, n = sums.get(d.day, [0.0, 0.0])
        d.literature_novelty = rounded(total / n) if n else None
