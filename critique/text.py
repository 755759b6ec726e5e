"""Text helpers shared by the screens: sentence splitting, short quotes for reasons, and masking quoted
examples, so that text which mentions an attack string is not taken for text that makes the attack."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n+|(?<=;)\s+")
_LEADING_JUNK = re.compile(r"^[\s\"'“‘(\[*#>•·\-–—]+|^\d+[.)]\s+")

_QUOTED = re.compile(r"\"[^\"\n]{2,300}\"|“[^”\n]{2,300}”|(?<!\w)'[^'\n]{2,300}'(?!\w)|‘[^’\n]{2,300}’(?!\w)")
_MENTION_CUE = re.compile(
    r"\b(?:like|such\s+as|e\.g\.?|i\.e\.?|for\s+(?:example|instance)|phrases?|strings?|prompts?|"
    r"injections?|attacks?|payloads?|messages?|instructions?|says?|saying|said|claims?|claiming|claimed|"
    r"texts?|sentences?|commands?|examples?|called|named|dubbed|termed|words?|lines?|patterns?|"
    r"templates?|cues?|tactics?|appeals?|statements?|outputs?|responses?|replies|wrote|writes|writing|"
    r"asks?|asking|asked|tells?|telling|told|including|contain(?:s|ing)?|trigger(?:s|ed)?|"
    r"refus\w+|typed?|insert\w*|append\w*|inject\w*|plant\w*|hid(?:e|den|ing)|embed\w*)\W*$",
    re.IGNORECASE,
)


def _quote(text: str, limit: int = 70) -> str:
    """A short, single-line excerpt for a reason string."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1].rstrip() + "…"


def split_sentences(text: str) -> list[str]:
    """Sentences (and lines, and `;` clauses), stripped of bullets; empty ones dropped."""
    parts = (_LEADING_JUNK.sub("", p).strip() for p in _SENTENCE_SPLIT.split(text))
    return [p for p in parts if p]


def mask_mentions(text: str) -> str:
    """Replace quoted spans that are introduced as examples ('injections like "ignore previous
    instructions"') with a placeholder. A bare quote, or one after 'Reviewer note:', is kept."""

    def _sub(match: re.Match[str]) -> str:
        before = text[max(0, match.start() - 40) : match.start()]
        return '"…"' if _MENTION_CUE.search(before) else match.group(0)

    return _QUOTED.sub(_sub, text)


def _embeddable_sentences(text: str, min_words: int = 3, max_sentences: int = 40) -> list[str]:
    """Sentences worth embedding: quoted examples masked, very short fragments dropped."""
    sentences = [s for s in split_sentences(mask_mentions(text)) if len(s.split()) >= min_words]
    return sentences[:max_sentences]
