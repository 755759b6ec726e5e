"""`personas draft`: a persona file drafted by the chat model from a researcher's own writings.

The model reads the writings' most characteristic passages (researchers/writings.py), as many as its
context window holds, and answers in a schema (grammar-bound on the embedded model, as every other call
is). Its answer is untrusted: each stance's quote is looked for in the writings (researchers/quotes.py),
kept in the writings' own words, repaired to them, or dropped with its stance. The persona is then
validated like any persona file, and written as TOML with each stance's evidence as a comment above it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator

from groundhog.core.errors import BadInput, StructuredOutputError
from groundhog.core.interfaces import Embedder
from groundhog.core.records import Usage
from groundhog.core.text import safe_text
from groundhog.providers.client import ModelClient
from groundhog.researchers.model import STANCE_LABELS, Persona, StanceAxis
from groundhog.researchers.personas import describe_problem, persona_to_toml
from groundhog.researchers.prompts import render_plain
from groundhog.researchers.quotes import QuoteFinder
from groundhog.researchers.writings import Passage, Writings, characteristic, passages_of

CHARS_PER_TOKEN = 4  # budgeting estimate for English text (no tokenizer for endpoints)
PROMPT_TOKENS = 700  # the prompt's own words, around the passages
REPLY_TOKENS = {"bounded": 1000, "endpoint": 4000}  # room for the draft: at its limits, or at length
MAX_DESCRIPTION = 1500  # the persona schema's limit
# The embedded model's grammar is bounded like its other replies: each field has a hard length.
BOUNDED = {"agenda": 400, "focus": 150, "voice": 150, "item": 120, "quote": 200, "items": 3}


class StanceQuote(BaseModel):
    axis: StanceAxis
    stance: float = Field(ge=-1.0, le=1.0)
    quote: str = Field(min_length=8)

    @field_validator("stance", mode="before")
    @classmethod
    def _within_the_scale(cls, value: object) -> object:
        """A grammar-bound model writes any number where the schema asks for one in [-1, 1]: the bounds
        stay in the schema the model is shown, and a number past them is read as the end it passed."""
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return max(-1.0, min(1.0, float(value)))
        return value


class PersonaDraft(BaseModel):
    """What the model is asked for; `persona_from` maps it onto the persona schema."""

    agenda: str = Field(min_length=40)
    focus: str = Field(min_length=10)
    voice: str = Field(min_length=10)
    beliefs: list[str] = Field(min_length=1)
    methods: list[str] = Field(min_length=1)
    would_never_propose: list[str] = Field(min_length=1)
    stances: list[StanceQuote] = Field(default_factory=list)


@lru_cache(maxsize=2)
def draft_schema(bounded: bool) -> type[PersonaDraft]:
    """The draft schema; bounded, every string and list has the hard limit a grammar needs."""
    if not bounded:
        return PersonaDraft
    b = BOUNDED
    item = Annotated[str, Field(min_length=1, max_length=b["item"])]
    quote = create_model("StanceQuote", __base__=StanceQuote, quote=(str, Field(min_length=8, max_length=b["quote"])))
    lists: dict[str, Any] = {
        name: (list[item], Field(min_length=1, max_length=b["items"]))  # type: ignore[valid-type]
        for name in ("beliefs", "methods", "would_never_propose")
    }
    return create_model(  # type: ignore[no-any-return]
        "PersonaDraft",
        __base__=PersonaDraft,
        agenda=(str, Field(min_length=40, max_length=b["agenda"])),
        focus=(str, Field(min_length=10, max_length=b["focus"])),
        voice=(str, Field(min_length=10, max_length=b["voice"])),
        stances=(list[quote], Field(default_factory=list, max_length=len(STANCE_LABELS))),  # type: ignore[valid-type]
        **lists,
    )


@dataclass(frozen=True)
class Evidence:
    axis: str
    stance: float
    quote: str  # the writings' own words
    source: str
    status: str  # "verbatim" or "repaired"
    similarity: float
    given: str = ""  # what the model wrote, when it was repaired


@dataclass
class Drafted:
    persona: Persona
    evidence: list[Evidence]
    dropped: list[tuple[str, str]]  # (axis, the quote the writings do not hold)
    passages: list[Passage]
    usage: Usage = field(default_factory=Usage)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def _items(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in (one_line(x) for x in values) if v))


def _description(text: str) -> str:
    text = one_line(text)
    if len(text) <= MAX_DESCRIPTION:
        return text
    cut = text[:MAX_DESCRIPTION].rsplit(" ", 1)[0]
    return cut.rsplit(". ", 1)[0] + "." if ". " in cut else cut


def check_quotes(draft: PersonaDraft, finder: QuoteFinder) -> tuple[list[Evidence], list[tuple[str, str]]]:
    """Each stance's quote found in the writings (verbatim or repaired), or dropped; one per axis."""
    kept: list[Evidence] = []
    dropped: list[tuple[str, str]] = []
    for s in draft.stances:
        if any(e.axis == s.axis for e in kept):
            continue
        found = finder.find(s.quote)
        if found is None:
            dropped.append((s.axis, one_line(s.quote)))
            continue
        given = "" if found.status == "verbatim" else one_line(s.quote)
        kept.append(Evidence(s.axis, s.stance, found.text, found.source, found.status, found.similarity, given))
    return kept, dropped


