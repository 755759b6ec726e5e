"""What `groundhog tune` reports (`--json` prints these): per persona and day, the totals, the
recommended depth, and a sweep's comparison of fresh sessions at several depths."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_serializer

from groundhog.store.sessions import bits_json
from groundhog.tune.epochs import EpochBits

DEFAULT_PLATEAU_FRACTION = 0.25
DEFAULT_MAX_DRIFT = 0.15

Cause = Literal["plateau", "drift", "none", "no-survivors", "no-data"]


def rounded(value: float | None, digits: int = 4) -> float | None:
    """Rounded for the report; + 0.0 turns a rounded -0.0 into 0.0."""
    return None if value is None else round(float(value), digits) + 0.0


# -- records ------------------------------------------------------------------------------------


class TuneOptions(BaseModel):
    """When more days stop paying: the plateau fraction and the drift bound."""

    plateau_fraction: float = Field(default=DEFAULT_PLATEAU_FRACTION, gt=0, le=1)
    max_drift: float = Field(default=DEFAULT_MAX_DRIFT, gt=0, le=2)


class DayStats(BaseModel):
    """One day of one persona (or, with persona "*", of every persona together)."""

    persona: str
    day: int
    status: Literal["done", "failed"] = "done"
    epoch: int | None = None  # the review epoch the day ran in (None for the pooled rows)
    generated: int = 0
    drafts: int = 0  # every version the critic saw: an idea revised twice counts 3
    unique: int = 0  # not flagged `duplicate`
    surviving: int = 0  # passed the screens and the critic
    unique_surviving: int = 0
    accepted: int = 0  # human decisions on this day's survivors
    rejected: int = 0
    tokens: int = 0
    survivors_per_1k_tokens: float | None = None  # the marginal yield of this extra day
    novelty: float | None = None  # mean distance of the day's ideas to the nearest earlier idea
    literature_novelty: float | None = None  # mean distance of the day's ideas to the nearest library paper
    drift_from_grounding: float | None = None  # 1 - cos(day output, grounding centroid)
    drift_from_day1: float | None = None  # 1 - cos(day output, day-1 output)
    drift_rise: float | None = None  # drift_from_grounding minus day 1's: what the bound applies to
    in_character: float | None = None  # cos to own grounding minus max cos to any other persona's
    flags: dict[str, int] = Field(default_factory=dict)
    flag_rates: dict[str, float] = Field(default_factory=dict)
    cumulative_bits: float = 0.0  # log2(drafts / surviving) over days 1..day
    critic: dict[str, Any] | None = None  # the audit of the critic's verdicts on the day's ideas (tune_audit)

    @field_serializer("cumulative_bits")
    def _bits(self, value: float) -> float | str:
        return bits_json(value)

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected


class Recommendation(BaseModel):
    """A depth and why, in words."""

    depth: int
    cause: Cause
    reason: str
    plateau_day: int | None = None  # first day of the plateau (yield stays below the fraction from here)
    drift_day: int | None = None  # first day whose drift rise crossed the bound
    drift_persona: str | None = None


class TuneTotals(BaseModel):
    """Sums over days (of one persona, or of all)."""

    generated: int = 0
    drafts: int = 0
    unique: int = 0
    surviving: int = 0
    unique_surviving: int = 0
    accepted: int = 0
    rejected: int = 0
    tokens: int = 0
    survivors_per_1k_tokens: float | None = None
    selection_bits: float = 0.0
    acceptance_rate: float | None = None  # accepted / decided, where a human decided

    @field_serializer("selection_bits")
    def _bits(self, value: float) -> float | str:
        return bits_json(value)


class PersonaTune(BaseModel):
    persona: str
    days: list[DayStats]
    epochs: list[EpochBits]
    totals: TuneTotals
    recommendation: Recommendation


class Diversity(BaseModel):
    """The figures for one scope: the whole session ("session") or one persona group."""

    scope: str
    personas: int
    ideas: int
    distinct: int = 0
    distinct_share: float | None = None
    within_similarity: float | None = None
    across_similarity: float | None = None
    random_gap: float | None = None  # the within-minus-across gap shuffled persona labels reach (95th pct.)
    centroid_accuracy: float | None = None
    chance: float | None = None
    collapsed: bool = False
    reasons: list[str] = Field(default_factory=list)  # what says the personas collapsed
    note: str = ""  # why a figure is missing


class DiversityReport(BaseModel):
    """`diversity` in `sessions show --json` and `tune --json`."""

    session: str
    duplicate_threshold: float
    session_figures: Diversity
    groups: list[Diversity] = Field(default_factory=list)

    @property
    def collapsed(self) -> list[Diversity]:
        return [d for d in (self.session_figures, *self.groups) if d.collapsed]


class TuneReport(BaseModel):
    """What `groundhog tune --json` prints for one session."""

    session: str
    status: str
    depth: int  # configured depth
    days_analysed: int  # highest day with a row
    embedder: str
    options: TuneOptions
    personas: list[PersonaTune]
    days: list[DayStats]  # every persona pooled, per day
    totals: TuneTotals
    recommendation: Recommendation
    diversity: DiversityReport | None = None  # the night's diversity across personas (tune/diversity.py)


class SweepRun(BaseModel):
    """One fresh session of the sweep, summed up."""

    depth: int
    session: str
    home: str
    status: str  # the session's status, or "skipped" when the budget was spent before it started
    reason: str
    days_done: int = 0  # highest day any persona finished
    generated: int = 0
    unique_surviving: int = 0
    tokens: int = 0
    survivors_per_1k_tokens: float | None = None
    recommendation: Recommendation | None = None
    report: TuneReport | None = None


class SweepReport(BaseModel):
    """What `groundhog tune --sweep --json` prints."""

    base: str
    depths: list[int]
    personas: list[str]
    runs: list[SweepRun]
    best_depth: int | None  # the depth with the most unique survivors per 1k tokens
    summary: str
