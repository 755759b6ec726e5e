"""Protocols at the seams where dependencies are injected (tests pass fakes through these)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors. `name` identifies the model, so a store never mixes two."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class PriorArtLookup(Protocol):
    """The library's nearest papers to each vector (`core.records.PriorArt`, best first); an empty list for
    each when the library is empty. The critique stage asks it; the library answers."""

    def nearest_many(self, vectors: Sequence[Sequence[float]]) -> list[list[Any]]: ...
