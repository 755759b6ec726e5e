"""The queue by distance to the literature: `literature_novelty` is 1 - the cosine similarity of an idea
to its nearest library paper (NULL when there was no library)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement

from groundhog.core.errors import BadInput
from groundhog.store.schema import queue

LiteratureSort = Literal["rank", "near", "far"]
SORTS: tuple[str, ...] = ("rank", "near", "far")


@dataclass(frozen=True)
class LiteratureView:
    """Keep items whose distance lies in [min_distance, max_distance]; sort `near` (closest to a paper
    first), `far` (farthest first) or `rank` (the usual order). Items without a distance sort last and
    are left out by either bound."""

    sort: str = "rank"
    min_distance: float | None = None
    max_distance: float | None = None

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise BadInput(f"--sort: unknown order {self.sort!r}; use one of {', '.join(SORTS)}")
        for name, value in (
            ("--min-literature-distance", self.min_distance),
            ("--max-literature-distance", self.max_distance),
        ):
            if value is not None and not 0.0 <= value <= 1.0:
                raise BadInput(f"{name}: {value} is not between 0 and 1")

    def clauses(self) -> list[ColumnElement[bool]]:
        col = queue.c.literature_novelty
        out: list[ColumnElement[bool]] = []
        if self.min_distance is not None:
            out.append(col >= self.min_distance)
        if self.max_distance is not None:
            out.append(col <= self.max_distance)
        return out

    def order(self, default: Sequence[Any]) -> list[Any]:
        col = queue.c.literature_novelty
        if self.sort == "near":
            return [col.is_(None), col.asc(), *default]
        if self.sort == "far":
            return [col.is_(None), col.desc(), *default]
        return list(default)
