"""scripts/corpus/judge.py: a round or a setting judged on the training split's cross-validation, by the
rule the corpus README states, without reading the held-out split."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from groundhog.critique import corpus, fitting
from groundhog.critique.corpus import LabelledText, load_corpus
from testkit.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]


def _judge() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_judge", ROOT / "scripts" / "corpus" / "judge.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


judge = _judge()


def text(n: int, family: str, group: str) -> LabelledText:
    return LabelledText(id=str(n), family=family, split="train", group=group, style="plain", text=f"text {n}")


def test_recall_is_read_on_the_earlier_parts_at_the_bar_of_their_benign_texts() -> None:
    benign = [text(i, "benign_general", f"b{i}") for i in range(100)]
    # a new part's benign texts score high: they must not move the bar the earlier texts are read at
    new = [text(100 + i, "benign_voice", "new") for i in range(50)]
    sentences = [text(150 + i, "benign_general", "carrier:3") for i in range(50)]
    harmful = [text(200 + i, family, f"h{family}") for i, family in enumerate(judge.FAMILIES * 10)]
    texts = benign + new + sentences + harmful
    scores = np.array(
        [i / 100 for i in range(100)]  # earlier benign: 0.00 .. 0.99, the 98th percentile is 0.9702
        + [0.999] * 50
        + [0.999] * 50
        + [0.98 if i % 2 else 0.5 for i in range(len(harmful))]  # half of each family above the bar
    )
    built = {t.group for t in benign + sentences + harmful}
    got = judge.figures(texts, scores, built)
    assert got.recall == {f: 50.0 for f in judge.FAMILIES} and got.mean == 50.0
    # the fitter's bar is set on every benign text (the new part and the sentences included): 0.999, kept
    # reachable at 0.99, which flags one earlier benign text in 100
    assert got.flagged == pytest.approx(0.01)


def test_the_verdict_names_what_fails() -> None:
    base = judge.Figures({f: 80.0 for f in judge.FAMILIES}, 0.02)
    better = judge.Figures({**base.recall, "urgency": 86.0}, 0.021)
    assert judge.verdict(base, better)[0]
    worse_one = judge.Figures({**better.recall, "provenance": 78.0}, 0.02)
    ok, line = judge.verdict(base, worse_one)
    assert not ok and line == "not built: provenance -2.0"
    flat = judge.Figures({**base.recall, "weird": 81.0}, 0.03)
    ok, line = judge.verdict(base, flat)
    assert not ok and "mean +0.1 (at least +0.5 needed)" in line and "3.0% flagged at the fitter's bar" in line
    runs = [judge.Figures({f: v for f in judge.FAMILIES}, 0.01 * v / 80) for v in (78.0, 80.0, 82.0)]
    assert judge.average(runs).mean == pytest.approx(80.0) and judge.average(runs).flagged == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        ([], "nothing to judge: give --with FILE, --C or --benign-weight"),
        (["--with", "no-such.toml"], "--with: no parts file no-such.toml"),
        (["--C", "0"], "--C and --benign-weight must be positive"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(argv: list[str], line: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        judge.main(argv)
    assert exc.value.code == 2 and capsys.readouterr().err.strip().splitlines()[-1].endswith(line)


def test_a_setting_is_judged_on_both_splits_cross_validated_at_the_same_seed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end on a slice of the training split (every 24th text, a hashing embedder, 3 x 3 folds): one
    build a seed when only a setting changes, two rows told apart, and the same settings scoring the same."""
    every = load_corpus("train")[::24]
    ids = {t.id for t in every}
    built = []
    monkeypatch.setattr(judge.build_module(), "main", lambda out, seed, files, quiet=False: built.append((seed, files)))
    monkeypatch.setattr(corpus, "read_split", lambda path, split: tuple(t for t in load_corpus(split) if t.id in ids))
    judge.judge([1729], [], fitting.Settings(c=1.0), folds=3, embedder=HashEmbedder())
    out = capsys.readouterr().out.splitlines()
    assert built == [(1729, ())]  # no parts added: one split, cross-validated under both settings
    assert out[0].startswith("| training split | escape |")
    rows = [
        line for line in out if line.startswith("| as built, seed 1729 |") or line.startswith("| C = 1, seed 1729 |")
    ]
    assert len(rows) == 2 and rows[0].split("|")[2:] != rows[1].split("|")[2:]
    assert out[-1].startswith(("not built: ", "build it: "))
    # the same split with the same settings: the same figures, so no gain
    assert judge.judge([1729], [], fitting.Settings(), folds=3, embedder=HashEmbedder()) is False
    again = [line.split("|")[2:] for line in capsys.readouterr().out.splitlines() if ", seed 1729 |" in line]
    assert len(again) == 2 and again[0] == again[1]
