"""The log's neighbour queries: the ideas nearest some vectors (the duplicate screen's), and several
searches of one persona's entries asked as one query (the wake-up's). Mixed into `LogStore`.

Both make fewer round trips to the index, which is most of a night's own work when the log is served by
Chroma's server: the duplicate screens of days screened at once share their query (memory/combine.py),
and a persona's first wake-up asks for its relevant work and its grounding writings together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from groundhog.core.interfaces import Embedder
from groundhog.core.records import LogEntry
from groundhog.memory.combine import Combiner
from groundhog.memory.rows import from_chroma, ideas_among, where_of

FILTERED_RUN = 64  # nearest-idea calls that skip the unfiltered probe after it found ideas rare
SMALL_LOG = 4000  # entries: below this, Chroma's filtered query is the cheaper (bench/concurrency.py)
TOGETHER_MIN = 64  # entries a joint search asks for at least: a young persona's whole history
# Personas whose grounding hits are kept (each some 50 passages): a population of thousands would
# otherwise keep every persona's. Once full, further personas ask the index each morning (a least-recently
# used order would keep none: a night's personas come round in turn).
CORPUS_HITS_MAX = 512


class Neighbours:
    embedder: Embedder
    _size: int | None
    _filtered_next: int
    _corpus_hits: dict[tuple[Any, ...], list[tuple[LogEntry, float]]]
    _query: Callable[..., dict[str, Any]]
    count: Callable[[], int]
    search: Callable[..., list[tuple[LogEntry, float]]]

    def _neighbour_state(self) -> None:
        # the duplicate screens of days screened at once share their queries (memory/combine.py)
        self._combined: dict[tuple[Any, ...], Combiner[Sequence[float], dict[str, Any]]] = {}
        self._combined_lock = threading.Lock()

    def _keep_corpus_hits(self, key: tuple[Any, ...], found: list[tuple[LogEntry, float]]) -> None:
        """Keep a grounding search's hits for the next morning, while there is room (CORPUS_HITS_MAX)."""
        if key in self._corpus_hits or len(self._corpus_hits) < CORPUS_HITS_MAX:
            self._corpus_hits[key] = found

    def _query_together(
        self, vectors: Sequence[Sequence[float]], k: int, where: dict[str, Any] | None, include: list[str]
    ) -> dict[str, Any]:
        """`_query`, its vectors sent with those of the same query made meanwhile on other threads."""
        key = (k, repr(where), tuple(include))
        with self._combined_lock:
            combined = self._combined.get(key)
            if combined is None:

                def rows(vs: list[Sequence[float]]) -> list[dict[str, Any]]:
                    res = self._query(vs, k, where, include)
                    return [{name: res[name][n] for name in ("ids", *include) if res.get(name)} for n in range(len(vs))]

                combined = self._combined[key] = Combiner(rows)
        found = combined(vectors)
        return {name: [row[name] for row in found] for name in ("ids", *include) if found and name in found[0]}

    def nearest_ideas(
        self,
        vector: Sequence[float],
        k: int = 3,
        *,
        keep: Callable[[LogEntry], bool] | None = None,
        widest: int = 256,
    ) -> list[tuple[LogEntry, float]]:
        """The k ideas nearest to `vector` (of those `keep` accepts), with similarity, best first; the
        entries carry their metadata (title, verdict, dates) but not their text."""
        return self.nearest_ideas_many([vector], k, keep=keep, widest=widest)[0]

    def nearest_ideas_many(
        self,
        vectors: Sequence[Sequence[float]],
        k: int = 3,
        *,
        keep: Callable[[LogEntry], bool] | None = None,
        widest: int = 256,
    ) -> list[list[tuple[LogEntry, float]]]:
        """`nearest_ideas` for each of `vectors`, in one query to the index (two where ideas are rare).

        Chroma answers a query filtered on metadata (kind="idea") by first listing every matching entry,
        which grows linearly with the log. So the unfiltered HNSW index is asked for 16k neighbours and
        the ideas among them kept (read from the raw metadata: only those become entries); where ideas
        are rare near a vector (a young log, full of corpus chunks), the filtered query is asked for
        little more than k. The next FILTERED_RUN calls then go straight to the filtered query (the
        probe would be wasted work), and a small log (SMALL_LOG entries) always does: listing its ideas
        costs less than the probe.
        """
        if not vectors:
            return []
        if self._size is None:
            self._size = self.count()  # then kept up to date by this store's writes
        if self._size < SMALL_LOG or self._filtered_next > 0:
            self._filtered_next = max(0, self._filtered_next - 1)
            return self._rare_ideas(vectors, k, keep, widest)
        probe = max(16 * k, 48)  # early in a log, corpus chunks and notes crowd the ideas out
        res = self._query_together(vectors, probe, None, ["metadatas", "distances"])
        out: list[list[tuple[LogEntry, float]]] = []
        rare: list[int] = []
        for n in range(len(vectors)):
            ids = res["ids"][n]
            out.append(ideas_among(ids, res["metadatas"][n], res["distances"][n], k, keep))
            if len(out[n]) < k and len(ids) >= probe:
                rare.append(n)
        if rare:
            self._filtered_next = FILTERED_RUN
            for n, found in zip(rare, self._rare_ideas([vectors[n] for n in rare], k, keep, widest), strict=True):
                out[n] = found
        return out

    def _rare_ideas(
        self,
        vectors: Sequence[Sequence[float]],
        k: int,
        keep: Callable[[LogEntry], bool] | None,
        widest: int,
    ) -> list[list[tuple[LogEntry, float]]]:
        """The filtered query for each vector, asking for little more than k, then wider for those whose
        first answer `keep` thinned out."""
        out: list[list[tuple[LogEntry, float]]] = [[] for _ in vectors]
        todo, n = list(range(len(vectors))), k + 8
        while todo:
            res = self._query_together([vectors[i] for i in todo], n, {"kind": "idea"}, ["metadatas", "distances"])
            wider = []
            for row, i in enumerate(todo):
                ids = res["ids"][row]
                out[i] = ideas_among(ids, res["metadatas"][row], res["distances"][row], k, keep)
                if len(out[i]) < k and len(ids) >= n and n < widest:
                    wider.append(i)
            todo, n = wider, n * 4
        return out

    def search_together(
        self, asks: Sequence[tuple[str, int, str | Sequence[str]]], *, persona: str
    ) -> list[list[tuple[LogEntry, float]]]:
        """`search(query, k=k, persona=persona, kind=kind)` for each (query, k, kind), the ones not
        answered from the grounding cache in one query to the index: the persona's entries nearest each
        query, whatever their kind, each search then keeping its kinds. That is each search's answer when
        it keeps k entries, or when the persona has fewer entries than were asked for (all came back: a
        young persona's first morning); a search left short is asked again on its own."""
        out: list[list[tuple[LogEntry, float]] | None] = [None] * len(asks)
        todo = []
        for i, (query, k, kind) in enumerate(asks):
            cached = self._corpus_hits.get((query, k, persona, None)) if kind == "corpus" else None
            if cached is not None:
                out[i] = list(cached)
            else:
                todo.append(i)
        if len(todo) == 1:  # nothing to share: the filtered query, as alone
            query, k, kind = asks[todo[0]]
            out[todo[0]] = self.search(query, k=k, persona=persona, kind=kind)
        elif todo:
            n = max(TOGETHER_MIN, *(4 * asks[i][1] for i in todo))
            vectors = self.embedder.embed([asks[i][0] for i in todo])
            res = self._query(vectors, n, where_of(persona=persona), ["documents", "metadatas", "distances"])
            for row, i in enumerate(todo):
                query, k, kind = asks[i]
                kinds = {kind} if isinstance(kind, str) else set(kind)
                ids, documents, metadatas = res["ids"][row], res["documents"][row], res["metadatas"][row]
                found = [
                    (entry, 1.0 - float(distance))
                    for entry, distance in zip(
                        (from_chroma(*e) for e in zip(ids, documents, metadatas, strict=True)),
                        res["distances"][row],
                        strict=True,
                    )
                    if entry.kind in kinds
                ][:k]
                if len(found) < k and len(ids) >= n:  # the persona has more: this search on its own
                    found = self.search(query, k=k, persona=persona, kind=kind)
                elif kind == "corpus":
                    self._keep_corpus_hits((query, k, persona, None), found)
                out[i] = found
        return [list(found or []) for found in out]
