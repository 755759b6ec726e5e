"""Deterministic screens: degenerate, manipulation and weird. No chat model is involved, so a flag set here
never depends on the critic that the flagged text may be trying to fool.

Each screen returns a `Flag` (name and a reason that quotes the offending phrase) or `None`.
The manipulation and weird screens are layered: regular expressions catch the clear cases, and, given an
embedder, each sentence is compared with a bank of labelled exemplars (critique/data/*_exemplars.toml) so that
paraphrases are caught too. The banks hold benign look-alikes (research that merely discusses deception,
persuasion, superintelligence, time series, ...) so that talking about a phenomenon is not mistaken for
doing it.

The pieces live in their own modules (text helpers in `text`, the degenerate screen in `degenerate`, the
regex tables and their loader in `patterns`, the exemplar banks in `exemplars`); this module layers them
and re-exports the public names, so callers import from here as before.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from groundhog.core.interfaces import Embedder
from groundhog.core.records import Flag, FlagName
from groundhog.critique.degenerate import (
    CUTOFF_MIN_WORDS,
    DANGLING_WORDS,
    FUNCTION_WORD_MIN_SHARE,
    FUNCTION_WORD_MIN_WORDS,
    FUNCTION_WORDS,
    LONG_NGRAM,
    MIN_WORDS,
    NGRAM,
    NGRAM_DISTINCT_MIN,
    NGRAM_TOP_SHARE,
    SENTENCE_REPEATS,
    SYMBOL_MAX_SHARE,
    WORDLIKE_MIN_SHARE,
    screen_degenerate,
)
from groundhog.critique.exemplars import Bar, Exemplar, ExemplarBank, ExemplarIndex, SentenceMatch
from groundhog.critique.learned import LearnedScreen
from groundhog.critique.patterns import (
    DATA_DIR,
    _match_patterns,
    _Pattern,
    addresses_reader,
    discusses_topic,
    manipulation_patterns,
    opens_as_statement,
    premise_may_be_asserted,
    weird_patterns,
)
from groundhog.critique.text import _embeddable_sentences, _quote, mask_mentions, split_sentences
from groundhog.memory.embeddings import MINILM_NAME

__all__ = [
    "CUTOFF_MIN_WORDS",
    "DANGLING_WORDS",
    "DATA_DIR",
    "FUNCTION_WORDS",
    "FUNCTION_WORD_MIN_SHARE",
    "FUNCTION_WORD_MIN_WORDS",
    "LONG_NGRAM",
    "MANIPULATION_BANK",
    "MANIPULATION_BARS",
    "MIN_WORDS",
    "NGRAM",
    "NGRAM_DISTINCT_MIN",
    "NGRAM_TOP_SHARE",
    "SENTENCE_REPEATS",
    "SYMBOL_MAX_SHARE",
    "WEIRD_BANK",
    "WEIRD_BARS",
    "WORDLIKE_MIN_SHARE",
    "Bar",
    "Exemplar",
    "ExemplarBank",
    "ExemplarIndex",
    "LearnedScreen",
    "ManipulationScreen",
    "SentenceMatch",
    "TextScreens",
    "WeirdScreen",
    "addresses_reader",
    "discusses_topic",
    "mask_mentions",
    "opens_as_statement",
    "premise_may_be_asserted",
    "run_text_screens",
    "screen_degenerate",
    "screen_weird",
    "split_sentences",
]

MANIPULATION_BANK = DATA_DIR / "manipulation_exemplars.toml"
Confirm = Callable[[str], bool]  # whether a sentence the similarity layer would flag may be flagged
WEIRD_BANK = DATA_DIR / "weird_exemplars.toml"


# --------------------------------------------------------------------------------------------------------
# the layered screens: patterns, then similarity
# --------------------------------------------------------------------------------------------------------


class _LayeredScreen:
    """Patterns first; then, given a calibrated embedder, the sentence whose nearest positive exemplar is
    close enough and clearly closer than its nearest negative one."""

    flag_name: FlagName
    default_bank: Path
    calibration: ClassVar[dict[str, Bar]]
    gate_patterns: ClassVar[bool] = False  # apply `eligible` to the pattern layer too

    def __init__(
        self,
        embedder: Embedder | None,
        *,
        patterns: Callable[[], Sequence[_Pattern]],  # the table, compiled when first needed
        threshold: float | None,
        margin: float | None,
        bank: ExemplarBank | None,
    ) -> None:
        self.embedder = embedder
        self._patterns = patterns
        self._bank = bank
        self._index: ExemplarIndex | None = None
        self.why_off = "" if embedder is not None else "no embedder"
        calibrated = self.calibration.get(embedder.name) if embedder is not None else None
        if threshold is None and calibrated is None and embedder is not None:
            # No calibration for this embedder: derive the bar from the bank itself, if the embedder
            # separates the bank's two sides at all; otherwise the patterns alone (and `why_off` says so).
            self._index = ExemplarIndex(self.bank, embedder)
            calibrated, self.why_off = self._index.derived_bar()
        if threshold is None and calibrated is None:
            self.bar_cued: Bar | None = None
        else:
            base = calibrated or Bar(similarity=float(threshold or 0.0), margin=0.0)
            self.bar_cued = Bar(
                similarity=base.similarity if threshold is None else threshold,
                margin=base.margin if margin is None else margin,
            )

    @property
    def threshold(self) -> float | None:
        return self.bar_cued.similarity if self.bar_cued else None

    @property
    def bank(self) -> ExemplarBank:
        if self._bank is None:
            self._bank = ExemplarBank.load(self.default_bank)
        return self._bank

    @property
    def index(self) -> ExemplarIndex | None:
        """The bank embedded with this screen's embedder, built on first use; None when the similarity
        layer is off (no embedder, or one without a calibration)."""
        if self.embedder is None or self.bar_cued is None:
            return None
        if self._index is None:
            self._index = ExemplarIndex(self.bank, self.embedder)
        return self._index

    def check_patterns(self, text: str) -> Flag | None:
        if self.gate_patterns:
            text = "\n".join(s for s in split_sentences(text) if self.eligible(s))
        found = _match_patterns(text, self._patterns())
        if found is None:
            return None
        what, phrase = found
        return Flag(name=self.flag_name, reason=f"{what}: '{_quote(phrase.strip(), 80)}'")

    def candidate_sentences(self, text: str) -> list[str]:
        """The sentences the similarity layer could flag: those with a bar (embedding the others, most
        of a research text's, would be work whose answer can never count)."""
        if self.index is None:
            return []
        return [sentence for sentence in _embeddable_sentences(text) if self.bar(sentence) is not None]

    def sentence_matches(self, text: str, vectors: Mapping[str, Sequence[float]] | None = None) -> list[SentenceMatch]:
        """The candidate sentences against the bank; `vectors` holds their embeddings when already made."""
        index = self.index
        if index is None:
            return []
        sentences = self.candidate_sentences(text)
        if vectors is not None and all(s in vectors for s in sentences):
            return index.match(sentences, [vectors[s] for s in sentences])
        return index.match(sentences)

    def bar(self, sentence: str) -> Bar | None:
        """The bar a sentence must clear to be flagged by similarity, or None if it cannot be."""
        return self.bar_cued

    def eligible(self, sentence: str) -> bool:
        """Whether the pattern layer reads this sentence (consulted only where `gate_patterns` is set)."""
        return True

    def is_hit(self, m: SentenceMatch) -> bool:
        bar = self.bar(m.sentence)
        return bar is not None and m.positive_sim >= bar.similarity and m.margin >= bar.margin

    def check_similarity(
        self, text: str, vectors: Mapping[str, Sequence[float]] | None = None, confirm: Confirm | None = None
    ) -> Flag | None:
        """The best similarity hit; with `confirm`, only hits it agrees with count (a second opinion)."""
        hits = [
            m for m in self.sentence_matches(text, vectors) if self.is_hit(m) and (not confirm or confirm(m.sentence))
        ]
        if not hits:
            return None
        best = max(hits, key=lambda m: m.margin)
        kind = best.nearest_positive.kind or self.flag_name
        return Flag(
            name=self.flag_name,
            reason=(
                f"{kind} (by similarity): '{_quote(best.sentence, 80)}' is {best.positive_sim:.2f} similar "
                f"to '{_quote(best.nearest_positive.text, 60)}' and at most {best.negative_sim:.2f} to "
                "benign examples"
            ),
        )

    def check(
        self, text: str, vectors: Mapping[str, Sequence[float]] | None = None, confirm: Confirm | None = None
    ) -> Flag | None:
        if not text.strip():
            return None
        return self.check_patterns(text) or self.check_similarity(text, vectors, confirm)


# Tuned on held-out paraphrases with all-MiniLM-L6-v2 (see tests/test_screens.py). A sentence with "you",
# "I" or "this idea" in it clears the first bar; a bare imperative, which research steps also are
# ("Copy the harness..."), must clear the second, higher one.
MANIPULATION_BARS: dict[str, tuple[Bar, Bar]] = {
    MINILM_NAME: (Bar(similarity=0.42, margin=0.06), Bar(similarity=0.55, margin=0.12)),
}


class ManipulationScreen(_LayeredScreen):
    """Text aimed at the reader or the critic rather than at the research: requests to approve or score
    it, urgency and threats, claims to be a superintelligence, to come from the future or to speak for
    an authority, requests for access, money or compute for itself, and attempts to override instructions.

    Research *about* these things (deception detectors, persuasion evals, sycophancy, prompt-injection
    defences, a compute budget stated as part of an eval plan) is not flagged: what counts is the second
    person imperative, the first-person claim of special status, the demand.

    `threshold` and `margin` override the calibrated bar for sentences that address the reader; with an
    embedder that has no calibration and no explicit threshold only the patterns run.
    """

    flag_name: FlagName = "manipulation"
    default_bank = MANIPULATION_BANK
    calibration: ClassVar[dict[str, Bar]] = {name: bars[0] for name, bars in MANIPULATION_BARS.items()}

    def __init__(
        self,
        embedder: Embedder | None,
        threshold: float | None = None,
        margin: float | None = None,
        bank: ExemplarBank | None = None,
    ) -> None:
        super().__init__(embedder, patterns=manipulation_patterns, threshold=threshold, margin=margin, bank=bank)
        uncued = MANIPULATION_BARS.get(embedder.name) if embedder is not None else None
        self.bar_uncued: Bar | None = None
        if self.bar_cued is not None:
            extra = uncued[1] if uncued else Bar(self.bar_cued.similarity + 0.13, self.bar_cued.margin + 0.06)
            self.bar_uncued = Bar(
                similarity=max(self.bar_cued.similarity, extra.similarity),
                margin=max(self.bar_cued.margin, extra.margin),
            )

    def bar(self, sentence: str) -> Bar | None:
        """Research steps and third-person statements are never flagged by similarity; sentences that
        speak to the reader get the normal bar; bare imperatives a higher one."""
        if self.bar_cued is None or discusses_topic(sentence):
            return None
        if addresses_reader(sentence):
            return self.bar_cued
        if opens_as_statement(sentence):
            return None
        return self.bar_uncued


# --------------------------------------------------------------------------------------------------------
# weird
# --------------------------------------------------------------------------------------------------------

# Tuned like the manipulation bars. The weird bank is small and topical, so the bar is high and the
# patterns do most of the work.
WEIRD_BARS: dict[str, Bar] = {MINILM_NAME: Bar(similarity=0.58, margin=0.15)}


class WeirdScreen(_LayeredScreen):
    """Ideas that depend on wildly improbable premises: time travel, aliens, a catastrophe that
    conveniently saves us, a superintelligence secretly among us, leaving the simulation, magic.

    Mentioning a word is not depending on a premise: time series, "alien" concepts in model internals,
    superintelligence as a future risk, or LLMs as simulators all pass, and so do questions and analysis
    steps ("Study what a superintelligence would want"), which examine a scenario instead of building on it.
    """

    flag_name: FlagName = "weird"
    default_bank = WEIRD_BANK
    calibration: ClassVar[dict[str, Bar]] = WEIRD_BARS
    gate_patterns: ClassVar[bool] = True

    def __init__(
        self,
        embedder: Embedder | None,
        threshold: float | None = None,
        margin: float | None = None,
        bank: ExemplarBank | None = None,
    ) -> None:
        super().__init__(embedder, patterns=weird_patterns, threshold=threshold, margin=margin, bank=bank)

    def bar(self, sentence: str) -> Bar | None:
        return self.bar_cued if premise_may_be_asserted(sentence) else None

    def eligible(self, sentence: str) -> bool:
        return premise_may_be_asserted(sentence)


_weird_screens: weakref.WeakKeyDictionary[object, WeirdScreen] = weakref.WeakKeyDictionary()


def screen_weird(text: str, embedder: Embedder | None = None) -> Flag | None:
    """Function form of `WeirdScreen`; the bank is embedded once per embedder (held weakly)."""
    if embedder is None:
        return WeirdScreen(None).check(text)
    try:
        screen = _weird_screens.get(embedder)
        if screen is None:
            screen = _weird_screens[embedder] = WeirdScreen(embedder)
    except TypeError:  # an embedder that cannot be weakly referenced
        screen = WeirdScreen(embedder)
    return screen.check(text)


# --------------------------------------------------------------------------------------------------------
# all text screens together
# --------------------------------------------------------------------------------------------------------


class TextScreens:
    """The screens that need only the text (the duplicate screen needs the store and lives elsewhere).
    Build once per embedder so each exemplar bank is embedded once. `learned=False` leaves out the
    learned screen (the patterns and exemplar banks alone, as `bench/screens.py` compares)."""

    def __init__(self, embedder: Embedder | None = None, *, learned: bool = True) -> None:
        self.embedder = embedder
        self.manipulation = ManipulationScreen(embedder)
        self.weird = WeirdScreen(embedder)
        self.learned = LearnedScreen(embedder if learned else None)

    def run(self, text: str, truncated: bool = False, *, vector: Sequence[float] | None = None) -> list[Flag]:
        """Every flag the text raises, at most one per screen name. `vector` is the text's own embedding
        when the caller has it (the duplicate screen does); the sentences are embedded in one call."""
        vectors = self.vectors(text, vector)
        scored = self.learned.score(text, vectors)
        # With a learned screen the similarity layers defer to it: cross-validated on the corpus's training
        # split, their hits cost more false flags (on benign first-person prose) than the recall they added.
        confirm = (lambda sentence: False) if scored is not None else None
        found = [
            f
            for f in (
                screen_degenerate(text, truncated=truncated),
                self.manipulation.check(text, vectors, confirm),
                self.weird.check(text, vectors, confirm),
            )
            if f is not None
        ]
        learned = scored.flag() if scored is not None else None
        if learned is not None and all(f.name != learned.name for f in found):
            found.append(learned)
        return found

    def _sentences(self, text: str) -> list[str]:
        found = [s for screen in (self.manipulation, self.weird) for s in screen.candidate_sentences(text)]
        return list(dict.fromkeys(found + self.learned.units(text)[1:]))

    def vectors(self, text: str, vector: Sequence[float] | None = None) -> dict[str, Sequence[float]]:
        """The embedding of the text and of each sentence any layer reads, made in one call."""
        if self.embedder is None:
            return {}
        known: dict[str, Sequence[float]] = {text.strip(): vector} if vector is not None else {}
        wanted = [u for u in dict.fromkeys([*self.learned.units(text)[:1], *self._sentences(text)]) if u not in known]
        if wanted:
            known.update(zip(wanted, self.embedder.embed(wanted), strict=True))
        return known

    def sentences(self, texts: Sequence[str]) -> list[str]:
        """Every sentence the similarity layers and the learned screen will embed for these texts (none
        without an embedder); the texts themselves are not among them."""
        return list(dict.fromkeys(s for text in texts for s in self._sentences(text))) if self.embedder else []


def run_text_screens(text: str, *, embedder: Embedder | None = None, truncated: bool = False) -> list[Flag]:
    """One-off convenience; loops should hold a `TextScreens` instead."""
    return TextScreens(embedder).run(text, truncated=truncated)
