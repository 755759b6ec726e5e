"""One day of one persona: wake, think and babble, critique, write tomorrow's note.

A day is one unit of work with deterministic ids: run it twice and it writes the same ids, so a day cut
short by a crash is simply run again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from groundhog.core.errors import StructuredOutputError
from groundhog.core.records import Idea, LogEntry, QueueItem, Usage, stable_id, utcnow
from groundhog.core.settings import RetrievalSettings
from groundhog.critique.audit import audited
from groundhog.critique.entries import critique_entry, idea_entry
from groundhog.critique.stage import CritiqueStage, Outcome
from groundhog.loop.seminar import with_seminar
from groundhog.loop.wake import Newest, WakeContext, build_wake_context, newest_limits, work_limit
from groundhog.memory.store import LogStore
from groundhog.providers.client import ModelClient
from groundhog.researchers.personas import Persona
from groundhog.researchers.prompts import render
from groundhog.researchers.schemas import babble_schema, hit_length_limit, notebook_schema
from groundhog.store.questions import Question, question_id
from groundhog.store.queue import rank_score
from groundhog.store.recent import RecentIndex

BABBLE_TOKENS_PER_IDEA = 240  # an idea at the embedded model's length limits, as JSON
PROMPT_TOKENS = 900  # the frame and the instructions around the notebook
BABBLE_ATTEMPTS = 2  # an unreadable babble reply is sampled once more before the day fails


@dataclass
class DayPlan:
    session: str
    persona: Persona
    day: int
    present: date
    ideas_per_day: int
    seminar: list[LogEntry] = field(default_factory=list)  # other personas' ideas read at a seminar


@dataclass
class DayResult:
    plan: DayPlan
    context: WakeContext
    thinking: str
    outcomes: list[Outcome]
    rejected_refs: list[str]
    notebook: LogEntry
    usage: Usage
    entries: list[LogEntry] = field(default_factory=list)
    queue_items: list[QueueItem] = field(default_factory=list)  # the survivors, and the audit items
    question: Question | None = None  # the day's question for the real researcher, if it asked one

    @property
    def generated(self) -> int:
        return len(self.outcomes)

    @property
    def surviving(self) -> int:
        return sum(1 for o in self.outcomes if o.passed)

    def summary(self) -> dict[str, object]:
        """The day as `sessions show` reports it."""
        return {
            "persona": self.plan.persona.id,
            "day": self.plan.day,
            "present": self.plan.present.isoformat(),
            "context_ids": self.context.entry_ids,
            "context_tokens": self.context.tokens,
            "context_budget_tokens": self.context.budget_tokens,
            **({"seminar_ids": list(self.context.parents)} if self.context.parents else {}),  # what a seminar showed
            "ideas": [
                {
                    "id": o.versions[0].id,
                    "final_id": o.final.id,
                    "title": o.final.title,
                    "versions": len(o.versions),
                    "verdict": o.verdict.verdict,
                    "flags": [f.name for f in o.verdict.flags],
                    "builds_on": o.final.builds_on,
                    **({"parents": [p.model_dump() for p in o.final.parents]} if o.final.parents else {}),
                }
                for o in self.outcomes
            ],
            "unjudged": [o.final.id for o in self.outcomes if o.verdict.verdict == "unjudged"],
            "rejected_refs": self.rejected_refs,
            "audit_ids": [i.id for i in self.queue_items if i.origin == "audit"],
            # committed with the day row; a trigger (store revision 0001) files it in `questions`
            "question": (
                {"id": self.question.id, "text": self.question.question, "context": self.question.context}
                if self.question
                else None
            ),
            "notebook_id": self.notebook.id,
            "entry_ids": [e.id for e in self.entries],  # the day's log entries: the next wake-up's newest work
            "generated": self.generated,
            "surviving": self.surviving,
            "usage": self.usage.model_dump(),
        }


def _outcome_text(outcomes: list[Outcome]) -> str:
    lines = []
    for n, o in enumerate(outcomes, 1):
        v = o.verdict
        why = "; ".join(f"{f.name}: {f.reason}" for f in v.flags) or v.weakest_point or v.reasoning[:200]
        lines.append(f"{n}. {o.final.title} -> {v.verdict.upper()} ({why})")
    return "\n".join(lines) or "(no ideas)"


def _fallback_note(outcomes: list[Outcome]) -> str:
    tried = "; ".join(o.final.title for o in outcomes) or "nothing"
    failed = "; ".join(
        f"{o.final.title}: {o.verdict.weakest_point or o.verdict.reasoning[:120]}" for o in outcomes if not o.passed
    )
    return (
        f"Tried: {tried}\nFailed and why: {failed or 'nothing failed'}\n"
        "Next: (written from the day's outcomes; the note itself could not be read) try a sharper variant."
    )


class DayRunner:
    """Runs days. The log, models and critique stage are passed in; nothing is global."""

    def __init__(
        self,
        *,
        log: LogStore,
        model: ModelClient,
        stage_factory: Callable[[], CritiqueStage],
        retrieval: RetrievalSettings | None = None,
        shared_kinds: tuple[str, ...] = (),
        context_tokens: int | None = None,
        recent: RecentIndex | None = None,
        limit: asyncio.Semaphore | None = None,
        on_step: Callable[[DayPlan, str], None] | None = None,
    ) -> None:
        self.log = log
        self.model = model
        self.stage_factory = stage_factory
        self.retrieval = retrieval
        self.shared_kinds = shared_kinds
        self.context_tokens = context_tokens
        self.recent = recent
        self._limit = limit or asyncio.Semaphore(1)
        self._on_step = on_step

    def _step(self, plan: DayPlan, what: str) -> None:
        if self._on_step:
            self._on_step(plan, what)

    def _babble_room(self, k: int) -> int:
        """Reply tokens for k ideas. A bounded model needs room for k ideas at their limits so the JSON
        is not cut off; an endpoint model writes at length (and may reason first): give it more."""
        if self.model.limits is not None:
            return max(self.model.max_tokens, BABBLE_TOKENS_PER_IDEA * k + 200)
        return max(self.model.max_tokens, 800 * k + 1500)

    def budget_tokens(self, k: int) -> int:
        """Room for the notebook: the context window minus the babble reply and the fixed prompt text
        (or the `context_tokens` setting, when set)."""
        if self.context_tokens:
            return self.context_tokens
        spare = self.model.context_window - self._babble_room(k) - PROMPT_TOKENS
        return max(200, spare if self.model.limits is None else spare // 2)

    async def _babble(self, messages: list[tuple[str, str]], k: int) -> tuple[Any, Usage]:
        """The babble reply, sampled again once when unreadable, with twice the room (the usual reason a
        grammar-bound reply cannot be read is that it was cut off); the cost of every attempt counts."""
        spent = Usage()
        schema = babble_schema(k, self.model.limits)
        for attempt in range(1, BABBLE_ATTEMPTS + 1):
            room = self._babble_room(k) * attempt
            try:
                async with self._limit:
                    reply = await self.model.astructured(messages, schema, max_tokens=room)
                return reply, spent + reply.usage
            except StructuredOutputError as exc:
                spent = spent + (exc.usage if isinstance(exc.usage, Usage) else Usage())
                if attempt == BABBLE_ATTEMPTS:
                    raise StructuredOutputError(f"{exc} (sampled {attempt} times)", usage=spent) from exc
        raise AssertionError("unreachable")

    async def run(self, plan: DayPlan, store: Store | None = None) -> DayResult:
        """One persona-day. With `store`, the day's entries are written as they are ready: its ideas
        and critiques while the notebook call is out, then the note; all of them are stored when this
        returns, and a day that fails after the first write takes it back. Without, the caller writes
        `result.entries`."""
        persona, present = plan.persona, plan.present.isoformat()
        usage = Usage()

        self._step(plan, "wake")
        budget = self.budget_tokens(plan.ideas_per_day)
        newest = None
        if self.recent is not None:  # SQLite, on its own thread: ids of the newest notes and feedback
            n_notes, n_feedback = newest_limits(budget)
            shared = "feedback" in self.shared_kinds
            newest = Newest(
                *self.recent.newest(
                    persona.id, n_notes, None if shared else persona.id, n_feedback, work_limit(budget, self.retrieval)
                )
            )
        context = await asyncio.to_thread(  # embedding and Chroma work: off the event loop
            build_wake_context,
            self.log,
            persona,
            budget_tokens=budget,
            weights=self.retrieval,
            shared_kinds=self.shared_kinds,
            newest=newest,
            seminar=plan.seminar,
        )

        self._step(plan, "babble")
        messages = render("babble", persona, present=present, context=context.text, k=plan.ideas_per_day)
        if context.parents:
            messages = with_seminar(messages)
        babble, spent = await self._babble(messages, plan.ideas_per_day)
        usage = usage + spent
        ideas: list[Idea] = []
        cut_off: dict[str, bool] = {}
        rejected_refs: list[str] = []
        for n, draft in enumerate(babble.value.ideas[: plan.ideas_per_day]):
            refs, bad = context.resolve(draft.builds_on)
            rejected_refs += bad
            idea_id = stable_id(plan.session, persona.id, plan.day, "idea", n)
            cut_off[idea_id] = babble.truncated or hit_length_limit(draft, self.model.limits)
            ideas.append(
                Idea(
                    id=idea_id,
                    title=draft.title.strip(),
                    summary=draft.summary.strip(),
                    rationale=draft.rationale.strip(),
                    builds_on=refs,
                    parents=[context.parents[ref] for ref in refs if ref in context.parents],
                    persona=persona.id,
                    session=plan.session,
                    day=plan.day,
                    present=plan.present,
                )
            )

        self._step(plan, "critique")
        stage = self.stage_factory()
        outcomes = await stage.review_many(ideas, persona, present=plan.present, truncated=cut_off)
        for outcome in outcomes:
            usage = usage + outcome.usage

        self._step(plan, "notebook")
        now = utcnow()
        work = _work_entries(outcomes, now)
        early = asyncio.create_task(store(work)) if store is not None else None
        try:
            note_text, asked, meta, spent = await self._notebook(plan, outcomes, babble.value.thinking, context)
        except Exception:
            if early is not None:
                await self._take_back(early, work)
            raise
        usage = usage + spent
        notebook = LogEntry(
            id=stable_id(plan.session, persona.id, plan.day, "notebook"),
            persona=persona.id,
            session=plan.session,
            day=plan.day,
            kind="notebook",
            text=note_text,
            importance=0.8,
            present=plan.present,
            created_at=now,
            meta=meta,
        )
        result = DayResult(plan, context, babble.value.thinking, outcomes, rejected_refs, notebook, usage)
        result.entries = [*work, notebook]
        if store is not None and early is not None:
            await early  # the ideas and critiques: written while the note was
            await store([notebook])
        audit = stage.thresholds.audit_fraction  # the share of the critic's rejections queued as audit items
        result.queue_items = [
            QueueItem(
                idea=o.final,
                critique=o.verdict,
                novelty=o.novelty,
                rank_score=rank_score(o.verdict, o.novelty),
                origin="survivor" if o.passed else "audit",
            )
            for o in outcomes
            if o.passed or audited(o.verdict, o.final.id, audit)
        ]
        if asked:
            result.question = Question(
                id=question_id(plan.session, persona.id, plan.day),
                session=plan.session,
                persona=persona.id,
                day=plan.day,
                present=plan.present,
                question=asked,
                context={
                    "ideas": [{"id": o.final.id, "title": o.final.title} for o in outcomes],
                    "notebook_id": notebook.id,
                },
            )
        return result

    async def _notebook(
        self, plan: DayPlan, outcomes: list[Outcome], thinking: str, context: WakeContext
    ) -> tuple[str, str, dict[str, str | int | float | bool], Usage]:
        """The day's note: (text, the question it asks, the entry's meta, usage)."""
        messages = render("notebook", plan.persona, present=plan.present.isoformat(), outcomes=_outcome_text(outcomes))
        meta: dict[str, str | int | float | bool] = {"context_ids": ",".join(context.entry_ids), "thinking": thinking}
        if context.parents:  # which of them the seminar showed (labelled S1, S2, ... in that order)
            meta["seminar_ids"] = ",".join(context.parents)
        usage, asked = Usage(), ""
        try:
            async with self._limit:
                note = await self.model.astructured(messages, notebook_schema(self.model.limits))
            usage = note.usage
            note_text, asked = note.value.as_text(), note.value.asked
        except StructuredOutputError as exc:
            # The day's ideas and critiques are worth keeping: write the note from the outcomes instead.
            note_text = _fallback_note(outcomes)
            meta["note_error"] = str(exc)[:300]
            usage = exc.usage if isinstance(exc.usage, Usage) else Usage()
        if asked:
            meta["question"] = asked
        return note_text, asked, meta, usage

    async def _take_back(self, early: asyncio.Task[None], work: list[LogEntry]) -> None:
        """The day failed after its ideas and critiques went out: remove them again, so a failed day
        leaves nothing in the log (what cannot be removed now, a redo of the day deletes first)."""
        with contextlib.suppress(Exception):
            await early
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.log.delete_ids, [e.id for e in work])


Store = Callable[[list[LogEntry]], Coroutine[Any, Any, None]]


def _work_entries(outcomes: list[Outcome], now: datetime) -> list[LogEntry]:
    """The day's work for the log: every idea version and every critique."""
    entries: list[LogEntry] = []
    for outcome in outcomes:
        for idea, crit in zip(outcome.versions, outcome.results, strict=False):
            entries.append(idea_entry(idea, crit, now))
            entries.append(critique_entry(idea, crit, now))
    return entries
