"""The home's library in Chroma: paper chunks in a collection of their own, beside the log, embedded by the
same embedder. Chunk ids derive from the paper id, so adding a paper again replaces it in place."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from groundhog.core.errors import StoreError
from groundhog.core.interfaces import Embedder
from groundhog.core.records import PriorArt
from groundhog.library.papers import Paper
from groundhog.memory.store import open_collection

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore

COLLECTION = "groundhog_library"
# About 130 word pieces: the length all-MiniLM-L6-v2 was trained on (it cuts at 256), and half the cost of
# embedding 1,200 characters (bench/library.py).
CHUNK_CHARS = 600
CHUNK_OVERLAP = 80
_BATCH = 256
_META = ("title", "year", "url", "authors", "doi", "arxiv", "source", "abstract")


def split(text: str) -> list[str]:
    """Chunks of about CHUNK_CHARS, split at paragraphs, then sentences, then words."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP, separators=["\n\n", "\n", ". ", " ", ""]
    )
    return [c for c in splitter.split_text(text) if c.strip()]


@dataclass(frozen=True)
class Passage:
    """A chunk of a paper, found by a search."""

    paper: Paper
    chunk: int
    text: str
    similarity: float


class Library:
    """Papers, chunked and embedded. The Chroma client and the embedder are passed in."""

    def __init__(self, client: Any, embedder: Embedder, *, bar: float | None = None) -> None:
        self.embedder = embedder
        self._bar = bar
        self._size: int | None = None
        self._col = open_collection(
            client, COLLECTION, embedder, what="the library", remedy="remove the papers and add them again"
        )

    @property
    def bar(self) -> float:
        """The similarity at which a passage is prior art worth the critic's judgement (per embedder)."""
        if self._bar is None:
            from groundhog.library.bars import prior_art_bar

            self._bar = prior_art_bar(self.embedder)
        return self._bar

    # -- writing ------------------------------------------------------------------------------------

    def add(self, papers: Sequence[Paper]) -> tuple[int, int]:
        """Upsert papers (the last of two with one id wins); returns (papers, chunks) written."""
        unique = list({p.id: p for p in papers}.values())
        rows: list[tuple[str, str, dict[str, Any]]] = []  # id, document (the text embedded), metadata
        kept: dict[str, int] = {}  # paper id -> its chunks now
        for paper in unique:
            chunks = split(paper.document()) or [paper.title]
            base = _metadata(paper)
            for n, chunk in enumerate(chunks):
                meta = {**base, "chunk": n, "chunks": len(chunks)}
                if n:
                    meta.pop("abstract", None)  # kept once, on the first chunk
                rows.append((f"{paper.id}#{n}", chunk, meta))
            kept[paper.id] = len(chunks)
        self._drop_tails(kept)
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            vectors = self.embedder.embed([r[1] for r in batch])
            try:
                self._col.upsert(
                    ids=[r[0] for r in batch],
                    embeddings=vectors,
                    documents=[r[1] for r in batch],
                    metadatas=[r[2] for r in batch],
                )
            except Exception as exc:
                raise StoreError(f"cannot write to the library: {exc}") from exc
            finally:
                self._size = None  # counted again when next asked
        return len(unique), len(rows)

    def _drop(self, pid: str, keep: int = 0) -> int:
        """Delete the chunks of `pid` from number `keep` on (a paper re-added shorter loses its tail)."""
        where = {"$and": [{"paper_id": pid}, {"chunk": {"$gte": keep}}]}
        found = self._col.get(where=where, include=[])["ids"]
        if found:
            self._col.delete(ids=found)
            self._size = None
        return len(found)

    def _drop_tails(self, kept: dict[str, int]) -> None:
        """Delete the chunks each paper had past its new count: one query per 500 papers."""
        ids = list(kept)
        for start in range(0, len(ids), 500):
            some = ids[start : start + 500]
            where = {"paper_id": {"$in": some}} if len(some) > 1 else {"paper_id": some[0]}
            got = self._col.get(where=where, include=["metadatas"])
            stale = [
                i for i, m in zip(got["ids"], got["metadatas"], strict=True) if int(m["chunk"]) >= kept[m["paper_id"]]
            ]
            if stale:
                self._col.delete(ids=stale)
                self._size = None

    def remove(self, pid: str) -> bool:
        return self._drop(pid) > 0

    # -- reading ------------------------------------------------------------------------------------

    def count(self) -> int:
        """Chunks in the library: counted once (Chroma counts every row each time), then kept up to date
        by this object's writes. Papers another process adds show from this process's next start."""
        if self._size is None:
            self._size = int(self._col.count())
        return self._size

    def papers(self) -> list[Paper]:
        got = self._col.get(where={"chunk": 0}, include=["metadatas"])
        out = [_paper(m) for m in got["metadatas"] or []]
        return sorted(out, key=lambda p: (p.title.lower(), p.id))

    def get(self, pid: str) -> tuple[Paper, list[str]] | None:
        """A paper and its chunks in order; None when it is not in the library."""
        got = self._col.get(where={"paper_id": pid}, include=["metadatas", "documents"])
        if not got["ids"]:
            return None
        rows = sorted(zip(got["metadatas"], got["documents"], strict=True), key=lambda r: int(r[0]["chunk"]))
        return _paper(rows[0][0]), [doc or "" for _, doc in rows]

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The best passage of each of the k papers nearest `query`."""
        if not query.strip() or self.count() == 0:
            return []
        return self.passages_many(self.embedder.embed([query]), k)[0]

    def passages_many(self, vectors: Sequence[Sequence[float]], k: int = 3) -> list[list[Passage]]:
        """For each vector, the best passage of each of the k nearest papers, best first."""
        size = self.count()
        if size == 0 or not vectors:
            return [[] for _ in vectors]
        try:
            found = self._col.query(
                query_embeddings=[list(v) for v in vectors],
                n_results=min(size, k * 4),
                include=["metadatas", "documents", "distances"],
            )
        except Exception as exc:
            raise StoreError(f"cannot search the library: {exc}") from exc
        out: list[list[Passage]] = []
        for metas, docs, dists in zip(found["metadatas"], found["documents"], found["distances"], strict=True):
            best: dict[str, Passage] = {}
            for meta, doc, dist in zip(metas, docs, dists, strict=True):
                pid = str(meta["paper_id"])
                if pid not in best:
                    best[pid] = Passage(_paper(meta), int(meta["chunk"]), doc or "", 1.0 - float(dist))
            out.append(sorted(best.values(), key=lambda p: -p.similarity)[:k])
        return out

    def nearest_many(self, vectors: Sequence[Sequence[float]], k: int = 3) -> list[list[PriorArt]]:
        """The prior-art check: each vector's nearest papers, marked `above` at the calibrated bar."""
        found = self.passages_many(vectors, k)
        bar = self.bar if any(found) else 1.0
        return [[prior_art(p, bar) for p in hits] for hits in found]


