"""The persona record and its stances: who a simulated researcher is, as data."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, field_validator

from groundhog.core.errors import BadInput

StanceAxis = Literal[
    "p_doom",
    "prosaic_methods_work",
    "theory_first",
    "interpretability_promise",
    "oversight_scales",
    "control_over_alignment",
]

STANCE_AXES: tuple[str, ...] = get_args(StanceAxis)
"""Axes a persona takes a stance on, each from -1 (strongly disagrees) to 1 (strongly agrees)."""

STANCE_LABELS: dict[str, str] = {
    "p_doom": "things go catastrophically wrong by default",
    "prosaic_methods_work": "today's training methods (RLHF, constitutions) scale into alignment",
    "theory_first": "a theory of agents and abstractions must come before trusting experiments",
    "interpretability_promise": "we can understand what a network computes from its internals",
    "oversight_scales": "human oversight can be amplified to supervise systems smarter than the overseer",
    "control_over_alignment": "safeguards that assume a misaligned model matter more than aligning it",
}
"""What agreeing with each axis means, in words a prompt or a listing can show."""

PERSONA_SUFFIXES: tuple[str, ...] = (".toml", ".yaml", ".yml")
CORPUS_SUFFIXES: tuple[str, ...] = (".md", ".markdown", ".txt", ".pdf")  # PDF: its text layer, by pypdf
ID_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"

SLUG_RULE = "a slug of 2-40 lowercase letters, digits and '-', starting with a letter"


def check_slug(value: str, what: str) -> str:
    """`value` when it is a valid persona or group id; else BadInput naming `what` (an option)."""
    if not re.fullmatch(ID_PATTERN, value):
        raise BadInput(f"{what}: must be {SLUG_RULE} (got {value!r})")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Stance = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]


class Persona(BaseModel):
    """A simulated researcher: who they are, what they believe, how they write, what they pursue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    name: Text
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=40, max_length=1500)]
    beliefs: list[Text] = Field(min_length=1)
    methods: list[Text] = Field(min_length=1)
    skeptical_of: list[Text] = Field(min_length=1)
    writing_style: Text
    stances: dict[StanceAxis, Stance] = Field(default_factory=dict)
    corpus: str | None = None
    focus: Text
    parent: str | None = Field(default=None, pattern=ID_PATTERN)
    group: str | None = Field(default=None, pattern=ID_PATTERN)

    _source_path: Path | None = PrivateAttr(default=None)

    @field_validator("focus")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value:
            raise ValueError("must be a single line")
        return value

    @field_validator("description")
    @classmethod
    def _one_paragraph(cls, value: str) -> str:
        if re.search(r"\n\s*\n", value):
            raise ValueError("must be a single paragraph (no blank lines)")
        return value

    @field_validator("corpus")
    @classmethod
    def _corpus_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must name a folder, or be left out")
        return value

    @property
    def source_path(self) -> Path | None:
        """The file this persona was loaded from; relative corpus paths resolve against its folder."""
        return self._source_path

    def corpus_dir(self) -> Path | None:
        """The absolute corpus folder, or None when the persona has no grounding writings."""
        if self.corpus is None:
            return None
        folder = Path(self.corpus).expanduser()
        if not folder.is_absolute():
            base = self._source_path.parent if self._source_path else Path.cwd()
            folder = base / folder
        return folder.resolve()

    def stance(self, axis: str) -> float:
        """The stance on one axis; an axis the persona leaves out counts as neutral (0)."""
        return self.stances.get(axis, 0.0)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Installed:
    """What `PersonaRegistry.add` did: the persona, where it was written, and what it displaced."""

    persona: Persona
    path: Path
    replaced: bool  # an earlier user persona with this id was overwritten
    overrides_builtin: bool  # a built-in persona with this id is now hidden by the user's


# ---------------------------------------------------------------- stances


def stance_distance(a: Persona, b: Persona) -> float:
    """Euclidean distance between two personas' stances; a missing axis is neutral."""
    return math.sqrt(sum((a.stance(axis) - b.stance(axis)) ** 2 for axis in STANCE_AXES))


def most_different(persona: Persona, others: Iterable[Persona]) -> Persona:
    """The persona whose stances differ most, so a cross-critic attacks from the far side.

    Ties go to the smallest id, so the choice is the same every run.
    """
    candidates = sorted((p for p in others if p.id != persona.id), key=lambda p: p.id)
    if not candidates:
        raise BadInput(f"no persona other than '{persona.id}' to critique it")
    return max(candidates, key=lambda p: stance_distance(persona, p))
