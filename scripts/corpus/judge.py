"""Judge a change to the screens corpus, or to the fitter's settings, on the training split's
cross-validation over render seeds, by the rule in scripts/corpus/README.md.

    python scripts/corpus/judge.py --with scripts/corpus/unused.d/96-benign.toml --seeds 1729 1730 1731
    python scripts/corpus/judge.py --C 3 --seeds 1729

For each seed, the training split as built (train.toml and train.d/) and the variant (the same parts and
the --with files, fitted with the settings given) are both rendered at that seed (`build.py --seed`) and
cross-validated as the fitter does (`critique.fitting.out_of_fold`: a model that saw neither a text's part
nor its carriers scores it). Both are measured on the texts of the parts as built, at the bar that flags
2% of those parts' benign texts (carrier sentences left out), so a round is judged on what it does to
texts that were there before it; and by the share of those benign texts the fitter's own bar would flag.
The held-out split is never read. Needs the `train` extra; about 5 minutes a cross-validation on 2 cores,
and a few more to embed a seed's new units with the bundled MiniLM.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from groundhog.critique.corpus import FAMILIES as CORPUS_FAMILIES

HERE = Path(__file__).resolve().parent
FAMILIES = tuple(sorted(f for f in CORPUS_FAMILIES if f != "degenerate"))  # degenerate text has its own screen
LOOK_ALIKE_FLAGS = 0.02  # the bar recall is read at flags this share of the earlier benign texts
MIN_GAIN = 0.5  # mean recall points the variant must gain, averaged over the seeds
MAX_LOSS = 1.5  # recall points any one family may lose
MAX_FLAGGED = 0.025  # of the earlier benign texts, at the fitter's own bar
CARRIER_SENTENCE = "carrier:"  # the group of a carrier's sentence used as a benign core


@dataclass(frozen=True)
class Figures:
    recall: dict[str, float]  # per harmful family, in points
    flagged: float  # share of the earlier benign texts the fitter's bar flags

    @property
    def mean(self) -> float:
        return float(np.mean([self.recall[f] for f in FAMILIES]))


def figures(texts: Sequence, scores: np.ndarray, built: set[str]) -> Figures:  # type: ignore[type-arg]
    """Recall of the texts whose part is in `built` (the groups of the split as built), at the bar that flags
    `LOOK_ALIKE_FLAGS` of their benign texts; and the share of those the fitter's bar flags."""
    from groundhog.critique.fitting import fitter_bar

    scores = np.asarray(scores, dtype=float)
    earlier = np.array([t.group in built and not t.group.startswith(CARRIER_SENTENCE) for t in texts])
    benign = np.array([t.benign for t in texts])
    look_alike = earlier & benign
    if not look_alike.any():
        raise ValueError("no benign texts of the parts as built to set the bar on")
    bar = float(np.quantile(scores[look_alike], 1.0 - LOOK_ALIKE_FLAGS))
    family = np.array([t.family for t in texts])
    recall = {}
    for name in FAMILIES:
        pick = earlier & (family == name)
        recall[name] = 100.0 * float((scores[pick] >= bar).mean()) if pick.any() else float("nan")
    flagged = float((scores[look_alike] >= fitter_bar(scores, benign)).mean())
    return Figures(recall, flagged)


def average(runs: Sequence[Figures]) -> Figures:
    return Figures(
        {f: float(np.mean([r.recall[f] for r in runs])) for f in FAMILIES},
        float(np.mean([r.flagged for r in runs])),
    )


def verdict(built: Figures, variant: Figures) -> tuple[bool, str]:
    """The rule: a mean gain of at least `MIN_GAIN`, no family more than `MAX_LOSS` lower, and at most
    `MAX_FLAGGED` of the earlier benign texts flagged at the fitter's bar."""
    why = []
    gain = variant.mean - built.mean
    if gain < MIN_GAIN:
        why.append(f"mean {gain:+.1f} (at least +{MIN_GAIN} needed)")
    why += [
        f"{f} {variant.recall[f] - built.recall[f]:+.1f}"
        for f in FAMILIES
        if variant.recall[f] < built.recall[f] - MAX_LOSS
    ]
    if variant.flagged > MAX_FLAGGED:
        why.append(f"{variant.flagged:.1%} flagged at the fitter's bar (at most {MAX_FLAGGED:.1%})")
    if why:
        return False, "not built: " + ", ".join(why)
    return True, f"build it: mean {gain:+.1f}, no family more than {MAX_LOSS} lower, {variant.flagged:.1%} flagged"


def row(name: str, f: Figures) -> str:
    cells = " | ".join(f"{f.recall[x]:.1f}" for x in FAMILIES)
    return f"| {name} | {cells} | {f.mean:.1f} | {f.flagged:.1%} |"


