"""A Ray worker's side of a persona-day. The worker builds its own parts from the settings (the model
clients straight to the endpoint, the embedder, the log on the Chroma server), once per worker process,
and reuses them for every day it runs. A day deletes what an attempt cut short left in the log, runs
(`DayRunner.run`), upserts its entries (deterministic ids: a day redone after a dead worker writes the
same ids again) and returns its `DayResult` to the driver, which keeps the budgets, the events and
every SQLite write. No Ray import here: these functions are plain, Ray runs them as tasks."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from groundhog.compose.services import Services
from groundhog.core.errors import GroundhogError
from groundhog.core.settings import Settings
from groundhog.critique.screens import TextScreens
from groundhog.loop.day import DayPlan, DayResult, DayRunner
from groundhog.loop.work import NewestSnapshot, build_stage
from groundhog.researchers.personas import Persona
from groundhog.store.sessions import SessionConfig

if TYPE_CHECKING:
    from groundhog.store.recent import RecentIndex


@dataclass(frozen=True)
class Night:
    """What every day of a session shares; put into Ray's object store once."""

    settings: Settings  # the home's settings with the session's models (no secrets: keys are env names)
    config: SessionConfig | None  # None: for `doctor --ray`'s checks only


# A day runner's parts that a worker builds for itself; every other attribute is a setting of the day
# (retrieval weights, shared kinds, context tokens, ...) and travels with the job as it is.
OWN_PARTS = frozenset({"log", "model", "stage_factory", "recent", "_limit", "_on_step"})


@dataclass(frozen=True)
class DayJob:
    """One persona-day as the driver hands it out: the plan, and the settings of the day runner the
    session would have used in-process (so a setting added there reaches the workers too)."""

    plan: DayPlan
    cross_critic: Persona | None
    newest: NewestSnapshot | None
    runner_settings: dict[str, Any]

    @classmethod
    def of(cls, plan: DayPlan, runner: DayRunner, cross_critic: Persona | None) -> DayJob:
        newest = None
        if runner.recent is not None:  # read here, on the driver: the worker has no database
            shared = "feedback" in runner.shared_kinds
            newest = NewestSnapshot.take(runner.recent, plan.persona.id, shared_feedback=shared)
        own = {k: v for k, v in vars(runner).items() if k not in OWN_PARTS}
        return cls(plan, cross_critic, newest, own)


class WorkerParts:
    """A worker process's models, embedder, log and event loop, built from the settings on first use."""

    def __init__(self, settings: Settings) -> None:
        self.services = Services(settings)
        self.screens = TextScreens(self.services.embedder)
        self.loop = asyncio.new_event_loop()  # kept: the model clients' connections live on it

    def fresh_loop(self) -> None:
        """After a day was cut short (cancelled): start the next one on a clean loop."""
        self.loop.close()
        self.loop = asyncio.new_event_loop()


_PARTS: dict[str, WorkerParts] = {}  # per worker process, by settings: built once, not per day


def parts_for(settings: Settings) -> WorkerParts:
    key = settings.model_dump_json()
    if key not in _PARTS:
        _PARTS[key] = WorkerParts(settings)
    return _PARTS[key]


def run_day(night: Night, job: DayJob) -> DayResult:
    """The Ray task: one persona-day, its entries written to the log; returns the result."""
    assert night.config is not None
    parts = parts_for(night.settings)
    try:
        return parts.loop.run_until_complete(_day(parts, night.config, job))
    except GroundhogError:
        raise
    except BaseException:
        parts.fresh_loop()
        raise


async def _day(parts: WorkerParts, config: SessionConfig, job: DayJob) -> DayResult:
    svc, plan = parts.services, job.plan
    log = svc.log
    await asyncio.to_thread(log.delete, session=plan.session, persona=plan.persona.id, day=plan.day)
    limit = asyncio.Semaphore(config.concurrency)  # model calls of this day in flight at once
    runner = DayRunner(
        log=log,
        model=svc.babble_model,
        stage_factory=lambda: build_stage(
            config,
            job.cross_critic,
            log=log,
            embedder=svc.embedder,
            babble_model=svc.babble_model,
            critic_model=svc.critic_model,
            screens=parts.screens,
            limit=limit,
        ),
        recent=cast("RecentIndex | None", job.newest),
        limit=limit,
    )
    vars(runner).update(job.runner_settings)
    result = await runner.run(plan)
    await asyncio.to_thread(log.add, result.entries)  # idempotent upsert: a redone day writes the same ids
    return result


def probe(night: Night) -> dict[str, Any]:
    """The check task run once per node before a night: can a worker here build its parts and reach the
    log? Returns what it found, or the one-line error it met."""
    where = {"node": socket.gethostname(), "pid": os.getpid()}
    try:
        parts = parts_for(night.settings)
        svc = parts.services
        entries = svc.log.count()  # the Chroma server, from this node
        dim = len(svc.embedder.embed(["a tiny test sentence"])[0])
        models = sorted({svc.babble_model.name, svc.critic_model.name})
    except Exception as exc:  # reported to the driver as one line, not raised
        return {**where, "error": str(exc) if isinstance(exc, GroundhogError) else f"{type(exc).__name__}: {exc}"}
    return {**where, "entries": entries, "embedding_dim": dim, "models": models}
