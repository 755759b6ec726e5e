"""Time per duplicate check as the log grows to 1k, 10k and 100k ideas.

The duplicate screen finds the nearest earlier ideas with `LogStore.nearest_ideas`: an
unfiltered nearest-neighbour query on the log's HNSW index (`LogStore.nearest`), keeping the ideas
among the hits. The table also times `LogStore.nearest(kind="idea")`, the same query with Chroma's
metadata filter, which Chroma answers by first listing every matching entry: that one grows linearly,
which is why the screen does not use it. It times `LogStore.count()` too: `LogStore.nearest` calls it
before every query, and Chroma counts with a SQLite COUNT(*), which also grows linearly.

The log is a real Chroma PersistentClient in a temporary folder. Ideas are random unit vectors
(384 dimensions, like all-MiniLM-L6-v2) written straight into the collection in large batches, so
growing the log takes seconds rather than hours of embedding. By default each idea comes with one
critique entry, as in a real log, so there are entries that are not ideas to skip. For reference,
the table also times a full scan (one numpy matrix-vector product over every idea vector): what a
check costs when it compares against all earlier ideas.

    .venv/bin/python -m bench.dedup [--sizes 1000,10000,100000] [--queries 200] [--others-per-idea 1]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from groundhog.core.records import LogEntry
from groundhog.critique.stage import nearest_ideas
from groundhog.memory.rows import to_metadata
from groundhog.memory.store import COLLECTION, LogStore, open_chroma

DIM = 384
WARMUP = 10


class NoEmbedder:
    """The store needs an embedder's name; vectors are made here, so nothing is ever embedded."""

    name = "bench-random-384"

    def embed(self, texts: Any) -> list[list[float]]:
        raise RuntimeError("the benchmark adds vectors directly")


@dataclass
class Row:
    ideas: int
    entries: int
    grow_s: float
    median_ms: float
    p95_ms: float
    filtered_median_ms: float
    count_median_ms: float
    scan_median_ms: float


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def metadata(kind: str, n: int, now: datetime) -> dict[str, Any]:
    """The metadata the log writes for a real entry, so queries filter exactly as in a session."""
    entry = LogEntry(
        id=f"{kind}-{n}",
        persona=("doomimir", "simplicia", "interp-empiricist")[n % 3],
        session=f"s{n // 1000}",
        day=n % 7 + 1,
        kind=kind,  # type: ignore[arg-type]
        text="",
        created_at=now,
        meta={"title": f"{kind} {n}", "verdict": "fail" if n % 3 else "pass"},
    )
    return to_metadata(entry)


def grow(
    col: Any,
    rng: np.random.Generator,
    start: int,
    stop: int,
    others: int,
    batch: int,
    store: list[np.ndarray],
) -> None:
    """Add ideas start..stop-1 (and `others` critique entries per idea), in batches."""
    now = datetime.now(UTC)
    for lo in range(start, stop, batch):
        hi = min(stop, lo + batch)
        ideas = unit_vectors(rng, hi - lo, DIM)
        store.append(ideas)
        ids = [f"idea-{n}" for n in range(lo, hi)]
        metas = [metadata("idea", n, now) for n in range(lo, hi)]
        vectors = [ideas]
        for k in range(others):
            ids += [f"critique-{k}-{n}" for n in range(lo, hi)]
            metas += [metadata("critique", n, now) for n in range(lo, hi)]
            vectors.append(unit_vectors(rng, hi - lo, DIM))
        emb = np.concatenate(vectors)
        for s in range(0, len(ids), batch):
            col.add(
                ids=ids[s : s + batch],
                embeddings=emb[s : s + batch],
                documents=[""] * len(ids[s : s + batch]),
                metadatas=metas[s : s + batch],
            )


def check(log: LogStore, vector: list[float]) -> None:
    """One duplicate check, as the screen makes it."""
    assert len(nearest_ideas(log, vector, 3)) == 3


def filtered(log: LogStore, vector: list[float]) -> None:
    hits = log.nearest(vector, k=3, kind="idea")
    assert len(hits) == 3 and all(e.kind == "idea" for e, _ in hits)


def count(log: LogStore, vector: list[float]) -> None:
    log.count()


