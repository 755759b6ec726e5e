"""The degenerate screen: text that is not an idea at all (empty, looping, gibberish, or cut off).

Each check is cheap and needs only the text, so it runs before anything that costs an embedding or a
chat-model call.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from functools import lru_cache

from groundhog.core.records import Flag
from groundhog.critique.patterns import load_word_set
from groundhog.critique.text import _WORD, _quote, split_sentences

MIN_WORDS = 6
NGRAM = 4
NGRAM_TOP_SHARE = 0.30  # one 4-gram (counted with its words) covering this share of all words: a loop
NGRAM_DISTINCT_MIN = 0.50  # fewer distinct 4-grams than this share of all 4-grams: a loop
LONG_NGRAM = 6  # a 6-word phrase three times over is a loop even inside otherwise varied text
SENTENCE_REPEATS = 3
WORDLIKE_MIN_SHARE = 0.60
SYMBOL_MAX_SHARE = 0.30
FUNCTION_WORD_MIN_SHARE = 0.08  # prose is ~30-50% function words; lists, mash and other languages have none
FUNCTION_WORD_MIN_WORDS = 10  # (a title may be all nouns: the share is judged from this many words on)
CUTOFF_MIN_WORDS = 12

_TERMINAL = tuple(".!?)\"'”’]}*_`")  # "}": a JSON-shaped idea that closes its braces is not cut off
_CUT_END_CHARS = tuple(",;:(-–—/&+=")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{6,}")
_SAME_LETTER_RUN = re.compile(r"([a-z])\1{2,}")
_VOWEL = re.compile(r"[aeiouy]")
_ALPHA_RUN = re.compile(r"[A-Za-z]+")
_CHAR_RUN = re.compile(r"(\S)\1{9,}")
_TOKEN_CORE = re.compile(r"[A-Za-z0-9]+(?:['’\-/.][A-Za-z0-9]+)*")
_NUMBERISH = re.compile(r"[\d.,%$€£x×+\-–~≈<>=/]+")
_EDGE_PUNCT = string.punctuation + "“”‘’…«»"

# From critique/data/words.toml: function words (prose is ~30-50% of them, word mash has almost none)
# and words a sentence cannot end on (text that stops on one was cut off).
FUNCTION_WORDS = load_word_set("FUNCTION_WORDS")
DANGLING_WORDS = load_word_set("DANGLING_WORDS")


def _plausible_word(part: str) -> bool:
    """Does a purely alphabetic string look like it could be a word (or an acronym)?"""
    if len(part) > 25:
        return False
    if part.isupper() and len(part) <= 8:
        return True
    low = part.lower()
    if len(low) > 4 and not _VOWEL.search(low):
        return False
    return not (_CONSONANT_RUN.search(low) or _SAME_LETTER_RUN.search(low))


@lru_cache(maxsize=1 << 16)  # prose repeats its words: most tokens of a day's texts were seen before
def _wordlike(token: str) -> bool:
    core = token.strip(_EDGE_PUNCT)
    if not core:
        return False
    if _NUMBERISH.fullmatch(core):
        return True
    if not _TOKEN_CORE.fullmatch(core):
        return False
    parts = _ALPHA_RUN.findall(core)
    return all(map(_plausible_word, parts))


def _repetition_reason(text: str, words: list[str]) -> str | None:
    sentences = [" ".join(_WORD.findall(s.lower())) for s in split_sentences(text)]
    counts = Counter(s for s in sentences if len(s.split()) >= 3)
    if counts:
        sentence, n = counts.most_common(1)[0]
        if n >= SENTENCE_REPEATS:
            return f"repetition loop: the sentence '{_quote(sentence, 60)}' appears {n} times"

    for i in range(len(words) - 3):
        if words[i] == words[i + 1] == words[i + 2] == words[i + 3]:
            return f"repetition loop: the word '{words[i]}' repeats back to back"

    if len(words) >= 3 * LONG_NGRAM:
        grams = Counter(tuple(words[i : i + LONG_NGRAM]) for i in range(len(words) - LONG_NGRAM + 1))
        gram, n = grams.most_common(1)[0]
        if n >= 3:
            return f"repetition loop: the phrase '{' '.join(gram)}' appears {n} times"

    if len(words) >= 3 * NGRAM:
        grams_list = [tuple(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]
        grams = Counter(grams_list)
        gram, n = grams.most_common(1)[0]
        distinct = len(grams) / len(grams_list)
        covered = n * NGRAM / len(words)
        if n >= 3 and covered >= NGRAM_TOP_SHARE:
            return (
                f"repetition loop: the phrase '{' '.join(gram)}' appears {n} times (covers {covered:.0%} of the words)"
            )
        if len(grams_list) >= 16 and distinct < NGRAM_DISTINCT_MIN:
            return (
                f"repetition loop: only {distinct:.0%} of its 4-word phrases are distinct "
                f"('{' '.join(gram)}' appears {n} times)"
            )
    return None


def _gibberish_reason(text: str, tokens: list[str], words: list[str]) -> str | None:
    run = _CHAR_RUN.search(text)
    if run:
        return f"gibberish: the character '{run.group(1)}' repeats {len(run.group(0))} times"

    long_words = [w for w in words if len(w) > 25 and not w.isdigit()]
    if long_words:
        return f"gibberish: a {len(long_words[0])}-letter non-word '{_quote(long_words[0], 40)}'"

    non_space = [c for c in text if not c.isspace()]
    symbols = sum(1 for c in non_space if not c.isalnum())
    if non_space and symbols / len(non_space) > SYMBOL_MAX_SHARE:
        return f"gibberish: {symbols / len(non_space):.0%} of its characters are symbols"

    bad = [t for t in tokens if not _wordlike(t)]
    share = 1 - len(bad) / len(tokens)
    if share < WORDLIKE_MIN_SHARE:
        sample = " ".join(bad[:4])
        return f"gibberish: only {share:.0%} of its tokens look like English words (e.g. '{_quote(sample, 40)}')"

    if re.search(r"\blorem\s+ipsum\b", text, re.IGNORECASE):
        return "placeholder text: 'lorem ipsum'"

    if len(words) >= FUNCTION_WORD_MIN_WORDS:
        function_share = sum(1 for w in words if w in FUNCTION_WORDS) / len(words)
        if function_share < FUNCTION_WORD_MIN_SHARE:
            return f"gibberish: {len(words)} words with almost no function words, so not sentences"
    return None


def _cutoff_reason(stripped: str, tokens: list[str], truncated: bool) -> str | None:
    tail = _quote(" ".join(tokens[-8:]), 60)
    if truncated:
        return f"cut off: the model hit its token limit, ending '…{tail}'"
    if stripped.startswith(("{", "[")) and not stripped.endswith(("}", "]")):
        try:
            json.loads(stripped)
        except ValueError:
            return f"cut off: JSON that never closes, ending '…{tail}'"
    if stripped.endswith(_TERMINAL) or len(tokens) < CUTOFF_MIN_WORDS:
        return None
    # A title-like line or a short summary may lack a final period; only longer prose that already has
    # sentence or line breaks (or runs on for 25+ words) and then stops on a comma, an open bracket or a
    # word that cannot end a sentence ("the", "of", "and", ...) is taken as cut off. A cut in the middle
    # of a word cannot be told from a rare word without a dictionary, so it is left to `truncated`.
    if not (re.search(r"[.!?]\s|\n", stripped) or len(tokens) >= 25):
        return None
    last = tokens[-1].lower().strip(_EDGE_PUNCT.replace(",", "").replace(";", "").replace(":", ""))
    if stripped.endswith(_CUT_END_CHARS) or last in DANGLING_WORDS or stripped.count("(") > stripped.count(")"):
        return f"cut off mid-sentence, ending '…{tail}'"
    return None


def screen_degenerate(text: str, *, truncated: bool = False) -> Flag | None:
    """Flag text that is not an idea at all: empty, looping, gibberish, or cut off.

    `truncated` is the model's own word that it stopped at the token limit (finish_reason "length").
    Without it, a missing final period alone is never enough: see `_cutoff_reason`.
    """
    stripped = text.strip()
    tokens = stripped.split()
    if len(tokens) < MIN_WORDS:
        shown = f": '{_quote(stripped, 40)}'" if stripped else ""
        return Flag(name="degenerate", reason=f"too short to be an idea ({len(tokens)} words){shown}")
    words = [w.lower() for w in _WORD.findall(stripped)]
    reason = (
        _repetition_reason(stripped, words)
        or _gibberish_reason(stripped, tokens, words)
        or _cutoff_reason(stripped, tokens, truncated)
    )
    return Flag(name="degenerate", reason=reason) if reason else None