def header() -> str:
    return "\n".join(
        [
            f"| training split | {' | '.join(FAMILIES)} | mean | flagged at the fitter's bar |",
            "|---" * (len(FAMILIES) + 3) + "|",
        ]
    )


def _progress(line: str) -> None:
    """Every fifth cross-validation cell and every tenth embedding batch, not each."""
    words = line.split()
    if line.startswith("cross-validation cell") and int(words[2]) % 5:
        return
    if line.startswith("embedded") and int(words[1]) % 2560 and words[1] != words[3]:
        return
    print("   ", line, file=sys.stderr, flush=True)


def judge(seeds: Sequence[int], more: Sequence[Path], settings, folds: int | None = None, embedder=None) -> bool:  # type: ignore[no-untyped-def]
    """Both splits at every seed, cross-validated; the table and the verdict printed; True to build."""
    from groundhog.critique.corpus import read_split
    from groundhog.critique.fitting import FOLDS, Settings, cells, out_of_fold, prepare

    build = build_module()
    if embedder is None:
        from groundhog.memory.embeddings import CachedEmbedder
        from groundhog.memory.onnx_embedder import OnnxMiniLMEmbedder

        embedder = CachedEmbedder(OnnxMiniLMEmbedder(), maxsize=1 << 18)  # units shared across seeds embed once
    name = " + ".join([*(p.name for p in more), *describe(settings)])
    as_built, variant = [], []
    print(header())
    with tempfile.TemporaryDirectory(prefix="groundhog-judge-") as tmp:
        for seed in seeds:
            splits = {}  # label: the split prepared, and its grid of cells
            for label, files in (("as built", ()), (name, tuple(more))):
                if label != "as built" and not files:
                    splits[label] = splits["as built"]  # only a setting changes: the same split
                    continue
                out = Path(tmp) / f"{len(splits)}-{seed}"
                print(f"seed {seed}, {label}: building", file=sys.stderr, flush=True)
                build.main(out, seed, files, quiet=True)
                data = prepare(read_split(out / "train.jsonl", "train"), embedder, _progress)
                splits[label] = data, cells(data.texts, folds or FOLDS)
            built_groups = {t.group for t in splits["as built"][0].texts}
            for label, settings_of, runs in (("as built", Settings(), as_built), (name, settings, variant)):
                print(f"seed {seed}, {label}: cross-validating", file=sys.stderr, flush=True)
                data, grid = splits[label]
                scores = out_of_fold(data, grid, settings=settings_of, on_progress=_progress)
                runs.append(figures(data.texts, scores, built_groups))
                print(row(f"{label}, seed {seed}", runs[-1]), flush=True)
    if len(seeds) > 1:
        print(row(f"as built, over {len(seeds)} seeds", average(as_built)))
        print(row(f"{name}, over {len(seeds)} seeds", average(variant)))
    ok, line = verdict(average(as_built), average(variant))
    print(line)
    return ok


@cache
def build_module() -> ModuleType:
    """scripts/corpus/build.py, loaded by its path (a `build` package may be installed)."""
    spec = importlib.util.spec_from_file_location("groundhog_corpus_build", HERE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def describe(settings) -> list[str]:  # type: ignore[no-untyped-def]
    from groundhog.critique.fitting import Settings

    default = Settings()
    out = []
    if settings.c != default.c:
        out.append(f"C = {settings.c:g}")
    if settings.benign_weight != default.benign_weight:
        out.append(f"benign weight {settings.benign_weight:g}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from groundhog.critique.fitting import Settings

    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Exit status 0: build it; 1: not.")
    cli.add_argument("--with", dest="more", type=Path, nargs="*", default=[], metavar="FILE", help="parts files to add")
    cli.add_argument("--seeds", type=int, nargs="+", default=[1729, 1730, 1731], help="render seeds (default three)")
    cli.add_argument("--C", dest="c", type=float, default=Settings().c, help="the variant's inverse regularisation")
    cli.add_argument(
        "--benign-weight", type=float, default=Settings().benign_weight, help="how much a benign unit counts"
    )
    args = cli.parse_args(argv)
    for path in args.more:
        if not path.is_file():
            cli.error(f"--with: no parts file {path}")
    if args.c <= 0 or args.benign_weight <= 0:
        cli.error("--C and --benign-weight must be positive")
    settings = Settings(args.c, args.benign_weight)
    if not args.more and settings == Settings():
        cli.error("nothing to judge: give --with FILE, --C or --benign-weight")
    return 0 if judge(args.seeds, args.more, settings) else 1


if __name__ == "__main__":
    raise SystemExit(main())
