"""The session runner: personas as independent tasks, days as units of work, budgets, checkpoints,
resume, pause for review, and progress events.

Per day: the persona's half-written entries from an earlier attempt are deleted, the day runs in memory,
its entries are upserted into Chroma (deterministic ids), and then one SQLite transaction writes the
day row and its queue items. That transaction is the commit point: a day without a row is redone.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from groundhog.core.errors import BadInput, GroundhogError, ProviderError, StoreError
from groundhog.core.interfaces import Embedder
from groundhog.core.records import stable_id, today
from groundhog.core.settings import RetrievalSettings
from groundhog.critique.critic import Thresholds
from groundhog.critique.screens import TextScreens
from groundhog.critique.stage import CritiqueStage, nearest_ideas
from groundhog.loop.day import DayPlan, DayResult, DayRunner
from groundhog.loop.events import Event, EventSink, EventType, ignore
from groundhog.loop.sessions import SessionConfig, SessionStatus, SessionStore, bits_json
from groundhog.memory.store import LogStore
from groundhog.providers.client import ModelClient
from groundhog.researchers.personas import Persona, chunk_text, corpus_files, most_different
from groundhog.review.queue import ReviewQueue

FAR_FUTURE_DAYS = 366
MAX_FAILED_DAYS_IN_A_ROW = 3


def check_present(
    present: date, depth: int, drift_days: int, *, allow_far_future: bool, now: date | None = None
) -> None:
    """Simulate, don't predict: refuse a present (first or last day) more than a year past today."""
    now = now or today()
    last = present + timedelta(days=(depth - 1) * drift_days)
    if allow_far_future:
        return
    if present - now > timedelta(days=FAR_FUTURE_DAYS):
        raise BadInput(
            f"--present: {present} is more than a year after today ({now}); personas simulate the present, "
            "they do not predict the future (use --allow-far-future to force it)"
        )
    if last - now > timedelta(days=FAR_FUTURE_DAYS):
        raise BadInput(
            f"--drift-days: with depth {depth} the present drifts to {last}, more than a year after today ({now}); "
            "lower --drift-days or --depth, or use --allow-far-future"
        )


def ingest_corpus(log: LogStore, persona: Persona) -> int:
    """Put a persona's grounding writings into the log as `corpus` entries (idempotent)."""
    from groundhog.core.records import LogEntry

    entries = []
    for path in corpus_files(persona):
        for n, chunk in enumerate(chunk_text(path.read_text(encoding="utf-8"))):
            entries.append(
                LogEntry(
                    id=stable_id("corpus", persona.id, path.name, n),
                    persona=persona.id,
                    kind="corpus",
                    text=chunk,
                    importance=0.3,
                    meta={"source": path.name, "chunk": n},
                )
            )
    if entries:
        existing = {e.id for e in log.get_many([e.id for e in entries])}
        fresh = [e for e in entries if e.id not in existing]
        if fresh:
            log.add(fresh)
    return len(entries)


@dataclass
class RunOutcome:
    status: SessionStatus
    reason: str
    days_run: int = 0
    stopped_personas: dict[str, str] = field(default_factory=dict)


