"""Progress events out of the loop. The loop emits; the CLI decides how to draw them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from groundhog.core.records import utcnow

EventType = Literal[
    "session_started",
    "day_started",
    "step",
    "day_finished",
    "day_failed",
    "persona_stopped",
    "persona_paused",  # paused for review (or still waiting for one at a resume)
    "review_done",  # at a resume: every idea queued up to the pause is decided; a new epoch starts
    "resumed_without_review",  # at a resume with --no-wait: the pause was not reviewed
    "retry",
    "session_finished",
]


class Event(BaseModel):
    type: EventType
    session: str
    persona: str | None = None
    day: int | None = None
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    at: datetime = Field(default_factory=utcnow)


EventSink = Callable[[Event], None]


def ignore(_: Event) -> None:
    """The default sink: progress is optional."""


class JsonlSink:
    """Appends every event to a session log file in the home, one JSON line each, flushed at once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        self._fh.write(event.model_dump_json() + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
