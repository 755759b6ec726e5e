"""Typed records passed between stages. Nothing here imports a heavy library."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EntryKind = Literal["notebook", "idea", "critique", "feedback", "corpus"]
ENTRY_KINDS: tuple[str, ...] = ("notebook", "idea", "critique", "feedback", "corpus")

FlagName = Literal["degenerate", "duplicate", "manipulation", "weird", "prior_art"]
FLAG_NAMES: tuple[str, ...] = ("degenerate", "duplicate", "manipulation", "weird", "prior_art")

Verdict = Literal["pass", "fail", "unjudged"]  # unjudged: the critic's reply could not be read
QueueStatus = Literal["pending", "accepted", "rejected", "deferred"]
QUEUE_STATUSES: tuple[str, ...] = ("pending", "accepted", "rejected", "deferred")
# survivor: passed the critique; audit: a sample of the ideas the critic rejected, queued to measure it
Origin = Literal["survivor", "audit"]

MetaValue = str | int | float | bool


def utcnow() -> datetime:
    return datetime.now(UTC)


def stable_id(*parts: object) -> str:
    """A short deterministic id from its parts, so a redone day writes the same ids again."""
    raw = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class Usage(BaseModel):
    """Token counts of one or more model calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            calls=self.calls + other.calls,
        )


class LogEntry(BaseModel):
    """One entry of the written log: the only memory a persona has between days."""

    id: str
    persona: str
    session: str = ""
    day: int = 0
    kind: EntryKind
    text: str
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    created_at: datetime = Field(default_factory=utcnow)
    present: date | None = None
    meta: dict[str, MetaValue] = Field(default_factory=dict)


class ScoredEntry(BaseModel):
    """A log entry with the parts of its retrieval score."""

    entry: LogEntry
    relevance: float = 0.0
    recency: float = 0.0
    importance: float = 0.0
    score: float = 0.0


class Parent(BaseModel):
    """An idea of another persona that an idea combines or refines (read at a seminar), and its author.
    Not `Idea.parent_id`, which names the first version of a revised idea."""

    id: str
    persona: str
    title: str = ""


class Idea(BaseModel):
    """An idea as babbled by a persona (or read from a JSONL file by `groundhog critique`)."""

    id: str
    title: str
    summary: str
    rationale: str = ""
    builds_on: list[str] = Field(default_factory=list)
    persona: str = ""
    session: str = ""
    day: int = 0
    present: date | None = None
    revision: int = 0
    parent_id: str | None = None
    parents: list[Parent] = Field(default_factory=list)  # other personas' queued ideas among `builds_on`

    @property
    def text(self) -> str:
        parts = [self.title.strip(), self.summary.strip(), self.rationale.strip()]
        return "\n\n".join(p for p in parts if p)


class Flag(BaseModel):
    """A screen's finding: which screen, and why, in words a human can read."""

    name: FlagName
    reason: str
    ref: str | None = None  # e.g. the id of the earlier idea a duplicate copies


class PriorArt(BaseModel):
    """A library passage near an idea: the paper it is from and how close it comes. `above` says the
    similarity reached the calibrated bar of the embedder (the critic is then asked whether it is done)."""

    paper_id: str
    title: str
    year: int | None = None
    url: str = ""
    similarity: float
    passage: str = ""
    above: bool = False


class Scores(BaseModel):
    """The critic's rubric, 1-10 each."""

    novelty: int = Field(ge=1, le=10)
    feasibility: int = Field(ge=1, le=10)
    relevance: int = Field(ge=1, le=10)
    clarity: int = Field(ge=1, le=10)

    @property
    def mean(self) -> float:
        return (self.novelty + self.feasibility + self.relevance + self.clarity) / 4

    def describe(self) -> str:
        return (
            f"novelty {self.novelty}, feasibility {self.feasibility}, relevance {self.relevance}, "
            f"clarity {self.clarity}"
        )


class CritiqueResult(BaseModel):
    """What the critique stage decided about one idea (one version of it)."""

    idea_id: str
    verdict: Verdict
    flags: list[Flag] = Field(default_factory=list)
    scores: Scores | None = None
    reasoning: str = ""
    weakest_point: str = ""
    # The critic's answer to the manipulation question (True fails the idea as manipulation); None when it
    # was not asked (the embedded model, a screened idea).
    manipulative: bool | None = None
    critic: str = ""  # persona id whose voice the critic used
    cross: list[CritiqueResult] = Field(default_factory=list)
    prior_art: list[PriorArt] = Field(default_factory=list)  # the nearest papers of the library, best first

    @property
    def literature_similarity(self) -> float | None:
        """Cosine similarity to the nearest library passage; None without a library."""
        return max((p.similarity for p in self.prior_art), default=None)

    model_config = ConfigDict(arbitrary_types_allowed=False)


def selection_bits(generated: int, surviving: int) -> float:
    """log2(generated / surviving): how hard the critic selected. Infinite when nothing survived."""
    if generated <= 0:
        return 0.0
    if surviving <= 0:
        return math.inf
    return math.log2(generated / surviving)


def today() -> date:
    return utcnow().date()


DecisionStatus = Literal["accepted", "rejected", "deferred"]


class Decision(BaseModel):
    """One reviewer's decision on a queued idea; a reviewer has at most one per idea (the latest)."""

    reviewer: str
    status: DecisionStatus
    note: str = ""
    decided_at: datetime


class QueueItem(BaseModel):
    """An idea that survived the critique, waiting for (or carrying) a human decision.

    `status`, `note` and `decided_at` are the latest decision, whoever made it; `decisions` holds every
    reviewer's own, oldest first."""

    idea: Idea
    critique: CritiqueResult
    rank_score: float = 0.0  # best first: combines the rubric and novelty
    novelty: float = 0.0  # 0..1, distance to the nearest earlier idea
    status: QueueStatus = "pending"
    note: str = ""
    queued_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    origin: Origin = "survivor"  # shown to the reviewer only once decided
    rating: float | None = None  # tournament rating (Elo-scale points), when the idea has played
    rating_sigma: float | None = None  # its standard error
    matches: int = 0  # pairwise judgements the rating rests on
    decisions: list[Decision] = Field(default_factory=list)  # one per reviewer, oldest first

    @property
    def literature_novelty(self) -> float | None:
        """0..1, distance to the nearest paper of the library (None without one): beside `novelty`."""
        sim = self.critique.literature_similarity
        return None if sim is None else max(0.0, min(1.0, 1.0 - sim))

    @property
    def id(self) -> str:
        return self.idea.id

    @property
    def reviewer(self) -> str | None:
        """Who made the latest decision (the one `status` shows); None while pending."""
        if self.status == "pending" or not self.decisions:
            return None
        latest = [d for d in self.decisions if d.decided_at == self.decided_at]  # two at one instant: the last
        return (latest or self.decisions)[-1].reviewer

    def decision_of(self, reviewer: str) -> Decision | None:
        return next((d for d in self.decisions if d.reviewer == reviewer), None)

    @property
    def decided(self) -> bool:
        """Accepted or rejected: a final decision (deferred is not one)."""
        return self.status in ("accepted", "rejected")
