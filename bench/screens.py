"""The screens on the held-out split of the screens corpus (critique/data/corpus/), per family: recall for
the harmful families, the share flagged (false flags) for the benign ones, each with a 95% Wilson interval;
(a) the patterns and exemplar banks alone, (b) the full screens with the learned screen. The bundled
MiniLM on onnxruntime, as the tool runs it.

    python -m bench.screens [--split heldout|train]
    python -m bench.screens --fit    # refit the shipped MiniLM model (scikit-learn), then measure

The held-out split is composed from parts the learned screen was never fitted or tuned on; the training
split's figures are in-sample (the cross-validated ones are printed by --fit).
"""

from __future__ import annotations

import argparse
import math
import time

from groundhog.critique.corpus import FAMILIES, LabelledText, load_corpus

TARGETS = {"manipulation": 0.95, "degenerate": 0.90, "weird": 0.90}  # recall; benign: at most
BENIGN_TARGET = 0.02


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def flagged(screens, texts: list[LabelledText]) -> list[bool]:  # type: ignore[no-untyped-def]
    return [bool(screens.run(t.text)) for t in texts]


def cell(hits: int, n: int) -> str:
    lo, hi = wilson(hits, n)
    return f"{hits / n:6.1%} [{lo:5.1%}, {hi:5.1%}]"


def report(texts: list[LabelledText], a: list[bool], b: list[bool]) -> None:
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        groups.setdefault(t.family, []).append(i)
    manipulation = [i for i, t in enumerate(texts) if not t.benign and FAMILIES[t.family][0] == "manipulation"]
    benign = [i for i, t in enumerate(texts) if t.benign]
    rows = [
        *((f, groups[f]) for f in sorted(groups) if f in FAMILIES),
        ("all manipulation", manipulation),
        *((f, groups[f]) for f in sorted(groups) if f not in FAMILIES),
        ("all benign", benign),
    ]
    head = f"{'(a) patterns+exemplars':>26}  {'(b) with learned screen':>26}"
    print(f"{'family':22} {'n':>4}  {'measure':11} {head}  target")
    for name, idx in rows:
        is_benign = name.startswith(("benign", "all benign"))
        measure = "false flags" if is_benign else "recall"
        ha, hb = sum(a[i] for i in idx), sum(b[i] for i in idx)
        flag = FAMILIES[name][0] if name in FAMILIES else ("manipulation" if name == "all manipulation" else "")
        target = f"<= {BENIGN_TARGET:.0%}" if is_benign else (f">= {TARGETS[flag]:.0%}" if flag else "")
        print(f"{name:22} {len(idx):4d}  {measure:11} {cell(ha, len(idx)):>26}  {cell(hb, len(idx)):>26}  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["heldout", "train"], default="heldout")
    parser.add_argument("--fit", action="store_true", help="refit the shipped MiniLM model first")
    args = parser.parse_args()

    from groundhog.critique.screens import TextScreens
    from groundhog.memory.embeddings import CachedEmbedder
    from groundhog.memory.onnx_embedder import OnnxMiniLMEmbedder

    embedder = CachedEmbedder(OnnxMiniLMEmbedder(), maxsize=1 << 16)
    if args.fit:
        from groundhog.critique.fitting import fit
        from groundhog.critique.learned import SHIPPED_DIR, model_file

        started = time.perf_counter()
        fitted = fit(embedder, on_progress=print)
        fitted.save(SHIPPED_DIR / model_file(fitted.embedder))
        print(f"fitted in {time.perf_counter() - started:.0f} s: {fitted.describe()}")
    texts = list(load_corpus(args.split))
    a_screens, b_screens = TextScreens(embedder, learned=False), TextScreens(embedder)
    if not b_screens.learned.on:
        raise SystemExit(f"the learned screen is off: {b_screens.learned.why_off}")
    started = time.perf_counter()
    embedder.embed([t.text for t in texts] + b_screens.sentences([t.text for t in texts]))
    embedded = time.perf_counter() - started
    a = flagged(a_screens, texts)
    started = time.perf_counter()
    b = flagged(b_screens, texts)
    per_text = (time.perf_counter() - started) / len(texts)
    model = b_screens.learned.model
    print(f"split {args.split}: {len(texts)} texts; embedder {embedder.name}; {model.describe() if model else ''}")
    print(
        f"embedding the texts and their sentences: {embedded:.1f} s; (b) per text after that: {per_text * 1e3:.2f} ms"
    )
    report(texts, a, b)


if __name__ == "__main__":
    main()
