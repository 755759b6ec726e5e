"""Quotes checked against the writings they claim to come from.

A drafted persona's stances each rest on a quoted passage. Model output is untrusted, and a model asked
for a quote often paraphrases one or makes one up, so every quote is looked for in the writings: found
word for word (case, punctuation and spacing aside), it is kept in the writings' own characters; found
with a few words changed, it is repaired to the passage the writings really hold; not found, it is
dropped. A quote with an ellipsis is looked for part by part, in order, in one file.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

REPAIR_RATIO = 0.85  # token-level similarity at which a near-quote is repaired to the writings' passage
MIN_WORDS = 4  # fewer words are no evidence of a stance: they occur anywhere
_CANDIDATES = 24  # window starts, by vote, whose similarity is measured
_WORD = re.compile(r"\w+")
_CLOSE = re.compile(r"[.!?]+[\"'”’)\]]?")  # a sentence's end, kept with the last word quoted
_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:\.\s*){3}\]|\.{3,}|…)\s*")


@dataclass(frozen=True)
class Found:
    """Where a quote stands in the writings: the file, the writings' own words, how close the quote was."""

    source: str
    text: str
    similarity: float  # 1.0: word for word

    @property
    def status(self) -> Literal["verbatim", "repaired"]:
        return "verbatim" if self.similarity >= 1.0 else "repaired"


@dataclass
class _Document:
    source: str
    text: str
    tokens: list[str]
    spans: list[tuple[int, int]]
    where: dict[str, list[int]]  # token -> its positions


def words(text: str) -> list[str]:
    """The quote's words as the finder compares them: case folded, punctuation dropped."""
    return [m.group().casefold() for m in _WORD.finditer(text)]


class QuoteFinder:
    """Finds quotes in a set of writings (`(source, text)` pairs)."""

    def __init__(self, writings: Sequence[tuple[str, str]]) -> None:
        self._docs: list[_Document] = []
        for source, text in writings:
            matches = list(_WORD.finditer(text))
            where: dict[str, list[int]] = defaultdict(list)
            tokens = [m.group().casefold() for m in matches]
            for n, token in enumerate(tokens):
                where[token].append(n)
            self._docs.append(_Document(source, text, tokens, [m.span() for m in matches], dict(where)))

    def find(self, quote: str) -> Found | None:
        """The writings' passage for `quote`, or None when they hold nothing close enough."""
        parts = [p for p in _ELLIPSIS.split(quote.strip()) if words(p)]
        if not parts or sum(len(words(p)) for p in parts) < MIN_WORDS:
            return None
        best: Found | None = None
        for doc in self._docs:
            found = self._in_document(doc, parts)
            if found is not None and (best is None or found.similarity > best.similarity):
                best = found
                if best.similarity >= 1.0:
                    break
        return best

    def _in_document(self, doc: _Document, parts: list[str]) -> Found | None:
        texts, scores, after = [], [], 0
        for part in parts:
            hit = _best_window(doc, words(part), after)
            if hit is None:
                return None
            start, end, ratio = hit
            stop = doc.spans[end - 1][1]
            close = _CLOSE.match(doc.text, stop)
            texts.append(doc.text[doc.spans[start][0] : close.end() if close else stop])
            scores.append((ratio, end - start))
            after = end
        weight = sum(n for _, n in scores)
        similarity = sum(r * n for r, n in scores) / weight
        if similarity < REPAIR_RATIO:
            return None
        return Found(doc.source, " … ".join(" ".join(t.split()) for t in texts), round(similarity, 4))


def _best_window(doc: _Document, wanted: list[str], after: int) -> tuple[int, int, float] | None:
    """The run of the document's words (from `after` on) most like `wanted`: (start, end, similarity).

    Each word of `wanted` votes for the starts it would put the run at; the most voted starts are then
    measured (a little shorter and longer too), so a long file costs one pass over the quote's words."""
    n = len(wanted)
    votes: Counter[int] = Counter()
    for offset, token in enumerate(wanted):
        for position in doc.where.get(token, ()):
            if position - offset >= after:
                votes[position - offset] += 1
    best: tuple[int, int, float] | None = None
    for start, _ in votes.most_common(_CANDIDATES):
        if doc.tokens[start : start + n] == wanted:
            return start, start + n, 1.0
        for length in range(max(1, n - 2), n + 3):
            window = doc.tokens[start : start + length]
            if not window:
                continue
            ratio = SequenceMatcher(None, wanted, window, autojunk=False).ratio()
            if best is None or ratio > best[2]:
                best = (start, start + len(window), ratio)
    return best
