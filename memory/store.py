"""The written log in Chroma: every notebook entry, idea, critique, reviewer note and corpus chunk.

Entries are upserted by deterministic id (adding twice is harmless), embedded by an injected embedder
(Chroma's own embedding function is never used: it would try to download a model), and retrieved by a
memory-stream score that combines relevance, recency and importance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from groundhog.core.errors import StoreError
from groundhog.core.interfaces import Embedder
from groundhog.core.records import LogEntry, MetaValue, ScoredEntry
from groundhog.core.settings import RetrievalSettings
from groundhog.memory.neighbours import Neighbours
from groundhog.memory.rows import from_chroma, meta_field, to_metadata, where_of

COLLECTION = "groundhog_log"
_BATCH = 256


def chroma_settings() -> Any:
    """The settings of every Chroma client here: no telemetry, no reset."""
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def open_chroma(home: Path, chroma_url: str | None = None) -> Any:
    """A Chroma client: PersistentClient under the home, or HttpClient when a server URL is set."""
    if chroma_url:  # a server: checked by its heartbeat first (BadInput naming chroma_url, exit 2)
        from groundhog.memory.chroma_server import http_client

        return http_client(chroma_url, chroma_settings())
    return open_persistent(home / "chroma")


def open_persistent(path: Path) -> Any:
    """The embedded store at `path`; a StoreError that leaves it as it is when it cannot be opened."""
    import chromadb

    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings())
    except Exception as exc:
        raise StoreError(
            f"the vector store at {path} cannot be opened ({type(exc).__name__}: {exc}); "
            "it is left as it is: move it aside to start a new one"
        ) from exc


def open_collection(client: Any, name: str, embedder: Embedder, *, what: str, remedy: str) -> Any:
    """A cosine collection of the store, created on first use; refused if another embedder filled it."""
    try:
        col = client.get_or_create_collection(
            name=name, embedding_function=None, metadata={"hnsw:space": "cosine", "embedder": embedder.name}
        )
    except Exception as exc:
        raise StoreError(f"the vector store cannot open collection {name}: {exc}") from exc
    stored = (col.metadata or {}).get("embedder")
    if stored and stored != embedder.name:
        raise StoreError(
            f"{what} was embedded with {stored}, not {embedder.name}: use the same embedding settings, or {remedy}"
        )
    return col


class LogStore(Neighbours):
    """The written log. The embedder and the Chroma client are passed in."""

    def __init__(self, client: Any, embedder: Embedder, *, collection: str = COLLECTION) -> None:
        self.embedder = embedder
        self.client = client  # the library (library/store.py) keeps its collection in the same store
        self._col = open_collection(client, collection, embedder, what="the log", remedy="a new --home")
        # A persona's grounding (its corpus nearest its agenda) is asked for every morning with the same
        # query: answered from here until corpus entries are written or anything is deleted through this
        # store. (Corpus another process adds shows from this process's next start.)
        self._corpus_hits: dict[tuple[Any, ...], list[tuple[LogEntry, float]]] = {}
        self._filtered_next = 0  # see nearest_ideas_many
        self._size: int | None = None  # entries, once counted: this store's writes keep it up to date
        self._neighbour_state()

    # -- writing --------------------------------------------------------------------------------

    def add(self, entries: Iterable[LogEntry]) -> None:
        """Upsert entries by id: writing the same entry twice leaves one copy."""
        batch = list({e.id: e for e in entries}.values())
        if self._size is not None:
            self._size += len(batch)  # an upsert of an id already there overcounts: it only steers queries
        if any(e.kind == "corpus" for e in batch):
            self._corpus_hits.clear()
        for start in range(0, len(batch), _BATCH):
            chunk = batch[start : start + _BATCH]
            vectors = self.embedder.embed([e.text for e in chunk])
            try:
                self._col.upsert(
                    ids=[e.id for e in chunk],
                    embeddings=vectors,
                    documents=[e.text for e in chunk],
                    metadatas=[to_metadata(e) for e in chunk],
                )
            except Exception as exc:
                raise StoreError(f"cannot write to the vector store: {exc}") from exc

    def delete_ids(self, ids: Sequence[str]) -> None:
        """Remove entries by id (an undone decision's feedback)."""
        if not ids:
            return
        self._corpus_hits.clear()
        try:
            self._col.delete(ids=list(ids))
        except Exception as exc:
            raise StoreError(f"cannot delete from the vector store: {exc}") from exc

    def delete(self, *, session: str, persona: str, day: int) -> None:
        """Remove what a half-finished day wrote, before the day is redone."""
        where = where_of(session=session, persona=persona, day=day)
        self._corpus_hits.clear()
        self._col.delete(where=where)

    # -- reading --------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._col.count())

    def get(self, entry_id: str) -> LogEntry | None:
        found = self.get_many([entry_id])
        return found[0] if found else None

    def get_many(self, ids: Sequence[str]) -> list[LogEntry]:
        if not ids:
            return []
        res = self._col.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            i: from_chroma(i, d, m) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def entries(
        self,
        *,
        persona: str | Sequence[str] | None = None,
        kind: str | Sequence[str] | None = None,
        session: str | None = None,
        day: int | None = None,
        meta: Mapping[str, MetaValue] | None = None,
    ) -> list[LogEntry]:
        """All entries matching the filters (`meta`: values of their own meta keys), oldest first."""
        own = {meta_field(key): value for key, value in (meta or {}).items()}
        res = self._col.get(
            where=where_of(persona=persona, kind=kind, session=session, day=day, **own),
            include=["documents", "metadatas"],
        )
        found = [from_chroma(i, d, m) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"], strict=True)]
        return sorted(found, key=lambda e: (e.created_at, e.id))

    def with_vectors(
        self,
        *,
        ids: Sequence[str] | None = None,
        persona: str | Sequence[str] | None = None,
        kind: str | Sequence[str] | None = None,
        session: str | None = None,
    ) -> list[tuple[LogEntry, list[float]]]:
        """Entries with the vectors stored beside them (nothing is embedded again), oldest first: those
        named by `ids` (of them, the ones that match the filters), else all that match the filters."""
        where = where_of(persona=persona, kind=kind, session=session)
        include = ["documents", "metadatas", "embeddings"]
        try:
            if ids is not None:
                res = self._col.get(ids=list(dict.fromkeys(ids)), include=include) if ids else {"ids": []}
            else:
                res = self._col.get(where=where, include=include)
        except Exception as exc:
            raise StoreError(f"cannot read the vector store: {exc}") from exc
        if not res["ids"]:
            return []
        rows = zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"], strict=True)
        found = [(from_chroma(i, d, m), [float(x) for x in v]) for i, d, m, v in rows]
        found = [
            (e, v) for e, v in found if ids is None or (_matches(e, persona, kind) and session in (None, e.session))
        ]
        return sorted(found, key=lambda p: (p[0].created_at, p[0].id))

    def recent(
        self, persona: str | None, *, kind: str | Sequence[str] | None = None, limit: int = 10
    ) -> list[LogEntry]:
        """The persona's newest entries, newest first."""
        return list(reversed(self.entries(persona=persona, kind=kind)))[:limit]

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        persona: str | Sequence[str] | None = None,
        kind: str | Sequence[str] | None = None,
        session: str | None = None,
    ) -> list[tuple[LogEntry, float]]:
        """Entries nearest in meaning to `query`, with cosine similarity, best first."""
        key = (query, k, persona if isinstance(persona, str | None) else tuple(persona), session)
        if kind == "corpus" and key in self._corpus_hits:
            return list(self._corpus_hits[key])
        found = self.nearest(self.embedder.embed([query])[0], k=k, persona=persona, kind=kind, session=session)
        if kind == "corpus":
            self._keep_corpus_hits(key, found)
        return list(found)

    def _query(
        self, vectors: Sequence[Sequence[float]], k: int, where: dict[str, Any] | None, include: list[str]
    ) -> dict[str, Any]:
        try:  # no count() first: Chroma counts with a full scan, and answers an empty index with [[]]
            return self._col.query(  # type: ignore[no-any-return]
                query_embeddings=[list(v) for v in vectors],
                n_results=k,
                where=where,
                include=include,  # type: ignore[arg-type]
            )
        except Exception as exc:
            raise StoreError(f"vector store query failed: {exc}") from exc

    def nearest(
        self,
        vector: Sequence[float],
        *,
        k: int = 1,
        persona: str | Sequence[str] | None = None,
        kind: str | Sequence[str] | None = None,
        session: str | None = None,
        texts: bool = True,
    ) -> list[tuple[LogEntry, float]]:
        """Nearest-neighbour query on the HNSW index: no scan over all entries. `texts=False` leaves the
        entries' text empty (metadata only): much less to fetch when only ids and scores matter."""
        include = ["documents", "metadatas", "distances"] if texts else ["metadatas", "distances"]
        res = self._query([vector], k, where_of(persona=persona, kind=kind, session=session), include)
        documents = res["documents"][0] if texts and res.get("documents") else [None] * len(res["ids"][0])
        out = []
        for i, d, m, dist in zip(res["ids"][0], documents, res["metadatas"][0], res["distances"][0], strict=True):
            out.append((from_chroma(i, d, m), 1.0 - float(dist)))
        return out

    def _newest(
        self,
        persona: str | Sequence[str] | None,
        kind: str | Sequence[str] | None,
        n: int,
        ids: Sequence[str] | None,
    ) -> list[tuple[LogEntry, list[float]]]:
        """The n newest entries matching the filters, with their vectors: fetched by id when the ids of
        the newest are known, else found by listing."""
        if ids is None:
            wanted = [e.id for e in self.entries(persona=persona, kind=kind)[-n:]]
        else:
            wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        res = self._col.get(ids=wanted, include=["documents", "metadatas", "embeddings"])
        found = [
            (from_chroma(i, d, m), [float(x) for x in v])
            for i, d, m, v in zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"], strict=True)
        ]
        found = [(e, v) for e, v in found if _matches(e, persona, kind)]
        found.sort(key=lambda p: (p[0].created_at, p[0].id))
        return found[-n:]

    def retrieve(
        self,
        query: str,
        *,
        persona: str | Sequence[str] | None,
        kind: str | Sequence[str] | None = None,
        weights: RetrievalSettings | None = None,
        k: int = 10,
        exclude_ids: Iterable[str] = (),
        recent_ids: Sequence[str] | None = None,
        near: list[tuple[LogEntry, float]] | None = None,
    ) -> list[ScoredEntry]:
        """Memory-stream retrieval: relevance, recency and importance, each scaled to 0..1, weighted.

        The pool is the `candidates` nearest entries plus the `candidates` newest. `recent_ids` names
        the newest (from the day rows, see `store.recent`), so they are fetched by id; without it the
        persona's entries are listed to find them, which grows with the log. `near`: the nearest, when
        the caller has searched already (`search_together`)."""
        w = weights or RetrievalSettings()
        skip = set(exclude_ids)
        if near is None:
            near = self.search(query, k=w.candidates, persona=persona, kind=kind)
        pool: dict[str, tuple[LogEntry, float]] = {e.id: (e, sim) for e, sim in near if e.id not in skip}
        qv = self.embedder.embed([query])[0]
        for e, vector in self._newest(persona, kind, w.candidates, recent_ids):
            if e.id not in pool and e.id not in skip:
                pool[e.id] = (e, float(sum(a * b for a, b in zip(qv, vector, strict=False))))
        if not pool:
            return []
        ordered = sorted(pool.values(), key=lambda p: (p[0].created_at, p[0].id), reverse=True)
        recency = {e.id: w.recency_decay**rank for rank, (e, _) in enumerate(ordered)}
        rel = _minmax({eid: sim for eid, (_, sim) in pool.items()})
        imp = {eid: e.importance for eid, (e, _) in pool.items()}
        scored = [
            ScoredEntry(
                entry=e,
                relevance=rel[e.id],
                recency=recency[e.id],
                importance=imp[e.id],
                score=w.relevance_weight * rel[e.id]
                + w.recency_weight * recency[e.id]
                + w.importance_weight * imp[e.id],
            )
            for e, _ in pool.values()
        ]
        scored.sort(key=lambda s: (-s.score, s.entry.id))
        return scored[:k]


def _matches(e: LogEntry, persona: str | Sequence[str] | None, kind: str | Sequence[str] | None) -> bool:
    def ok(value: str, wanted: str | Sequence[str] | None) -> bool:
        return wanted is None or (value == wanted if isinstance(wanted, str) else value in wanted)

    return ok(e.persona, persona) and ok(e.kind, kind)


def _minmax(values: dict[str, float]) -> dict[str, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    if math.isclose(lo, hi):
        return dict.fromkeys(values, 1.0)
    return {k: (v - lo) / (hi - lo) for k, v in values.items()}


def novelty(similarity: float | None) -> float:
    """1 - cosine to the nearest earlier idea, in 0..1; an idea with nothing before it is wholly new."""
    return 1.0 if similarity is None else max(0.0, min(1.0, 1.0 - similarity))
