"""Populations: variants of one persona made by recombining its own material, with no model call.

A variant keeps who the persona is (description, writing style, corpus) and changes what it weighs:
`stances` samples and reorders its beliefs, methods and scepticisms (the first items lead its prompts)
and nudges its numeric stances; `agenda` rebuilds its focus from the focus's own parts and one of its
methods. The same parent, options and seed always give the same variants.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Sequence
from typing import Literal

from groundhog.core.errors import BadInput
from groundhog.researchers.model import STANCE_AXES, Persona

Vary = Literal["stances", "agenda", "both"]
VARY_CHOICES: tuple[str, ...] = ("stances", "agenda", "both")

_TRIES_PER_VARIANT = 50
_STANCE_NUDGE = 0.25  # standard deviation of the change to each stance axis


def slug_with_suffix(base: str, suffix: str) -> str:
    """`base` + `suffix`, `base` cut so the whole stays a valid 40-character id."""
    return base[: 40 - len(suffix)].rstrip("-") + suffix


def default_group(parent: Persona) -> str:
    return slug_with_suffix(parent.id, "-spawn")


def _sample(items: Sequence[str], rng: random.Random) -> list[str]:
    """A non-empty subset of `items` in a new order (order is weight: a prompt leads with the first)."""
    keep = rng.randint(max(1, len(items) - 2), len(items)) if len(items) > 1 else 1
    return rng.sample(list(items), keep)


def _stances(parent: Persona, rng: random.Random) -> dict[str, float]:
    nudged = {axis: parent.stance(axis) + rng.gauss(0.0, _STANCE_NUDGE) for axis in STANCE_AXES}
    return {axis: round(min(1.0, max(-1.0, value)), 2) for axis, value in nudged.items()}


def focus_parts(focus: str) -> list[str]:
    """The clauses of an agenda: split at ';', ',' and ' and '."""
    parts = [p.strip(" .") for p in re.split(r"[;,]|\band\b", focus)]
    return [p for p in parts if p]


def _lower_first(text: str) -> str:
    """'Find the flaw' -> 'find the flaw'; an acronym ('RLHF ...') stays as written."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _agenda(parent: Persona, rng: random.Random) -> str:
    parts = focus_parts(parent.focus) or [parent.focus]
    chosen = _sample(parts, rng)
    head = "; ".join([chosen[0][:1].upper() + chosen[0][1:], *map(_lower_first, chosen[1:])])
    means = rng.choice([None, *parent.methods])
    if means is None:
        return head + "."
    return f"{head}, by way of {_lower_first(means).rstrip('.')}."


def varied_fields(persona: Persona, vary: Vary) -> tuple[object, ...]:
    """The fields a variant must differ in, by the kind of variation asked for."""
    stances: tuple[object, ...] = (tuple(persona.beliefs), tuple(persona.methods), tuple(persona.skeptical_of))
    stances += (tuple(sorted((a, persona.stance(a)) for a in STANCE_AXES)),)
    agenda = (persona.focus,)
    return {"stances": stances, "agenda": agenda, "both": stances + agenda}[vary]


def spawn(
    parent: Persona,
    count: int,
    *,
    vary: Vary = "both",
    seed: int = 0,
    group: str | None = None,
    taken: Collection[str] = (),
) -> list[Persona]:
    """`count` variants of `parent`, each differing from it and from one another in the varied fields.

    Ids are `<parent>-v<n>`, skipping any in `taken`; each records `parent` and its group
    (default `<parent>-spawn`). Too few distinct variants possible is bad input, naming the limit.
    """
    if count < 1:
        raise BadInput(f"--count: must be at least 1 (got {count})")
    if vary not in VARY_CHOICES:
        raise BadInput(f"--vary: must be one of {', '.join(VARY_CHOICES)} (got {vary!r})")
    rng = random.Random(f"{parent.id}/{vary}/{seed}")
    seen = {varied_fields(parent, vary)}
    used = set(taken) | {parent.id}
    variants: list[Persona] = []
    number = 0
    for _ in range(count * _TRIES_PER_VARIANT):
        if len(variants) == count:
            break
        changes: dict[str, object] = {}
        if vary in ("stances", "both"):
            changes["beliefs"] = _sample(parent.beliefs, rng)
            changes["methods"] = _sample(parent.methods, rng)
            changes["skeptical_of"] = _sample(parent.skeptical_of, rng)
            changes["stances"] = _stances(parent, rng)
        if vary in ("agenda", "both"):
            changes["focus"] = _agenda(parent, rng)
        candidate = parent.model_copy(update=changes)
        key = varied_fields(candidate, vary)
        if key in seen:
            continue
        seen.add(key)
        number += 1
        while slug_with_suffix(parent.id, f"-v{number}") in used:
            number += 1
        new_id = slug_with_suffix(parent.id, f"-v{number}")
        used.add(new_id)
        data = candidate.model_dump()
        folder = parent.corpus_dir()
        data.update(
            id=new_id,
            name=f"{parent.name} (v{number})",
            parent=parent.id,
            group=group or default_group(parent),
            corpus=str(folder) if folder else None,
        )
        variants.append(Persona.model_validate(data))
    if len(variants) < count:
        noun = "variant" if len(variants) == 1 else "variants"
        raise BadInput(
            f"--count: only {len(variants)} distinct {noun} of '{parent.id}' with --vary {vary} "
            f"(asked for {count}); try --vary both"
        )
    return variants
