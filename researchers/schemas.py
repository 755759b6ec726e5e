"""What a persona's replies must look like.

The base models carry no length limits: an endpoint model is asked for lengths in the prompt, and
whatever it writes is kept whole. A grammar-constrained model (the embedded one) gets the same models
with hard `maxLength`s from its settings (`OutputLimits`), which bound its decoder and keep it from
rambling until its token limit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from groundhog.core.settings import OutputLimits


class IdeaDraft(BaseModel):
    title: str = Field(min_length=3)
    summary: str = Field(min_length=10)
    rationale: str = ""
    builds_on: list[str] = Field(default_factory=list)


class BabbleOutput(BaseModel):
    thinking: str = ""
    ideas: list[IdeaDraft] = Field(min_length=1)


class NotebookOutput(BaseModel):
    tried: str
    failed: str
    next: str
    question: str = ""  # optional: one question for the real researcher (the human reviewer)

    def as_text(self) -> str:
        text = f"Tried: {self.tried.strip()}\nFailed and why: {self.failed.strip()}\nNext: {self.next.strip()}"
        if self.asked:
            text += f"\nAsked the researcher: {self.asked}"
        return text

    @property
    def asked(self) -> str:
        """The question, or "" when there is none (a model may write "none" or "n/a" for none)."""
        text = " ".join(self.question.split())
        return "" if text.strip(" .").lower() in ("", "none", "n/a", "na", "no question", "-") else text


class PairwiseOutput(BaseModel):
    """The critic's comparison of two ideas: the comparison first, so the choice follows from it."""

    comparison: str = Field(min_length=1)
    better: Literal["A", "B"]


def bounded(model: type[BaseModel], limits: dict[str, int], **fields: Any) -> Any:
    """`model` with a `maxLength` on each named string field (and any field replaced by `fields`)."""
    spec: dict[str, Any] = dict(fields)
    for name, limit in limits.items():
        info = model.model_fields[name]
        low = next((m.min_length for m in info.metadata if getattr(m, "min_length", None)), None)
        spec[name] = (str, Field(default=info.default, max_length=limit, min_length=low))
    return create_model(model.__name__, __base__=model, **spec)


@lru_cache(maxsize=32)
def idea_schema(limits: OutputLimits | None) -> type[IdeaDraft]:
    if limits is None:
        return IdeaDraft
    return bounded(  # type: ignore[no-any-return]
        IdeaDraft,
        {"title": limits.title, "summary": limits.summary, "rationale": limits.rationale},
        builds_on=(list[str], Field(default_factory=list, max_length=4)),
    )


@lru_cache(maxsize=32)
def babble_schema(k: int, limits: OutputLimits | None) -> type[BabbleOutput]:
    """BabbleOutput asking for exactly k ideas: a grammar-constrained decoder then cannot stop at one."""
    ideas = (list[idea_schema(limits)], Field(min_length=k, max_length=k))  # type: ignore[misc]
    if limits is None:
        return create_model("BabbleOutput", __base__=BabbleOutput, ideas=ideas)  # type: ignore[no-any-return,arg-type]
    return bounded(BabbleOutput, {"thinking": limits.thinking}, ideas=ideas)  # type: ignore[no-any-return]


@lru_cache(maxsize=32)
def notebook_schema(limits: OutputLimits | None) -> type[NotebookOutput]:
    if limits is None:
        return NotebookOutput
    return bounded(NotebookOutput, dict.fromkeys(("tried", "failed", "next", "question"), limits.note))  # type: ignore[no-any-return]


@lru_cache(maxsize=32)
def pairwise_schema(limits: OutputLimits | None) -> type[PairwiseOutput]:
    if limits is None:
        return PairwiseOutput
    return bounded(PairwiseOutput, {"comparison": limits.reasoning})  # type: ignore[no-any-return]


def hit_length_limit(draft: IdeaDraft, limits: OutputLimits | None) -> bool:
    """A text field filled to its schema limit was most likely cut off there, mid-sentence: the
    grammar-constrained decoder closes the string at the limit whatever the sentence was doing."""
    if limits is None:
        return False
    caps = {"title": limits.title, "summary": limits.summary, "rationale": limits.rationale}
    return any(len(getattr(draft, field)) >= cap - 1 for field, cap in caps.items())