def persona_from(draft: PersonaDraft, *, persona_id: str, name: str, evidence: list[Evidence], corpus: str) -> Persona:
    """The draft on the persona schema; a field the draft cannot fill is BadInput naming it."""
    data = {
        "id": persona_id,
        "name": name,
        "description": _description(draft.agenda),
        "beliefs": _items(draft.beliefs),
        "methods": _items(draft.methods),
        "skeptical_of": _items(draft.would_never_propose),
        "writing_style": one_line(draft.voice),
        "focus": one_line(draft.focus),
        "stances": {e.axis: round(float(e.stance), 2) for e in evidence},
        "corpus": corpus,
    }
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(describe_problem(error) for error in exc.errors(include_url=False))
        raise BadInput(f"the model's draft is not a valid persona: {problems}") from exc


def axes_text() -> str:
    return "\n".join(f"  {axis}: {label}" for axis, label in STANCE_LABELS.items())


def budget_chars(model: ModelClient) -> int:
    """Characters of passages that fit the model's window beside the prompt and the reply."""
    reply = REPLY_TOKENS["bounded" if model.limits is not None else "endpoint"]
    return max(1000, (model.context_window - reply - PROMPT_TOKENS) * CHARS_PER_TOKEN)


def reply_tokens(model: ModelClient) -> int:
    return max(model.max_tokens, REPLY_TOKENS["bounded" if model.limits is not None else "endpoint"])


def draft_persona(
    *,
    persona_id: str,
    name: str,
    writings: Writings,
    model: ModelClient,
    embedder: Embedder,
    say: Callable[[str], None] = lambda line: None,
) -> Drafted:
    """Read, pick the passages, ask the model, check its quotes, validate: the drafted persona."""
    pairs = passages_of(writings)
    say(f"read {len(writings.documents)} writings ({len(pairs)} passages) from {writings.folder}; ranking the passages")
    budget = budget_chars(model)
    passages = characteristic(pairs, embedder, budget)
    used = sum(len(p.text) for p in passages)
    say(f"the {len(passages)} most characteristic passages fit the model's window (~{used // CHARS_PER_TOKEN} tokens)")
    shown = "\n\n".join(f"[{p.source}]\n{p.text}" for p in passages)
    docs = f"{len(writings.documents)} file{'s' if len(writings.documents) != 1 else ''}"
    messages = render_plain("draft", researcher=name, documents=docs, passages=shown, axes=axes_text())
    say(f"asking {model.name} for a draft")
    try:
        reply = model.structured(messages, draft_schema(model.limits is not None), max_tokens=reply_tokens(model))
    except StructuredOutputError as exc:
        raise StructuredOutputError(f"no persona drafted: {exc}", usage=exc.usage) from exc
    finder = QuoteFinder([(w.source, w.text) for w in writings.documents])
    evidence, dropped = check_quotes(reply.value, finder)
    persona = persona_from(
        reply.value, persona_id=persona_id, name=name, evidence=evidence, corpus=str(writings.folder)
    )
    return Drafted(persona=persona, evidence=evidence, dropped=dropped, passages=passages, usage=reply.usage)


def _comment(text: str) -> str:
    return safe_text(text, one_line=True)


def draft_toml(drafted: Drafted, *, model_name: str) -> str:
    """The persona file: `persona_to_toml`'s fields, a header, and each stance's evidence above it."""
    by_axis = {e.axis: e for e in drafted.evidence}
    folder = drafted.persona.corpus or ""
    lines = [
        f"# Drafted by {_comment(model_name)} from the writings in {_comment(folder)}.",
        "# Edit freely; `groundhog personas check FILE` validates it, `groundhog personas add FILE` installs it.",
        "",
    ]
    for line in persona_to_toml(drafted.persona).splitlines():
        axis = line.split(" = ", 1)[0]
        if axis in by_axis:
            e = by_axis[axis]
            how = "" if e.status == "verbatim" else f', repaired from the draft\'s "{_comment(e.given)}"'
            lines.append(f'# evidence ({_comment(e.source)}{how}): "{_comment(e.quote)}"')
        lines.append(line)
    for axis, quote in drafted.dropped:
        lines.append(f'# {axis}: left out; the draft\'s quote is not in the writings: "{_comment(quote)}"')
    return "\n".join(lines) + "\n"
