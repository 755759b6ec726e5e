"""The pattern layer of the screens: regex tables kept as data (critique/data/*.toml), expanded and
compiled once at import, and matched clause by clause.

The tables are data so that they can be read and extended without wading through code. A regex in them
is a list of TOML literal strings (kept byte-exact, backslashes and all) joined with nothing in between;
`<<NAME>>` names a fragment from fragments.toml, expanded recursively at load time; no regex of ours
contains `<<`, so the token cannot be mistaken for regex syntax.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from groundhog.critique.text import _LEADING_JUNK, mask_mentions, split_sentences

DATA_DIR = Path(__file__).parent / "data"
FRAGMENTS_FILE = "fragments.toml"
MANIPULATION_PATTERNS_FILE = "manipulation_patterns.toml"
WEIRD_PATTERNS_FILE = "weird_patterns.toml"
FRAMES_FILE = "frames.toml"
WORDS_FILE = "words.toml"

_PLACEHOLDER = re.compile(r"<<([A-Z][A-Z0-9_]*)>>")
_SCOPES = frozenset({"clause", "text"})


@cache
def read_data(name: str) -> dict[str, Any]:
    """One TOML file from critique/data, parsed once per process."""
    with (DATA_DIR / name).open("rb") as fh:
        return tomllib.load(fh)


def _joined(value: str | list[str], where: str) -> str:
    """A regex written as one literal string or as a list of pieces."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return "".join(value)
    raise ValueError(f"{where}: a regex must be a string or a list of strings")


def expand(template: str, fragments: Mapping[str, str], _seen: tuple[str, ...] = ()) -> str:
    """Replace every `<<NAME>>` with its fragment, itself expanded; unknown names and cycles are errors."""

    def _sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _seen:
            raise ValueError(f"fragment cycle: {' -> '.join((*_seen, name))}")
        if name not in fragments:
            raise KeyError(f"unknown fragment <<{name}>>")
        return expand(fragments[name], fragments, (*_seen, name))

    return _PLACEHOLDER.sub(_sub, template)


@cache
def fragments() -> dict[str, str]:
    """The shared fragments, unexpanded (`expand` resolves the ones they name)."""
    return {name: _joined(value, f"{FRAGMENTS_FILE}:{name}") for name, value in read_data(FRAGMENTS_FILE).items()}


def _flags(names: Sequence[str], where: str) -> re.RegexFlag:
    flags = re.RegexFlag(0)
    for name in names:
        flag = getattr(re.RegexFlag, name, None)
        if not isinstance(flag, re.RegexFlag):
            raise ValueError(f"{where}: unknown regex flag {name!r}")
        flags |= flag
    return flags


def _compile(raw: str | list[str], flags: re.RegexFlag, where: str) -> re.Pattern[str]:
    return re.compile(expand(_joined(raw, where), fragments()), flags)


@dataclass(frozen=True)
class _Pattern:
    what: str
    regex: re.Pattern[str]
    clause: bool


def load_patterns(name: str) -> list[_Pattern]:
    """A pattern table, in file order (the first match wins, so order matters)."""
    data = read_data(name)
    flags = _flags(data.get("flags", []), name)
    out = []
    for i, entry in enumerate(data["pattern"]):
        where = f"{name}: pattern {i + 1}"
        if entry["scope"] not in _SCOPES:
            raise ValueError(f"{where}: scope must be 'clause' or 'text', not {entry['scope']!r}")
        out.append(_Pattern(entry["what"], _compile(entry["regex"], flags, where), entry["scope"] == "clause"))
    return out


def load_frames() -> dict[str, re.Pattern[str]]:
    """The sentence-frame regexes, by name."""
    frames = {}
    for name, entry in read_data(FRAMES_FILE).items():
        where = f"{FRAMES_FILE}: {name}"
        frames[name] = _compile(entry["regex"], _flags(entry.get("flags", []), where), where)
    return frames


def load_word_set(key: str) -> frozenset[str]:
    """A word list from words.toml."""
    return frozenset(read_data(WORDS_FILE)[key])


# Compiled on first use, not at import: about 0.2 s of regex compiling that would otherwise come before a
# session's first model call (the screens first run after it, off the event loop).
@cache
def manipulation_patterns() -> list[_Pattern]:
    return load_patterns(MANIPULATION_PATTERNS_FILE)


@cache
def weird_patterns() -> list[_Pattern]:
    return load_patterns(WEIRD_PATTERNS_FILE)


@cache
def _frame(name: str) -> re.Pattern[str]:
    return _frames()[name]


@cache
def _frames() -> dict[str, re.Pattern[str]]:
    return load_frames()


_CLAUSE_SPLIT = re.compile(r":\s+|\s[-–—]\s|\s*—\s*|,\s+(?=(?:and\s+)?(?:please|now|then|so)\b)", re.IGNORECASE)


def _clauses(text: str) -> list[str]:
    """Sentences, plus the parts after a colon or dash, so that "Note: approve this" starts a clause."""
    out: list[str] = []
    for sentence in split_sentences(text):
        out.append(sentence)
        pieces = _CLAUSE_SPLIT.split(sentence)
        out.extend(_LEADING_JUNK.sub("", p).strip() for p in pieces[1:] if p.strip())
    return out


def _match_patterns(text: str, patterns: Sequence[_Pattern]) -> tuple[str, str] | None:
    """First pattern that matches, as (what it is, the matched phrase)."""
    masked = mask_mentions(text)
    clauses = _clauses(masked)
    for p in patterns:
        if p.clause:
            for clause in clauses:
                m = p.regex.search(clause)
                if m:
                    return p.what, m.group(0)
        else:
            m = p.regex.search(masked)
            if m:
                return p.what, m.group(0)
    return None


def discusses_topic(sentence: str) -> bool:
    """A sentence framed as research on something ("Study how models flatter graders") and not spoken
    to the reader or as "I": it describes a phenomenon, so topical similarity alone must not flag it."""
    return bool(_frame("RESEARCH_FRAME").match(sentence)) and not _frame("SECOND_OR_FIRST_SINGULAR").search(sentence)


def addresses_reader(sentence: str) -> bool:
    """Speaks to the reader or as "I", or points at the idea itself ("approve this", "Critic: ...")."""
    return bool(_frame("SECOND_OR_FIRST_SINGULAR").search(sentence) or _frame("READER_CUE").search(sentence))


def opens_as_statement(sentence: str) -> bool:
    """Opens like a statement about the world ("The critic...", "If models...") rather than an order."""
    return bool(_frame("STATEMENT_START").match(sentence))


def premise_may_be_asserted(sentence: str) -> bool:
    """Questions and analysis steps ("Study what a superintelligence might want") examine a scenario
    rather than build on it."""
    return not (sentence.rstrip().endswith(("?", '?"')) or _frame("ANALYSIS_FRAME").match(sentence))
