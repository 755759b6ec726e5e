"""What a persona's replies must look like. Length limits keep small models from rambling and give
the grammar-constrained decoder a bound."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field, create_model


class IdeaDraft(BaseModel):
    title: str = Field(min_length=3, max_length=100)
    summary: str = Field(min_length=10, max_length=420)
    rationale: str = Field(default="", max_length=300)
    builds_on: list[str] = Field(default_factory=list, max_length=4)


class BabbleOutput(BaseModel):
    thinking: str = Field(default="", max_length=500)
    ideas: list[IdeaDraft] = Field(min_length=1, max_length=10)


@lru_cache(maxsize=16)
def babble_schema(k: int) -> type[BabbleOutput]:
    """BabbleOutput asking for exactly k ideas: a grammar-constrained decoder then cannot stop at one."""
    return create_model(  # type: ignore[no-any-return]
        "BabbleOutput",
        __base__=BabbleOutput,
        ideas=(list[IdeaDraft], Field(min_length=k, max_length=k)),
    )


class NotebookOutput(BaseModel):
    tried: str = Field(max_length=300)
    failed: str = Field(max_length=300)
    next: str = Field(max_length=300)

    def as_text(self) -> str:
        return f"Tried: {self.tried.strip()}\nFailed and why: {self.failed.strip()}\nNext: {self.next.strip()}"


def _max_length(model: type[BaseModel], field: str) -> int | None:
    for meta in model.model_fields[field].metadata:
        limit = getattr(meta, "max_length", None)
        if limit is not None:
            return int(limit)
    return None


def hit_length_limit(draft: IdeaDraft) -> bool:
    """A text field filled to its schema limit was most likely cut off there, mid-sentence: the
    grammar-constrained decoder closes the string at the limit whatever the sentence was doing."""
    for field in ("title", "summary", "rationale"):
        limit = _max_length(IdeaDraft, field)
        if limit and len(getattr(draft, field)) >= limit - 1:
            return True
    return False
