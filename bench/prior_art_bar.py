"""The prior-art bar of the bundled MiniLM, derived from library/data/calibration.toml (library/bars.py).

python -m bench.prior_art_bar
"""

from __future__ import annotations

from groundhog.library.bars import fit
from groundhog.memory.onnx_embedder import OnnxMiniLMEmbedder


def main() -> None:
    embedder = OnnxMiniLMEmbedder()  # the embedder the tool runs
    f = fit(embedder)
    p, n = sorted(f.paraphrase), sorted(f.unrelated)
    print(f"embedder {embedder.name}")
    print(f"restatements to their paper: min {p[0]:.3f} median {p[len(p) // 2]:.3f} max {p[-1]:.3f} (n={len(p)})")
    print(f"unrelated to nearest paper:  min {n[0]:.3f} median {n[len(n) // 2]:.3f} max {n[-1]:.3f} (n={len(n)})")
    print(f"bar {f.bar:.3f}, accuracy {f.accuracy:.2f}")


if __name__ == "__main__":
    main()
