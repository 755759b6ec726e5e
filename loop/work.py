"""What a persona-day needs besides its plan, built the same way wherever the day runs: the critique stage
for its author, and the newest notebook and feedback ids (read from SQLite on the driver, which keeps every
SQLite read and write, and handed to a worker that has no database). Also the seam through which the
session runner hands its days to another executor (`loop.cluster.RayDays`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from groundhog.critique.critic import Thresholds
from groundhog.critique.screens import TextScreens
from groundhog.critique.stage import CritiqueStage, nearest_ideas, nearest_ideas_many
from groundhog.loop.wake import wake_reach
from groundhog.memory.store import LogStore
from groundhog.providers.client import ModelClient
from groundhog.researchers.personas import Persona, most_different

if TYPE_CHECKING:
    from groundhog.core.interfaces import Embedder, PriorArtLookup
    from groundhog.loop.day import DayPlan, DayResult, DayRunner
    from groundhog.store.recent import RecentIndex
    from groundhog.store.sessions import SessionConfig

REACH_MAX = wake_reach(10**9)  # the most newest-ids a wake-up ever asks for
DAYS_PER_CALL = 2  # persona-days in flight per model call in flight


def day_slots(concurrency: int) -> int:
    """How many persona-days run at once. A day holds its wake-up context, prompts and results while it
    waits for a model call; with every persona's day started at once, a night of thousands would hold
    them all. Twice the calls in flight keeps the calls busy (a day spends part of its time on the
    embedder and the stores) while memory follows the concurrency, not the size of the population."""
    return DAYS_PER_CALL * concurrency


class DayExecutor(Protocol):
    """Runs a persona-day somewhere else and returns its result, its entries already in the log. `runner`
    is the day runner the session would have used in-process: its settings are the day's settings."""

    joined: str  # where the days go, in words

    async def run(self, plan: DayPlan, runner: DayRunner) -> DayResult: ...

    def close(self) -> None: ...


def cross_critic_for(name: str | None, author: Persona, all_personas: Sequence[Persona]) -> Persona | None:
    """The second critic: a persona id, or "auto" (the persona whose stances differ most), or none."""
    if not name:
        return None
    if name == "auto":
        return most_different(author, [p for p in all_personas if p.id != author.id])
    return next((p for p in all_personas if p.id == name), None)


def build_stage(
    config: SessionConfig,
    cross_critic: Persona | None,
    *,
    log: LogStore,
    embedder: Embedder,
    babble_model: ModelClient,
    critic_model: ModelClient,
    screens: TextScreens,
    limit: asyncio.Semaphore,
) -> CritiqueStage:
    """The critique stage of one author's day, as the session's config sets it."""
    return CritiqueStage(
        embedder=embedder,
        nearest=lambda vector: nearest_ideas(log, vector),
        nearest_many=lambda vectors: nearest_ideas_many(log, vectors),
        critic_model=critic_model,
        author_model=babble_model,
        thresholds=Thresholds.model_validate(config.thresholds),
        revisions=config.revisions,
        cross_critic=cross_critic,
        duplicate_threshold=config.duplicate_threshold,
        screens=screens,
        limit=limit,
        judge_manipulation=config.critic_judges_manipulation,
        prior_art=prior_art_for(log),
    )


def prior_art_for(log: LogStore) -> PriorArtLookup | None:
    """The library beside the log, when the log has one (a test's stand-in log may not)."""
    if getattr(log, "client", None) is None:
        return None
    from groundhog.library.store import library_beside

    return library_beside(log)


@dataclass(frozen=True)
class NewestSnapshot:
    """A `RecentIndex` read ahead on the driver for one persona's next day: the newest notebook and
    feedback ids, as many as any wake-up asks for, answered to a worker's day runner by slicing."""

    persona: str
    notebook: list[str]
    feedback: list[str]
    work: list[str] | None = None

    @classmethod
    def take(cls, recent: RecentIndex, persona: str, *, shared_feedback: bool) -> NewestSnapshot:
        return cls(
            persona, *recent.newest(persona, REACH_MAX, None if shared_feedback else persona, REACH_MAX, REACH_MAX)
        )

    def newest(
        self, persona: str, notes: int, feedback_of: str | None, feedback: int, work: int
    ) -> tuple[list[str], list[str], list[str] | None]:
        return self.notebook_ids(persona, notes), self.feedback_ids(feedback_of, feedback), self.work_ids(persona, work)

    def notebook_ids(self, persona: str, limit: int) -> list[str]:
        assert persona == self.persona, "a snapshot answers for its own persona only"
        return self.notebook[:limit]

    def feedback_ids(self, persona: str | None, limit: int) -> list[str]:
        return self.feedback[:limit]

    def work_ids(self, persona: str, limit: int) -> list[str] | None:
        assert persona == self.persona, "a snapshot answers for its own persona only"
        return self.work  # all that any wake-up asks for (REACH_MAX): retrieve keeps the newest it needs
