"""The diversity figures (tune/diversity.py) on texts whose answer is known, embedded by MiniLM: where the
collapse bounds come from.

Each built-in persona's grounding passages stand in for the ideas it would write (cut by the library's
splitter, then to an idea's length). The cases:

- apart: each persona with its own passages (the figures a diverse night should beat);
- shuffled: the same passages with the persona labels shuffled (no persona signal left);
- shared K%: each persona's ideas with K% replaced by passages of one common pool (a drifting chorus);
- same: every persona writing the same passages (a full collapse).

Shuffled and same are repeated over seeds; the bounds must hold on every seed: apart and shared 25%
stay clear of them, shuffled and same fall under them.

usage (from the repository root): python -m bench.diversity [--seeds 20] [--chars 420]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from groundhog.library.store import split
from groundhog.researchers.personas import PersonaRegistry
from groundhog.tune.diversity import MIN_DISTINCT_SHARE, MIN_SIMILARITY_GAP, measure
from groundhog.tune.report import Diversity
from groundhog.tune.vectors import grounding_texts


def _row(name: str, d: Diversity) -> str:
    gap = (d.within_similarity or 0) - (d.across_similarity or 0)
    verdict = "COLLAPSED: " + "; ".join(d.reasons) if d.collapsed else "apart"
    return (
        f"{name:<14} ideas {d.ideas:>3}  distinct {d.distinct_share or 0:>5.2f}  "
        f"within {d.within_similarity or 0:.3f}  across {d.across_similarity or 0:.3f}  "
        f"gap {gap:+.3f} (random {d.random_gap or 0:+.3f})  "
        f"accuracy {d.centroid_accuracy or 0:.2f} (chance {d.chance or 0:.2f})  {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="repeats of the shuffled and shared cases")
    parser.add_argument("--chars", type=int, default=420, help="an idea's length (the embedded model's summary)")
    parser.add_argument("--scale", type=int, default=10_000, help="ideas of the timing run (10 per persona)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    big = [(f"p{n % (args.scale // 10)}", list(rng.normal(size=384))) for n in range(args.scale)]
    started = time.perf_counter()
    measure("session", big, 0.8)
    print(f"{args.scale} ideas of {args.scale // 10} personas: measured in {time.perf_counter() - started:.1f} s")
    os.environ.setdefault("GROUNDHOG_CACHE", tempfile.mkdtemp(prefix="groundhog-bench-"))
    from groundhog.memory.onnx_embedder import OnnxMiniLMEmbedder

    embedder = OnnxMiniLMEmbedder()
    personas = PersonaRegistry(tempfile.mkdtemp()).all()
    texts = {p.id: [t[: args.chars] for g in grounding_texts(p) for t in split(g)] for p in personas}
    vectors = {pid: [list(map(float, v)) for v in embedder.embed(ts)] for pid, ts in texts.items()}
    n = min(len(v) for v in vectors.values())
    print(f"{len(personas)} built-in personas, {n} passages each (of {sum(map(len, vectors.values()))}), MiniLM")
    print(
        f"bounds: distinct share < {MIN_DISTINCT_SHARE}; gap < max({MIN_SIMILARITY_GAP}, the 95th percentile of "
        "shuffled labels' gaps); accuracy within 2 binomial SE of chance"
    )
    apart = [(pid, v) for pid, vs in vectors.items() for v in vs[:n]]
    print(_row("apart", measure("session", apart, 0.8)))
    pool = [v for vs in vectors.values() for v in vs]
    flagged: dict[str, list[bool]] = {}
    gaps: dict[str, list[float]] = {}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        labels = rng.permutation([pid for pid, _ in apart])
        cases = {"shuffled": list(zip(labels, [v for _, v in apart], strict=True))}
        shared = [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]
        for share in (25, 50, 75):
            k = round(n * share / 100)
            cases[f"shared {share}%"] = [(pid, v) for pid, vs in vectors.items() for v in vs[: n - k] + shared[:k]]
        cases["same"] = [(pid, v) for pid in vectors for v in shared]
        for name, ideas in cases.items():
            d = measure("session", ideas, 0.8)
            gaps.setdefault(name, []).append((d.within_similarity or 0) - (d.across_similarity or 0))
            flagged.setdefault(name, []).append(d.collapsed)
            if seed == 0:
                print(_row(name, d))
    for name, values in gaps.items():
        print(
            f"over {args.seeds} seeds, {name:<11}: gap min {min(values):+.4f} max {max(values):+.4f}; "
            f"flagged collapsed {sum(flagged[name])}/{args.seeds}"
        )


if __name__ == "__main__":
    main()
