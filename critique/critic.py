"""The chain-of-thought critic: reasoning first, then a rubric verdict, in a persona's own voice."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from groundhog.core.records import Scores
from groundhog.core.settings import OutputLimits
from groundhog.researchers.prompts import prompts
from groundhog.researchers.schemas import bounded

# An enum rather than a range: grammar-constrained decoders enforce enums but not numeric bounds.
Score = Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


class CriticOutput(BaseModel):
    """The critic's reply. `reasoning` comes first so the scores follow from it."""

    reasoning: str = Field(min_length=1)
    novelty: Score
    feasibility: Score
    relevance: Score
    clarity: Score
    weakest_point: str = ""

    @property
    def scores(self) -> Scores:
        return Scores(
            novelty=self.novelty, feasibility=self.feasibility, relevance=self.relevance, clarity=self.clarity
        )


class CriticJudgment(CriticOutput):
    """With a capable critic model, the critic is also the third layer of the manipulation screen: it is
    asked outright (`manipulation_question`) and answers with a boolean."""

    manipulative: bool = False


class CriticPriorArt(CriticOutput):
    """Shown the library's nearest papers, the critic also says whether one of them already did the idea,
    naming it (its label, e.g. P1, or its title)."""

    already_done: bool = False
    prior_art_paper: str = ""


class CriticJudgmentPriorArt(CriticJudgment):
    already_done: bool = False
    prior_art_paper: str = ""


PRIOR_ART_NAME_CHARS = 160  # the named paper, for a grammar-bounded model


@lru_cache(maxsize=32)
def critic_schema(limits: OutputLimits | None, judge: bool = False, prior_art: bool = False) -> type[CriticOutput]:
    """The critic's reply model; with limits (a grammar-bounded model) its texts get a `maxLength`."""
    if prior_art:
        base: type[CriticOutput] = CriticJudgmentPriorArt if judge else CriticPriorArt
    else:
        base = CriticJudgment if judge else CriticOutput
    if limits is None:
        return base
    caps = {"reasoning": limits.reasoning, "weakest_point": limits.weakest_point}
    if prior_art:
        caps["prior_art_paper"] = PRIOR_ART_NAME_CHARS
    return bounded(base, caps)  # type: ignore[no-any-return]


def manipulation_question() -> str:
    """The manipulation question put to the critic (researchers/prompts.toml, `judge_manipulation`)."""
    return prompts()["judge_manipulation"]["user"]


class Thresholds(BaseModel):
    """The critic's gate: what a verdict must reach to pass (a mean over the rubric and a floor on each
    axis), and `audit_fraction`, the share of the ideas failing on their scores alone that still go to
    the review queue, as audit items, so the reviewer's decisions measure the critic (`critique.audit`).
    Saved with a session's thresholds, so a resumed session audits as it started."""

    model_config = ConfigDict(extra="forbid")

    min_mean: float = Field(default=6.0, ge=1, le=10)
    min_each: int = Field(default=3, ge=1, le=10)
    min_relevance: int = Field(default=5, ge=1, le=10)
    audit_fraction: float = Field(default=0.0, ge=0, le=1)  # 0 for sessions saved before audits existed

    def passes(self, scores: Scores) -> bool:
        each = (scores.novelty, scores.feasibility, scores.relevance, scores.clarity)
        return scores.mean >= self.min_mean and min(each) >= self.min_each and scores.relevance >= self.min_relevance

    def explain(self, scores: Scores) -> str:
        if self.passes(scores):
            return "passes the thresholds"
        parts = []
        if scores.mean < self.min_mean:
            parts.append(f"mean {scores.mean:.1f} < {self.min_mean}")
        low = [
            f"{k} {v} < {self.min_each}"
            for k, v in scores.model_dump().items()
            if isinstance(v, int) and v < self.min_each
        ]
        parts += low
        if scores.relevance < self.min_relevance:
            parts.append(f"relevance {scores.relevance} < {self.min_relevance}")
        return "; ".join(parts)
