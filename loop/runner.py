"""The session runner: personas as independent tasks, days as units of work, budgets, checkpoints,
resume, pause for review, and progress events.

Per day: the persona's half-written entries from an earlier attempt are deleted, the day runs in memory,
its entries are upserted into Chroma (deterministic ids), and then one SQLite transaction writes the
day row, its queue items and the pause that follows it, if any. That transaction is the commit point: a
day without a row is redone, and so is a failed day, up to MAX_DAY_ATTEMPTS attempts in all.

Pauses are per persona and end its review epoch (see `store.sessions`): after day N with
`--review-every N`, and after a day that brings the epoch's selection bits to `--max-selection-bits`.
A resumed persona goes on only once every idea it queued up to the pause is decided, or with `no_wait`
(`--resume --no-wait`), which the epoch row records.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from groundhog.core.errors import GroundhogError, ProviderError, StoreError
from groundhog.core.interfaces import Embedder
from groundhog.core.records import Usage
from groundhog.core.settings import RetrievalSettings
from groundhog.critique.screens import TextScreens
from groundhog.critique.stage import CritiqueStage
from groundhog.loop.day import DayPlan, DayResult, DayRunner
from groundhog.loop.epochs import Epochs, Waiting, failure_note
from groundhog.loop.events import Event, EventSink, EventType, ignore
from groundhog.loop.rejudge import Rejudged, rejudge_session, unjudged_ideas
from groundhog.loop.seminar import Seminar, seminar_reach
from groundhog.loop.start import ingest_corpus
from groundhog.loop.tally import Tally
from groundhog.loop.work import DayExecutor, build_stage, cross_critic_for, day_slots
from groundhog.memory.group_commit import GATHER_S, GroupWriter
from groundhog.memory.store import LogStore
from groundhog.providers.client import ModelClient
from groundhog.researchers.personas import Persona
from groundhog.store.queue import ReviewQueue
from groundhog.store.recent import RecentIndex
from groundhog.store.sessions import (
    MAX_DAY_ATTEMPTS,
    DayRow,
    Pause,
    SessionConfig,
    SessionStatus,
    SessionStore,
    bits_json,
    days_to_run,
)

MAX_FAILED_DAYS_IN_A_ROW = 3


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
        no_wait: bool = False,
        days: DayExecutor | None = None,
        fresh: bool = False,
    ) -> None:
        self.config = config
        self.personas = personas
        self.all_personas = all_personas
        self.log = log
        together = min(config.concurrency, len(personas)) > 1  # days finishing together share one upsert
        self.writer = GroupWriter(log, gather_s=GATHER_S if together else 0.0)
        self.sessions = sessions
        self.queue = queue
        self.babble_model = babble_model
        self.critic_model = critic_model
        self.embedder = embedder
        self.retrieval = retrieval
        self.emit = on_event
        self.clock = clock
        self.limit = asyncio.Semaphore(config.concurrency)
        self.day_slots = asyncio.Semaphore(day_slots(config.concurrency))
        self.stop_reason: str | None = None
        self.stop_status: SessionStatus = "completed"
        self.stopping = asyncio.Event()
        self._screens = TextScreens(embedder)
        self.tally = Tally()  # the sums the events and budgets read, kept as days commit (from `run`)
        self._rows: dict[str, list[DayRow]] = {}  # each persona's day rows as the run began
        self._epoch_at_start: dict[str, int] = {}
        self._started = clock()
        self._days_run = self._retries = 0
        self.no_wait = no_wait  # resume personas whose pause for review nobody has reviewed yet
        self._paused: dict[str, str] = {}  # persona -> why it paused in this run
        self._waiting: dict[str, Waiting] = {}  # persona -> the review it still waits for
        self.epochs = Epochs(sessions)
        self._stopped: dict[str, str] = {}
        self.days = days  # None: days run here; else where it sends them (Ray workers), SQLite still here
        self.fresh = fresh  # the session was created for this run: no earlier process left half a day
        self.seminar = Seminar(config.seminar_every, queue, config.id, config.ideas_per_day, {})  # set by `run`

    # -- wiring ---------------------------------------------------------------------------------

    def _event(
        self, type_: EventType, persona: str | None = None, day: int | None = None, message: str = "", **data: object
    ) -> None:
        self.emit(Event(type=type_, session=self.config.id, persona=persona, day=day, message=message, data=data))

    def _stage(self, author: Persona) -> CritiqueStage:
        return build_stage(
            self.config,
            cross_critic_for(self.config.cross_critic, author, self.all_personas),
            log=self.log,
            embedder=self.embedder,
            babble_model=self.babble_model,
            critic_model=self.critic_model,
            screens=self._screens,
            limit=self.limit,
        )

    # -- budgets --------------------------------------------------------------------------------

    def _budget_reached(self) -> tuple[str, SessionStatus] | None:
        c = self.config
        if c.hours is not None and self.clock() - self._started >= c.hours * 3600:
            return f"--hours budget reached ({c.hours} h of wall time)", "completed"
        if c.max_tokens is None and c.max_ideas is None:
            return None  # no budget that needs the session's sums: skip the query
        totals = self.tally.totals()
        if c.max_tokens is not None and totals.tokens >= c.max_tokens:
            return f"--max-tokens budget reached ({totals.tokens} of {c.max_tokens} tokens)", "completed"
        if c.max_ideas is not None and totals.surviving >= c.max_ideas:
            return f"--max-ideas budget reached ({totals.surviving} surviving ideas)", "completed"
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
            recent=RecentIndex(self.sessions.db),
            limit=self.limit,
            on_step=lambda plan, step: self._event("step", plan.persona.id, plan.day, step),
        )
        if persona.id in self._waiting:
            return  # paused, and nobody has reviewed its ideas yet
        rows = self._rows.get(persona.id, [])
        todo = days_to_run(c, rows)
        attempts = {d.day: d.attempts for d in rows}
        epoch = self._epoch_at_start.get(persona.id, 1)  # until a pause, which ends this loop
        failures_in_a_row = 0
        reach = seminar_reach(runner.budget_tokens(c.ideas_per_day))
        for i, day in enumerate(todo):
            more = i + 1 < len(todo)
            seminar = await self.seminar.reading(persona.id, day, reach, self.stopping)  # waits for the others
            if self.stopping.is_set():
                return
            if budget := self._budget_reached():
                self.request_stop(*budget)
                return
            plan = DayPlan(c.id, persona, day, c.present_on(day), c.ideas_per_day, seminar)
            attempt = attempts.get(day, 0) + 1
            again = f", attempt {attempt} of {MAX_DAY_ATTEMPTS}" if attempt > 1 else ""
            self._event("day_started", persona.id, day, f"day {day}, present {plan.present}{again}", attempt=attempt)
            try:
                result = await self._run_day(runner, plan, attempt > 1 or not self.fresh)  # an idempotent upsert
                drafts = sum(len(o.versions) for o in result.outcomes)
                pause = self.epochs.pause_after(c, persona.id, day, epoch, drafts, result.surviving, more)
                self._commit(result, epoch, drafts, pause)  # then the SQLite transaction: the commit point
                self.seminar.settle(persona.id, day)
                failures_in_a_row = 0
            except (ProviderError, StoreError) as exc:
                failures_in_a_row += 1
                stops = isinstance(exc, StoreError) or failures_in_a_row >= MAX_FAILED_DAYS_IN_A_ROW
                pause = None if stops else self.epochs.review_pause(c, persona.id, day, epoch, more)
                self._record_failure(plan, exc, epoch, pause)
                self.seminar.settle(persona.id, day)
                if stops:
                    why = f"stopped after {failures_in_a_row} failed day(s) in a row: {exc}"
                    self._stopped[persona.id] = why
                    self._event("persona_stopped", persona.id, day, why)
                    return
                if pause is not None:
                    self._pause(persona.id, day, pause)
                    return
                continue
            self._days_run += 1
            totals = self.tally.totals(persona.id)
            epoch_totals = self.tally.totals(persona.id, epoch=epoch)
            self._event(
                "day_finished",
                persona.id,
                day,
                f"{result.generated} ideas, {result.surviving} survived",
                generated=result.generated,
                drafts=drafts,
                surviving=result.surviving,
                tokens=result.usage.total_tokens,
                epoch=epoch,
                epoch_bits=bits_json(epoch_totals.bits),
                persona_bits=bits_json(totals.bits),
                session_tokens=self.tally.totals().tokens,
            )
            if pause is not None:
                self._pause(persona.id, day, pause)
                return

    async def _run_day(self, runner: DayRunner, plan: DayPlan, leftovers: bool = True) -> DayResult:
        """The day, its entries then in Chroma: here, or as a Ray task (`days`) whose worker writes them.
        `leftovers`: an earlier attempt may have written part of the day; that is deleted first."""
        async with self.day_slots:  # days in flight at once: see `day_slots`
            if self.days is not None:
                return await self.days.run(plan, runner)
            if leftovers:  # Chroma work, off the event loop
                await asyncio.to_thread(self.log.delete, session=plan.session, persona=plan.persona.id, day=plan.day)
            return await runner.run(plan, store=self.writer.add)  # each day's entries stored as they are ready

    def _pause(self, persona: str, day: int, pause: Pause) -> None:
        self._paused[persona] = f"{persona} paused after day {day} for review: {pause.reason}"
        self._event("persona_paused", persona, day, pause.reason, epoch=pause.epoch, cause=pause.cause)

    def _commit(self, result: DayResult, epoch: int, drafts: int, pause: Pause | None) -> None:
        plan = result.plan
        share = self.sessions.commit_day(
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
            drafts=drafts,
            epoch=epoch,
            pause=pause,
        )
        self.tally.record(plan.persona.id, plan.day, epoch, share)

    def _record_failure(self, plan: DayPlan, exc: GroundhogError, epoch: int, pause: Pause | None) -> None:
        message = str(exc)
        spent = usage if isinstance(usage := getattr(exc, "usage", None), Usage) else Usage()
        self._event("day_failed", plan.persona.id, plan.day, message)
        with contextlib.suppress(StoreError):  # the store itself is failing; the event above still tells
            share = self.sessions.commit_day(
                session=plan.session,
                persona=plan.persona.id,
                day=plan.day,
                present=plan.present,
                summary={"persona": plan.persona.id, "day": plan.day, "error": message},
                generated=0,
                surviving=0,
                prompt_tokens=spent.prompt_tokens,  # the failed calls cost tokens too: they count
                completion_tokens=spent.completion_tokens,
                queue_items=[],
                queue=self.queue,
                status="failed",
                error=message,
                drafts=0,
                epoch=epoch,
                pause=pause,
            )
            self.tally.record(plan.persona.id, plan.day, epoch, share)

    async def run(self) -> RunOutcome:
        c = self.config
        self.sessions.set_status(c.id, "running", "")
        await asyncio.to_thread(ingest_corpus, self.log, *self.personas)
        self._event("session_started", message=f"{len(self.personas)} personas, depth {c.depth}")
        self._waiting = self.epochs.open_reviews(
            c, [p.id for p in self.personas], self.queue, self.no_wait, self._event
        )
        await self.rejudge()
        rows = self.sessions.days(c.id)  # one read of every day row and pause, for all personas
        self.tally = Tally(rows)
        for row in rows:
            self._rows.setdefault(row.persona, []).append(row)
        self._epoch_at_start = self.epochs.currents(c.id)
        todo = {p.id: days_to_run(c, self._rows.get(p.id, [])) for p in self.personas}
        self.seminar = Seminar(c.seminar_every, self.queue, c.id, c.ideas_per_day, todo)
        tasks = [
            asyncio.create_task(self.seminar.attending(p.id, self._persona_loop(p)), name=p.id) for p in self.personas
        ]
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

    async def rejudge(self) -> Rejudged:
        """Ideas an earlier run left unjudged are judged again first; their tokens count to their day."""
        done = await rejudge_session(
            session=self.config.id,
            log=self.log,
            queue=self.queue,
            personas={p.id: p for p in self.personas},
            stage_for=self._stage,
        )
        for (persona, day), usage in done.by_day.items():
            judged = done.judged_ids.get((persona, day), [])
            self.sessions.add_rejudged(self.config.id, persona, day, usage, judged)
        if done.judged or done.still_unjudged:
            self._event(
                "step",
                message=f"judged {done.judged} unjudged ideas again ({done.passed} passed, "
                f"{done.still_unjudged} still unjudged)",
            )
        return done

    def _conclude(self) -> RunOutcome:
        c = self.config
        failures = failure_note(self.sessions, c, [p.id for p in self.personas], self._stopped)
        resume = f"`groundhog babble --resume {c.id}`"
        if self.stop_reason is not None:
            status, reason = self.stop_status, self.stop_reason + (f"; {failures}" if failures else "")
        elif self._stopped and len(self._stopped) == len(self.personas):
            status, reason = (
                "failed",
                "every persona stopped: " + "; ".join(f"{k}: {v}" for k, v in self._stopped.items()),
            )
        elif self._paused or self._waiting:
            status = "awaiting-review"
            parts = list(self._paused.values())
            parts += [w.describe() for w in self._waiting.values()]
            reason = "; ".join(parts) + (
                f": decide its ideas (`groundhog review --session {c.id}`), then {resume}"
                if len(parts) == 1
                else f": decide their ideas (`groundhog review --session {c.id}`), then {resume}"
            )
            if failures:
                reason += f"; {failures}"
        elif failures:
            status, reason = "completed-with-failures", f"completed; {failures}"
        else:
            status, reason = "completed", f"all {c.depth} days done"
        with contextlib.suppress(StoreError):  # a log gone by now (its process killed): the status still counts
            unjudged = len(unjudged_ideas(self.log, c.id)) if status != "failed" else 0
            if unjudged:
                reason += f"; {unjudged} idea{'s' if unjudged > 1 else ''} unjudged (judged again on {resume})"
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