def prior_art(p: Passage, bar: float) -> PriorArt:
    return PriorArt(
        paper_id=p.paper.id,
        title=p.paper.title,
        year=p.paper.year,
        url=p.paper.link,
        similarity=round(p.similarity, 4),
        passage=" ".join(p.text.split())[:600],
        above=p.similarity >= bar,
    )


def _metadata(paper: Paper) -> dict[str, Any]:
    meta: dict[str, Any] = {"paper_id": paper.id, "authors": "; ".join(paper.authors)}
    for key in _META:
        value = getattr(paper, key) if key != "authors" else meta["authors"]
        if key == "url":
            value = paper.link
        if value not in (None, ""):
            meta[key] = value
    return meta


def _paper(meta: dict[str, Any]) -> Paper:
    authors = str(meta.get("authors") or "")
    return Paper(
        id=str(meta["paper_id"]),
        title=str(meta.get("title", "")) or str(meta["paper_id"]),
        authors=[a for a in authors.split("; ") if a],
        year=int(meta["year"]) if meta.get("year") is not None else None,
        abstract=str(meta.get("abstract", "")),
        url=str(meta.get("url", "")),
        doi=str(meta.get("doi", "")),
        arxiv=str(meta.get("arxiv", "")),
        source=str(meta.get("source", "")),
    )


_BESIDE: weakref.WeakKeyDictionary[Any, Library] = weakref.WeakKeyDictionary()


def library_beside(log: LogStore) -> Library:
    """The library in the same store as `log`, embedded by its embedder (one per log, opened once)."""
    lib = _BESIDE.get(log)
    if lib is None:
        lib = _BESIDE[log] = Library(log.client, log.embedder)
    return lib
