"""Selection bits per review epoch, for `groundhog tune`: how hard each stretch between two reviews
selected against the critic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, field_serializer

from groundhog.core.records import selection_bits
from groundhog.store.sessions import bits_json


class EpochBits(BaseModel):
    """The selection bits of one review epoch of a persona: its days between two reviews."""

    epoch: int
    days: list[int]
    generated: int = 0
    drafts: int = 0
    surviving: int = 0
    selection_bits: float = 0.0

    @field_serializer("selection_bits")
    def _bits(self, value: float) -> float | str:
        return bits_json(value)


def epoch_bits(days: Sequence[Any]) -> list[EpochBits]:
    """Selection bits per review epoch from `tune` day stats (anything with epoch, day, status and counts)."""
    out: dict[int, EpochBits] = {}
    for d in days:
        if d.epoch is None:
            continue
        e = out.setdefault(d.epoch, EpochBits(epoch=d.epoch, days=[]))
        if d.status == "done":
            e.days.append(d.day)
        e.generated += d.generated
        e.drafts += d.drafts
        e.surviving += d.surviving
    for e in out.values():
        e.selection_bits = selection_bits(e.drafts, e.surviving)
    return [out[k] for k in sorted(out)]
