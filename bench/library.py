"""The library's two speed targets: adding 2,000 chunks (under 60 s here), and the prior-art check per idea
at 100k chunks (under 20 ms).

Adding: 2,000 chunks of ~1,200 characters (Markdown posts written for the run), read, split, embedded by
the bundled MiniLM (onnxruntime) and upserted into a real Chroma PersistentClient in a temporary folder,
as `groundhog library add` does.

Checking: the library grown to 100k chunks (the starter papers, embedded by MiniLM, plus random unit
vectors of MiniLM's 384 dimensions written through the same `Library.add`, so growing it takes a minute
rather than hours of embedding), then `Library.nearest_many` for ideas whose vectors the critique stage
already has (it embeds each idea once for all its screens): one idea at a time, and a day of 10 at once.

    .venv/bin/python -m bench.library [--chunks 2000] [--scale 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from groundhog.library.bars import STARTER
from groundhog.library.papers import make_paper
from groundhog.library.sources import read_file, read_paths
from groundhog.library.store import CHUNK_CHARS, Library
from groundhog.memory.embeddings import MINILM_NAME
from groundhog.memory.onnx_embedder import OnnxMiniLMEmbedder
from groundhog.memory.store import open_persistent

WORDS = [
    *("reward", "model", "oversight", "debate", "probe", "circuit", "feature", "honesty", "deception"),
    *("monitor", "sandbox", "agent", "policy", "gradient", "evaluation", "benchmark", "transcript", "judge"),
    *("critic", "steering", "activation", "refusal", "jailbreak"),
]


class RandomVectors:
    """Unit vectors seeded by the text: fills the index at the scale of interest without a model."""

    name = MINILM_NAME  # the collection is MiniLM's: the bench queries it with MiniLM vectors

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for t in texts:
            rng = np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16))
            v = rng.standard_normal(384)
            out.append((v / np.linalg.norm(v)).tolist())
        return out


def posts(folder: Path, chunks: int) -> None:
    """Markdown posts of 10 chunks each, varied prose."""
    rng = np.random.default_rng(0)
    per_post = 10
    for n in range(chunks // per_post):
        paragraphs = []
        for _ in range(per_post):
            words: list[str] = []
            while len(" ".join(words)) < CHUNK_CHARS - 120:
                words += [*rng.choice(WORDS, 12), "."]
            paragraphs.append(" ".join(words))
        (folder / f"post{n:04d}.md").write_text(f"# Post {n}\n\n" + "\n\n".join(paragraphs), encoding="utf-8")


def bench_add(chunks: int) -> None:
    embedder = OnnxMiniLMEmbedder()
    embedder.embed(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "posts"
        folder.mkdir()
        posts(folder, chunks)
        lib = Library(open_persistent(Path(tmp) / "chroma"), embedder)
        start = time.perf_counter()
        papers = read_paths([folder]).papers
        added, written = lib.add(papers)
        took = time.perf_counter() - start
    print(f"add: {added} posts, {written} chunks in {took:.1f} s ({written / took:.0f} chunks/s); target < 60 s")


def bench_check(scale: int, queries: int) -> None:
    embedder = OnnxMiniLMEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        client = open_persistent(Path(tmp) / "chroma")
        Library(client, embedder).add(read_file(STARTER).papers)
        filler = Library(client, RandomVectors())
        start = time.perf_counter()
        batch = 5000
        for first in range(0, scale, batch):
            filler.add(
                [make_paper(title=f"filler {n}", abstract=f"filler passage {n}") for n in range(first, first + batch)]
            )
        grown = time.perf_counter() - start
        lib = Library(client, embedder)
        print(f"check: library grown to {lib.count()} chunks in {grown:.0f} s")
        ideas = [f"An idea about {' '.join(np.random.default_rng(n).choice(WORDS, 8))}" for n in range(queries)]
        vectors = embedder.embed(ideas)
        lib.nearest_many(vectors[:5])  # warm
        single = []
        for v in vectors:
            t = time.perf_counter()
            lib.nearest_many([v])
            single.append((time.perf_counter() - t) * 1000)
        days = []
        for first in range(0, len(vectors), 10):
            t = time.perf_counter()
            lib.nearest_many(vectors[first : first + 10])
            days.append((time.perf_counter() - t) * 1000 / len(vectors[first : first + 10]))
        p95 = sorted(single)[int(0.95 * len(single)) - 1]
        print(
            f"check at {lib.count()} chunks: one idea per query median {statistics.median(single):.2f} ms "
            f"(p95 {p95:.2f} ms); a day of 10 per query {statistics.median(days):.2f} ms per idea; target < 20 ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if args.chunks:
        bench_add(args.chunks)
    if args.scale:
        bench_check(args.scale, args.queries)


if __name__ == "__main__":
    main()
