"""Named prompts, kept as data in prompts.toml, rendered with a persona and a day's facts."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from groundhog.providers.client import Message
from groundhog.researchers.personas import Persona

PROMPTS_FILE = Path(__file__).with_name("prompts.toml")


@lru_cache(maxsize=1)
def prompts() -> dict[str, dict[str, str]]:
    with PROMPTS_FILE.open("rb") as fh:
        return tomllib.load(fh)


def persona_fields(persona: Persona) -> dict[str, str]:
    return {
        "name": persona.name,
        "description": persona.description,
        "beliefs": " ".join(persona.beliefs),
        "methods": "; ".join(persona.methods),
        "skeptical_of": "; ".join(persona.skeptical_of),
        "writing_style": persona.writing_style,
        "focus": persona.focus,
    }


def render(name: str, persona: Persona, **values: Any) -> list[Message]:
    """The messages of prompt `name` in `persona`'s voice. A prompt without its own system part
    uses the persona's wake-up frame."""
    spec = prompts()[name]
    fields = {**persona_fields(persona), **{k: str(v) for k, v in values.items()}}
    system = spec.get("system") or prompts()["frame"]["system"]
    messages: list[Message] = [("system", system.format(**fields))]
    if "user" in spec:
        messages.append(("user", spec["user"].format(**fields)))
    return messages


def render_plain(name: str, **values: Any) -> list[Message]:
    """The messages of prompt `name`, which speaks in no persona's voice (it has its own system part)."""
    spec = prompts()[name]
    fields = {k: str(v) for k, v in values.items()}
    messages: list[Message] = [("system", spec["system"].format(**fields))]
    if "user" in spec:
        messages.append(("user", spec["user"].format(**fields)))
    return messages
