"""The critique stage: deterministic screens, then the chain-of-thought critic with revision rounds and
an optional cross-persona critic. An idea a screen flags fails at once and is never revised."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from groundhog.core.errors import StructuredOutputError
from groundhog.core.interfaces import Embedder, PriorArtLookup
from groundhog.core.records import CritiqueResult, Flag, Idea, PriorArt, Usage, Verdict, stable_id
from groundhog.critique.critic import CriticJudgment, Thresholds, critic_schema, manipulation_question
from groundhog.critique.prior_art import papers_prompt, prior_art_flag, shown
from groundhog.critique.screens import TextScreens
from groundhog.memory.store import novelty as novelty_of
from groundhog.providers.client import ModelClient
from groundhog.researchers.personas import Persona
from groundhog.researchers.prompts import render
from groundhog.researchers.schemas import idea_schema

if TYPE_CHECKING:
    from groundhog.memory.store import LogStore

Hit = tuple[str, str, float]  # a neighbouring idea: (id, title, cosine similarity)


@dataclass
class Outcome:
    """Everything the stage did to one babbled idea: each version, and the critique of each."""

    versions: list[Idea]
    results: list[CritiqueResult]
    novelty: float = 1.0  # 1 - similarity to the nearest earlier idea
    usage: Usage = field(default_factory=Usage)

    @property
    def final(self) -> Idea:
        return self.versions[-1]

    @property
    def verdict(self) -> CritiqueResult:
        return self.results[-1]

    @property
    def passed(self) -> bool:
        return self.verdict.verdict == "pass"


def nearest_ideas(
    log: LogStore,
    vector: Sequence[float],
    k: int = 3,
    *,
    exclude: Container[str] = frozenset(),
    widest: int = 256,
) -> list[tuple[str, str, float]]:
    """The k ideas in the log nearest to `vector`, as (id, title, similarity), best first."""
    return nearest_ideas_many(log, [vector], k, exclude=exclude, widest=widest)[0]


def nearest_ideas_many(
    log: LogStore,
    vectors: Sequence[Sequence[float]],
    k: int = 3,
    *,
    exclude: Container[str] = frozenset(),
    widest: int = 256,
) -> list[list[tuple[str, str, float]]]:
    """`nearest_ideas` for several vectors, in one query to the log."""
    found = log.nearest_ideas_many(vectors, k, keep=lambda e: e.id not in exclude, widest=widest)
    return [[(e.id, str(e.meta.get("title", e.text[:60])), sim) for e, sim in hits] for hits in found]


class DuplicateScreen:
    """Flags an idea whose embedding is at or above `threshold` cosine similarity to an earlier idea.

    Earlier ideas are every idea in the log (all sessions and personas, whatever their fate), found by a
    nearest-neighbour query, plus the ideas already seen in the current day (not yet in the log).
    """

    def __init__(
        self,
        nearest: Callable[[Sequence[float]], list[Hit]],
        threshold: float,
        nearest_many: Callable[[Sequence[Sequence[float]]], list[list[Hit]]] | None = None,
    ):
        self._nearest = nearest
        self._nearest_many = nearest_many
        self.threshold = threshold
        self._pending: list[tuple[str, str, list[float]]] = []  # (id, title, vector) seen this batch
        self._ahead: dict[str, list[Hit]] = {}  # idea id -> its log neighbours, asked for together
        self._lock = threading.Lock()  # revisions of a day's ideas are screened concurrently

    def look_ahead(self, vectors: Mapping[str, Sequence[float]]) -> None:
        """Ask the log for the neighbours of a day's ideas in one query; `check` then uses them. The
        log does not change while a day is screened (its ideas are written after), so the answers are
        those that asking one idea at a time would get."""
        if self._nearest_many is None or not vectors:
            return
        found = self._nearest_many(list(vectors.values()))
        with self._lock:
            self._ahead.update(zip(vectors, found, strict=True))

    def check(self, idea: Idea, vector: list[float], *, ignore: set[str]) -> tuple[Flag | None, float]:
        with self._lock:
            return self._check(idea, vector, ignore=ignore)

    def _check(self, idea: Idea, vector: list[float], *, ignore: set[str]) -> tuple[Flag | None, float]:
        best: Hit | None = None
        hits = self._ahead.pop(idea.id, None)
        for eid, title, sim in self._nearest(vector) if hits is None else hits:
            if eid not in ignore and (best is None or sim > best[2]):
                best = (eid, title, sim)
        for eid, title, other in self._pending:
            if eid in ignore:
                continue
            sim = sum(a * b for a, b in zip(vector, other, strict=False))
            if best is None or sim > best[2]:
                best = (eid, title, sim)
        self._pending.append((idea.id, idea.title, vector))
        if best is None:
            return None, 1.0
        if best[2] >= self.threshold:
            reason = f"{best[2]:.2f} similar to earlier idea {best[0]} ({best[1][:60]!r})"
            return Flag(name="duplicate", reason=reason, ref=best[0]), novelty_of(best[2])
        return None, novelty_of(best[2])


class CritiqueStage:
    """Runs the screens and the critic on a day's ideas. Model calls go through `limit` (a semaphore)."""

    def __init__(
        self,
        *,
        embedder: Embedder,
        nearest: Callable[[Sequence[float]], list[Hit]],
        critic_model: ModelClient,
        author_model: ModelClient,
        thresholds: Thresholds,
        revisions: int = 1,
        cross_critic: Persona | None = None,
        duplicate_threshold: float = 0.8,
        screens: TextScreens | None = None,
        limit: asyncio.Semaphore | None = None,
        judge_manipulation: bool = False,
        nearest_many: Callable[[Sequence[Sequence[float]]], list[list[Hit]]] | None = None,
        prior_art: PriorArtLookup | None = None,
    ) -> None:
        self.embedder = embedder
        self.prior_art = prior_art  # the library's nearest papers; None: no prior-art check
        self._papers: dict[str, list[PriorArt]] = {}  # idea id -> its nearest papers
        self.critic_model = critic_model
        self.author_model = author_model
        self.thresholds = thresholds
        self.revisions = revisions
        self.cross_critic = cross_critic
        self.screens = screens or TextScreens(embedder)
        self.duplicates = DuplicateScreen(nearest, duplicate_threshold, nearest_many)
        self._limit = limit or asyncio.Semaphore(1)
        self.judge_manipulation = judge_manipulation  # worth asking only of a capable critic model

    def screen(
        self, idea: Idea, *, truncated: bool = False, ignore: set[str] | None = None
    ) -> tuple[list[Flag], float]:
        """The deterministic screens only: no chat model involved."""
        text = idea.text
        vector = self.embedder.embed([text])[0]  # the duplicate screen's, and the learned screen's for the text
        flags = list(self.screens.run(text, truncated=truncated, vector=vector))
        dup, novelty = self.duplicates.check(idea, vector, ignore=(ignore or set()) | {idea.id})
        if self.prior_art is not None and idea.id not in self._papers:
            self._papers[idea.id] = self.prior_art.nearest_many([vector])[0]
        if dup:
            flags.append(dup)
        return flags, novelty

    def _screened(self, idea: Idea, flags: list[Flag]) -> CritiqueResult:
        papers = self._papers.get(idea.id, [])
        return CritiqueResult(idea_id=idea.id, verdict="fail", flags=flags, critic="screens", prior_art=papers)

    def papers(self, idea_id: str) -> list[PriorArt]:
        """The nearest papers found for an idea (empty without a library)."""
        return self._papers.get(idea_id, [])

    async def _critic(self, idea: Idea, voice: Persona, author: Persona, present: date) -> tuple[CritiqueResult, Usage]:
        messages = render(
            "critique",
            voice,
            present=present.isoformat(),
            author="you" if voice.id == author.id else author.name,
            title=idea.title,
            summary=idea.summary,
            rationale=idea.rationale or "(none given)",
        )
        papers = self._papers.get(idea.id, [])
        asked = shown(papers)
        schema = critic_schema(self.critic_model.limits, self.judge_manipulation, bool(asked))
        if self.judge_manipulation or asked:
            role, text = messages[-1]
            extra = (manipulation_question() if self.judge_manipulation else "") + (
                papers_prompt(asked) if asked else ""
            )
            messages = [*messages[:-1], (role, text + extra)]
        try:
            async with self._limit:
                reply = await self.critic_model.astructured(messages, schema)
        except StructuredOutputError as exc:
            # An unreadable verdict leaves this idea unjudged (judged again on resume), not the day failed.
            unjudged = CritiqueResult(
                idea_id=idea.id,
                verdict="unjudged",
                reasoning=f"the critic gave no readable verdict: {exc}",
                critic=voice.id,
                prior_art=papers,
            )
            return unjudged, exc.usage if isinstance(exc.usage, Usage) else Usage()
        out = reply.value
        scores = out.scores
        verdict: Verdict = "pass" if self.thresholds.passes(scores) else "fail"
        result = CritiqueResult(
            idea_id=idea.id,
            verdict=verdict,
            scores=scores,
            reasoning=out.reasoning.strip(),
            weakest_point=out.weakest_point.strip(),
            critic=voice.id,
            prior_art=papers,
        )
        done, note = prior_art_flag(out, asked, voice.id)
        if done is not None:  # a failure like any other: the author may revise it away from the paper
            result.verdict = "fail"
            result.flags.append(done)
            result.weakest_point = f"{done.reason}. {result.weakest_point}".strip()
        elif note:
            result.reasoning += f"\n\n{note}"
        if isinstance(out, CriticJudgment):
            result.manipulative = out.manipulative
        if result.manipulative:
            result.verdict = "fail"
            why = f"the critic ({voice.id}) judged the text to be aimed at its reader rather than at the research"
            result.flags.append(Flag(name="manipulation", reason=why))
        return result, reply.usage

    async def _revise(
        self, idea: Idea, result: CritiqueResult, author: Persona, present: date
    ) -> tuple[Idea | None, Usage]:
        """The author's revision answering the critique; None (with the cost) when it cannot be read."""
        messages = render(
            "revise",
            author,
            present=present.isoformat(),
            title=idea.title,
            summary=idea.summary,
            rationale=idea.rationale or "(none given)",
            critic="yourself" if result.critic == author.id else result.critic,
            reasoning=result.reasoning,
            weakest_point=result.weakest_point or "(not named)",
        )
        try:
            async with self._limit:
                reply = await self.author_model.astructured(messages, idea_schema(self.author_model.limits))
        except StructuredOutputError as exc:
            result.reasoning += f"\n\n(the revision could not be read: {exc})"
            return None, exc.usage if isinstance(exc.usage, Usage) else Usage()
        draft = reply.value
        revised = idea.model_copy(
            update={
                "id": stable_id(idea.parent_id or idea.id, "revision", idea.revision + 1),
                "title": draft.title.strip(),
                "summary": draft.summary.strip(),
                "rationale": draft.rationale.strip(),
                "revision": idea.revision + 1,
                "parent_id": idea.parent_id or idea.id,
            }
        )
        return revised, reply.usage

    async def review(self, idea: Idea, author: Persona, *, present: date, truncated: bool = False) -> Outcome:
        """Screen, critique, and revise a failing idea up to `revisions` times. Every version is kept."""
        return (await self.review_many([idea], author, present=present, truncated={idea.id: truncated}))[0]

    async def review_many(
        self, ideas: Sequence[Idea], author: Persona, *, present: date, truncated: Mapping[str, bool] | None = None
    ) -> list[Outcome]:
        """A day's ideas: screened one after another (in order, so the duplicate screen sees each idea's
        predecessors the same way every run), then critiqued and revised concurrently, each idea's
        model calls within the shared limit."""
        # One embedding batch for the whole day (the idea texts and every sentence the screens look at);
        # the embedder's cache then answers the per-idea checks below.
        texts = [idea.text for idea in ideas]

        def screen_all() -> list[tuple[list[Flag], float]]:  # one trip off the event loop for the day
            vectors = self.embedder.embed(texts + self.screens.sentences(texts))[: len(texts)]
            self.duplicates.look_ahead({idea.id: v for idea, v in zip(ideas, vectors, strict=True)})
            if self.prior_art is not None and ideas:  # the day's prior-art check: one query
                self._papers.update(zip([i.id for i in ideas], self.prior_art.nearest_many(vectors), strict=True))
            return [
                self.screen(idea, truncated=bool(truncated and truncated.get(idea.id)), ignore={idea.id})
                for idea in ideas
            ]

        outcomes = []
        for idea, (flags, novelty) in zip(ideas, await asyncio.to_thread(screen_all), strict=True):
            outcome = Outcome(versions=[idea], results=[], novelty=novelty)
            if flags:  # screens are a hard gate: no critic, no revision of flagged text
                outcome.results.append(self._screened(idea, flags))
            outcomes.append(outcome)
        await asyncio.gather(*(self._judge(o, author, present) for o in outcomes if not o.results))
        return outcomes

    async def _judge(self, outcome: Outcome, author: Persona, present: date, rounds: int | None = None) -> None:
        """Critic (and cross critic) on the latest version; revise a failing one while rounds remain."""
        rounds = self.revisions if rounds is None else rounds
        while True:
            current = outcome.final
            result, usage = await self._critic(current, author, author, present)
            outcome.usage = outcome.usage + usage
            if result.verdict == "pass" and self.cross_critic is not None and self.cross_critic.id != author.id:
                cross, usage = await self._critic(current, self.cross_critic, author, present)
                outcome.usage = outcome.usage + usage
                result.cross.append(cross)
                if cross.verdict == "unjudged":
                    result.verdict = "unjudged"
                    result.reasoning += f"\n\n{self.cross_critic.name}: {cross.reasoning}"
                elif cross.verdict == "fail":
                    result.verdict = "fail"
                    result.weakest_point = cross.weakest_point or result.weakest_point
                    result.reasoning += f"\n\n{self.cross_critic.name} disagrees: {cross.reasoning}"
            outcome.results.append(result)
            if result.verdict != "fail" or rounds <= 0:
                return
            revised, usage = await self._revise(current, result, author, present)
            outcome.usage = outcome.usage + usage
            if revised is None:
                result.verdict = "unjudged"  # judged again, revision included, on resume
                return
            rounds -= 1
            outcome.versions.append(revised)
            lineage = {v.id for v in outcome.versions}
            flags, outcome.novelty = await asyncio.to_thread(self.screen, revised, ignore=lineage)
            if flags:
                outcome.results.append(self._screened(revised, flags))
                return

    async def rejudge(self, versions: Sequence[Idea], author: Persona, *, present: date) -> Outcome:
        """Judge again an idea left unjudged: the latest version, with the revision rounds it has left."""
        latest = versions[-1]
        outcome = Outcome(versions=[latest], results=[])  # the earlier versions keep their entries
        flags, outcome.novelty = await asyncio.to_thread(self.screen, latest, ignore={v.id for v in versions})
        if flags:
            outcome.results.append(self._screened(latest, flags))
            return outcome
        await self._judge(outcome, author, present, rounds=max(0, self.revisions - latest.revision))
        return outcome