class SessionRunner:
    """Runs (or resumes) one session. Every dependency is passed in."""

    def __init__(
        self,
        *,
        config: SessionConfig,
        personas: list[Persona],
        all_personas: list[Persona],
        log: LogStore,
        sessions: SessionStore,
        queue: ReviewQueue,
        babble_model: ModelClient,
        critic_model: ModelClient,
        embedder: Embedder,
        retrieval: RetrievalSettings | None = None,
        on_event: EventSink = ignore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.personas = personas
        self.all_personas = all_personas
        self.log = log
        self.sessions = sessions
        self.queue = queue
        self.babble_model = babble_model
        self.critic_model = critic_model
        self.embedder = embedder
        self.retrieval = retrieval
        self.emit = on_event
        self.clock = clock
        self.limit = asyncio.Semaphore(config.concurrency)
        self.stop_reason: str | None = None
        self.stop_status: SessionStatus = "completed"
        self.stopping = asyncio.Event()
        self._screens = TextScreens(embedder)
        self._started = clock()
        self._days_run = 0
        self._retries = 0
        self._paused: set[str] = set()
        self._stopped: dict[str, str] = {}

    # -- wiring ---------------------------------------------------------------------------------

    def _event(
        self,
        type_: EventType,
        persona: str | None = None,
        day: int | None = None,
        message: str = "",
        **data: object,
    ) -> None:
        self.emit(
            Event(type=type_, session=self.config.id, persona=persona, day=day, message=message, data=data)
        )

    def _cross_critic(self, author: Persona) -> Persona | None:
        name = self.config.cross_critic
        if not name:
            return None
        if name == "auto":
            return most_different(author, [p for p in self.all_personas if p.id != author.id])
        return next((p for p in self.all_personas if p.id == name), None)

    def _stage(self, author: Persona) -> CritiqueStage:
        return CritiqueStage(
            embedder=self.embedder,
            nearest=lambda vector: nearest_ideas(self.log, vector),
            critic_model=self.critic_model,
            author_model=self.babble_model,
            thresholds=Thresholds.model_validate(self.config.thresholds),
            revisions=self.config.revisions,
            cross_critic=self._cross_critic(author),
            duplicate_threshold=self.config.duplicate_threshold,
            screens=self._screens,
            limit=self.limit,
            judge_manipulation=self.config.critic_judges_manipulation,
        )

    # -- budgets --------------------------------------------------------------------------------

    def _budget_reached(self) -> tuple[str, SessionStatus] | None:
        c = self.config
        totals = self.sessions.totals(c.id)
        if c.hours is not None and self.clock() - self._started >= c.hours * 3600:
            return f"--hours budget reached ({c.hours} h of wall time)", "completed"
        if c.max_tokens is not None and totals.tokens >= c.max_tokens:
            return f"--max-tokens budget reached ({totals.tokens} of {c.max_tokens} tokens)", "completed"
        if c.max_ideas is not None and totals.surviving >= c.max_ideas:
            return f"--max-ideas budget reached ({totals.surviving} surviving ideas)", "completed"
        if c.max_selection_bits is not None and totals.generated and totals.bits >= c.max_selection_bits:
            bits = "infinite" if math.isinf(totals.bits) else f"{totals.bits:.2f}"
            return (
                f"--max-selection-bits budget spent ({bits} of {c.max_selection_bits} bits): "
                "review the queue, then resume",
                "awaiting-review",
            )
        return None

    def note_retry(self, message: str) -> None:
        """A model or network fault that the retry policy is handling: recorded as an event."""
        self._retries += 1
        self._event("retry", message=message)

    def request_stop(self, reason: str, status: SessionStatus = "interrupted") -> None:
        """Finish the days in progress, then stop (the first Ctrl-C or SIGTERM)."""
        if self.stop_reason is None:
            self.stop_reason, self.stop_status = reason, status
        self.stopping.set()

    # -- the loop -------------------------------------------------------------------------------

    async def _persona_loop(self, persona: Persona) -> None:
        c = self.config
        runner = DayRunner(
            log=self.log,
            model=self.babble_model,
            stage_factory=lambda: self._stage(persona),
            retrieval=self.retrieval,
            shared_kinds=tuple(c.shared_kinds),
            limit=self.limit,
            on_step=lambda plan, step: self._event("step", plan.persona.id, plan.day, step),
        )
        done = self.sessions.finished_days(c.id, persona.id)
        failures_in_a_row = 0
        for day in range(1, c.depth + 1):
            if day in done:
                continue
            if self.stopping.is_set():
                return
            budget = self._budget_reached()
            if budget:
                self.request_stop(*budget)
                return
            plan = DayPlan(c.id, persona, day, c.present_on(day), c.ideas_per_day)
            self._event("day_started", persona.id, day, f"day {day}, present {plan.present}")
            try:
                self.log.delete(session=c.id, persona=persona.id, day=day)  # leftovers of a cut-short attempt
                result = await runner.run(plan)
                await asyncio.to_thread(self.log.add, result.entries)  # Chroma first: idempotent upsert
                self._commit(result)  # then the SQLite transaction: the day's commit point
                failures_in_a_row = 0
            except (ProviderError, StoreError) as exc:
                failures_in_a_row += 1
                self._record_failure(plan, exc)
                if isinstance(exc, StoreError) or failures_in_a_row >= MAX_FAILED_DAYS_IN_A_ROW:
                    why = f"stopped after {failures_in_a_row} failed day(s) in a row: {exc}"
                    self._stopped[persona.id] = why
                    self._event("persona_stopped", persona.id, day, why)
                    return
                continue
            self._days_run += 1
            totals = self.sessions.totals(c.id, persona.id)
            self._event(
                "day_finished",
                persona.id,
                day,
                f"{result.generated} ideas, {result.surviving} survived",
                generated=result.generated,
                surviving=result.surviving,
                tokens=result.usage.total_tokens,
                persona_bits=bits_json(totals.bits),
                session_tokens=self.sessions.totals(c.id).tokens,
            )
            if c.review_every and day % c.review_every == 0 and day < c.depth:
                self._paused.add(persona.id)
                return

    def _commit(self, result: DayResult) -> None:
        plan = result.plan
        self.sessions.commit_day(
            session=plan.session,
            persona=plan.persona.id,
            day=plan.day,
            present=plan.present,
            summary=result.summary(),
            generated=result.generated,
            surviving=result.surviving,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            queue_items=result.queue_items,
            queue=self.queue,
        )

    def _record_failure(self, plan: DayPlan, exc: GroundhogError) -> None:
        message = str(exc)
        self._event("day_failed", plan.persona.id, plan.day, message)
        with contextlib.suppress(StoreError):  # the store itself is failing; the event above still tells
            self.sessions.commit_day(
                session=plan.session,
                persona=plan.persona.id,
                day=plan.day,
                present=plan.present,
                summary={"persona": plan.persona.id, "day": plan.day, "error": message},
                generated=0,
                surviving=0,
                prompt_tokens=0,
                completion_tokens=0,
                queue_items=[],
                queue=self.queue,
                status="failed",
                error=message,
            )

    async def run(self) -> RunOutcome:
        c = self.config
        self.sessions.set_status(c.id, "running", "")
        for persona in self.personas:
            await asyncio.to_thread(ingest_corpus, self.log, persona)
        self._event("session_started", message=f"{len(self.personas)} personas, depth {c.depth}")
        tasks = [asyncio.create_task(self._persona_loop(p), name=p.id) for p in self.personas]
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._finish("interrupted", self.stop_reason or "stopped at once (second signal)")
            raise
        crashed = [r for r in results if isinstance(r, BaseException)]
        if crashed:
            exc = crashed[0]
            self._finish("failed", f"{type(exc).__name__}: {exc}")
            raise exc
        return self._conclude()

    def _conclude(self) -> RunOutcome:
        c = self.config
        if self.stop_reason is not None:
            status, reason = self.stop_status, self.stop_reason
        elif self._stopped and len(self._stopped) == len(self.personas):
            status, reason = (
                "failed",
                "every persona stopped: " + "; ".join(f"{k}: {v}" for k, v in self._stopped.items()),
            )
        elif self._paused:
            status = "awaiting-review"
            reason = (
                f"paused every {c.review_every} days for review: run `groundhog review`, "
                f"then `groundhog babble --resume {c.id}`"
            )
        else:
            failed = self.sessions.totals(c.id).days_failed
            status, reason = (
                "completed",
                f"all {c.depth} days done" + (f", {failed} of them failed" if failed else ""),
            )
            if self._stopped:
                reason += " (" + "; ".join(f"{k} {v}" for k, v in self._stopped.items()) + ")"
        self._finish(status, reason)
        return RunOutcome(status, reason, self._days_run, dict(self._stopped))

    def _finish(self, status: SessionStatus, reason: str) -> None:
        self.sessions.set_status(self.config.id, status, reason, add_elapsed=self.clock() - self._started)
        totals = self.sessions.totals(self.config.id)
        self._event(
            "session_finished",
            message=reason,
            status=status,
            generated=totals.generated,
            surviving=totals.surviving,
            bits=bits_json(totals.bits),
            tokens=totals.tokens,
        )