def time_queries(log: LogStore, queries: np.ndarray, query: Any) -> list[float]:
    for q in queries[:WARMUP]:
        query(log, q.tolist())
    out = []
    for q in queries:
        vector = q.tolist()
        t = time.perf_counter()
        query(log, vector)
        out.append((time.perf_counter() - t) * 1000)
    return out


def time_scan(matrix: np.ndarray, queries: np.ndarray) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        sims = matrix @ q
        int(np.argmax(sims))
        out.append((time.perf_counter() - t) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def run(sizes: list[int], queries: int, others: int, batch: int, seed: int, folder: Path) -> list[Row]:
    rng = np.random.default_rng(seed)
    client = open_chroma(folder)
    log = LogStore(client, NoEmbedder())
    col = client.get_collection(COLLECTION)
    batch = min(batch, int(client.get_max_batch_size()))
    stored: list[np.ndarray] = []
    rows: list[Row] = []
    have = 0
    for size in sizes:
        t = time.perf_counter()
        grow(col, rng, have, size, others, batch, stored)
        grow_s = time.perf_counter() - t
        have = size
        q = unit_vectors(rng, queries, DIM)
        ms = time_queries(log, q, check)
        slow = time_queries(log, q[: max(20, queries // 4)], filtered)
        counts = time_queries(log, q[: max(20, queries // 4)], count)
        scan = time_scan(np.concatenate(stored), q)
        rows.append(
            Row(
                size,
                log.count(),
                grow_s,
                statistics.median(ms),
                p95(ms),
                statistics.median(slow),
                statistics.median(counts),
                statistics.median(scan),
            )
        )
        print(f"  {size:>7} ideas: median {rows[-1].median_ms:.2f} ms", file=sys.stderr, flush=True)
    return rows


def render(rows: list[Row], queries: int) -> str:
    head = (
        f"{'ideas':>8} {'entries':>8} {'grow s':>7} {'check ms':>9} {'p95 ms':>7} {'x ideas':>8} "
        f"{'x check':>8} {'filtered ms':>12} {'count ms':>9} {'scan ms':>8}"
    )
    lines = [f"duplicate check: nearest_ideas(k=3), {queries} timed queries per size (median, p95)", head]
    base = rows[0]
    for r in rows:
        lines.append(
            f"{r.ideas:>8} {r.entries:>8} {r.grow_s:>7.1f} {r.median_ms:>9.2f} {r.p95_ms:>7.2f} "
            f"{r.ideas / base.ideas:>8.0f} {r.median_ms / base.median_ms:>8.2f} "
            f"{r.filtered_median_ms:>12.2f} {r.count_median_ms:>9.2f} {r.scan_median_ms:>8.2f}"
        )
    if len(rows) > 1:
        size_x = rows[-1].ideas / base.ideas
        time_x = rows[-1].median_ms / base.median_ms
        slow_x = rows[-1].filtered_median_ms / base.filtered_median_ms
        lines.append(
            f"{size_x:.0f}x the ideas: a check costs {time_x:.2f}x (~n^{_exponent(size_x, time_x):.2f}); "
            f"the filtered query {slow_x:.2f}x (~n^{_exponent(size_x, slow_x):.2f}); linear is n^1.00"
        )
    lines.append("filtered ms: LogStore.nearest(k=3, kind='idea'), Chroma's metadata filter (not used)")
    lines.append(
        "count ms: LogStore.count(), which LogStore.nearest calls before every query (part of a check)"
    )
    lines.append("scan ms: a numpy full scan over every idea vector, for reference")
    return "\n".join(lines)


def _exponent(size_x: float, time_x: float) -> float:
    return math.log(time_x) / math.log(size_x) if time_x > 0 and size_x > 1 else 0.0


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from exc
    if not sizes or sizes[0] < 10:
        raise argparse.ArgumentTypeError("sizes must be integers of at least 10")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[1000, 10000, 100000], help="log sizes in ideas")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per size")
    parser.add_argument("--others-per-idea", type=int, default=1, help="non-idea entries per idea")
    parser.add_argument("--batch", type=int, default=5000, help="entries per write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="groundhog-dedup-") as tmp:
        rows = run(args.sizes, args.queries, args.others_per_idea, args.batch, args.seed, Path(tmp))
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(render(rows, args.queries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
