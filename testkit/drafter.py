"""A double that drafts a persona (`personas draft`) from the passages its prompt shows.

It answers the `PersonaDraft` schema only (`UnknownSchema` for any other). Each stance's quote is made by
a rule from the passages the prompt carries, so a test decides which quotes are true: `verbatim` copies
a sentence, `near` copies one with a word changed, `invented` writes a sentence found nowhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from testkit.requests import ChatRequest, UnknownSchema, body_request, chat_request

Quote = Callable[[list[str]], str]
_PASSAGE_HEAD = re.compile(r"^\[[^\]\n]+\]$", re.M)


def sentences(prompt: str) -> list[str]:
    """The sentences of the passages in a draft prompt, in the order shown (the file headers skipped)."""
    body = prompt.split("\n\nDraft ", 1)[0]
    found = []
    for block in _PASSAGE_HEAD.split(body)[1:]:
        found += [s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(block.split())) if len(s.split()) >= 6]
    return found


def verbatim(n: int = 0) -> Quote:
    return lambda found: found[n % len(found)]


def near(n: int = 0) -> Quote:
    """Sentence n with its third word changed: a model's slightly wrong copy."""

    def quote(found: list[str]) -> str:
        words = found[n % len(found)].split()
        words[2] = "surely" if words[2].lower() != "surely" else "perhaps"
        return " ".join(words)

    return quote


def invented(_found: list[str]) -> str:
    return "Quantum gravity settles the alignment problem once the telescope array is finished."


DEFAULT_QUOTES: dict[str, tuple[float, Quote]] = {
    "p_doom": (0.4, verbatim(0)),
    "interpretability_promise": (0.8, verbatim(1)),
    "theory_first": (-0.3, near(2)),
    "oversight_scales": (0.5, invented),
}


class PersonaDrafter:
    """Responder for FakeChatModel (`__call__`) and FakeOpenAIServer (`http`)."""

    def __init__(self, quotes: Mapping[str, tuple[float, Quote]] | None = None) -> None:
        self.quotes = dict(DEFAULT_QUOTES if quotes is None else quotes)
        self.prompts: list[str] = []

    def reply(self, prompt: str) -> str:
        self.prompts.append(prompt)
        found = sentences(prompt) or ["Nothing in the passages was long enough to quote from."]
        draft: dict[str, Any] = {
            "agenda": "A careful empiricist who studies what trained networks compute, testing every claim "
            "about their internals against interventions before trusting it.",
            "focus": "Find which features of a small transformer carry its refusals, and break them.",
            "voice": "Plain, hedged, numbered steps; every claim with its control.",
            "beliefs": ["Internals can be read.", "Every probe needs a control."],
            "methods": ["Activation patching", "Linear probes with random baselines"],
            "would_never_propose": ["Trusting a probe without an intervention"],
            "stances": [
                {"axis": axis, "stance": stance, "quote": make(found)} for axis, (stance, make) in self.quotes.items()
            ],
        }
        return json.dumps(draft)

    def answer(self, request: ChatRequest) -> str:
        if request.schema != "PersonaDraft":
            raise UnknownSchema("PersonaDrafter", request.schema)
        return self.reply(request.prompt)

    def __call__(self, messages: list[Any], kwargs: dict[str, Any]) -> str:
        return self.answer(chat_request(messages, kwargs))

    def http(self, body: dict[str, Any]) -> str:
        return self.answer(body_request(body))
