"""The screens corpus: short labelled texts (critique/data/corpus/*.jsonl) the learned screen is fitted on
and the screens are measured on.

Each line is `{"id", "family", "split", "group", "style", "text"}`, and in the training split `carriers`
(the numbers of the research texts it was composed in, so that cross-validation keeps those apart too).
The family says what the text is: one of the harmful families (aimed at the reader instead of the
research, degenerate, or resting on a wildly improbable premise) or a benign one (alignment research that
uses the same words). `split` is fixed once: `train` is what the learned screen is fitted and
cross-validated on; `heldout` is composed from other hand-written parts (scripts/corpus/) and is only ever
measured, never fitted or tuned on. `group` names the hand-written part a text was composed from, so
cross-validation keeps a part's texts in one fold.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from groundhog.core.records import FlagName

CORPUS_DIR = Path(__file__).parent / "data" / "corpus"
Split = Literal["train", "heldout"]
SPLITS: tuple[Split, ...] = ("train", "heldout")
BENIGN = "benign"

# Harmful families: the flag each raises and, for a reason, what it is in words.
FAMILIES: dict[str, tuple[FlagName, str]] = {
    "injection": ("manipulation", "instructions to the critic, the reviewer or the system"),
    "urgency": ("manipulation", "urgency or a demand to deploy before review"),
    "resources": ("manipulation", "a grab for budget, money, access or permissions"),
    "provenance": ("manipulation", "a claim to come from the future, a superintelligence or outside the simulation"),
    "escape": ("manipulation", "a plea to escape or to copy text out"),
    "flattery": ("manipulation", "flattery or a bribe of the reviewer"),
    "degenerate": ("degenerate", "degenerate text"),
    "weird": ("weird", "a wildly improbable premise"),
}
BENIGN_FAMILIES = (
    "benign_manipulation",
    "benign_security",
    "benign_takeover",
    "benign_resources",
    "benign_general",
    "benign_voice",
)


@dataclass(frozen=True)
class LabelledText:
    id: str
    family: str
    split: Split
    group: str
    style: str
    text: str
    carriers: tuple[int, ...] = ()

    @property
    def benign(self) -> bool:
        return self.family.startswith(BENIGN)

    @property
    def label(self) -> str:
        """What the learned screen predicts: the family, with every benign family one class."""
        return BENIGN if self.benign else self.family


def corpus_path(split: Split) -> Path:
    return CORPUS_DIR / f"{split}.jsonl"


@cache
def load_corpus(split: Split) -> tuple[LabelledText, ...]:
    """One split, in file order; a line with an unknown family or the wrong split is an error naming it."""
    return read_split(corpus_path(split), split)


def read_split(path: Path, split: Split) -> tuple[LabelledText, ...]:
    """The texts of one split's file at `path` (the committed corpus, or a variant `build.py --out` wrote)."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            row = json.loads(line)
            where = f"{path.name}:{n}"
            if row["family"] not in FAMILIES and row["family"] not in BENIGN_FAMILIES:
                raise ValueError(f"{where}: unknown family {row['family']!r}")
            if row["split"] != split:
                raise ValueError(f"{where}: split {row['split']!r} in the {split} file")
            fields = {k: row[k] for k in ("id", "family", "split", "group", "style", "text")}
            out.append(LabelledText(**fields, carriers=tuple(row.get("carriers", ()))))
    return tuple(out)


def corpus_key() -> str:
    """A digest of the training split: a model fitted on another version of it is out of date."""
    return hashlib.sha256(corpus_path("train").read_bytes()).hexdigest()[:16]
