"""Starting and resuming sessions: turn options into a saved SessionConfig, and wire a runner."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from groundhog.compose.services import Services
from groundhog.core.errors import BadInput
from groundhog.core.records import utcnow
from groundhog.core.settings import CritiqueOptions, LoopOptions, ModelSettings, Settings
from groundhog.loop.epochs import Epochs
from groundhog.loop.events import EventSink, ignore
from groundhog.loop.rejudge import Rejudged
from groundhog.loop.runner import RunOutcome, SessionRunner
from groundhog.loop.start import check_present, ingest_corpus
from groundhog.loop.work import DayExecutor
from groundhog.memory.store import LogStore
from groundhog.researchers.personas import Persona
from groundhog.store.queue import ReviewQueue
from groundhog.store.sessions import MAX_DAY_ATTEMPTS, SessionConfig, SessionRow, SessionStore

SESSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_config(
    settings: Settings,
    personas: list[str],
    *,
    session: str | None = None,
    present: date | None = None,
) -> SessionConfig:
    loop = settings.loop
    present = present or utcnow().date()
    check_present(present, loop.depth, loop.drift_days, allow_far_future=loop.allow_far_future)
    name = session or utcnow().strftime("s%Y%m%d-%H%M%S")
    if not SESSION_NAME.match(name):
        raise BadInput(f"--session: '{name}' must be 1-64 letters, digits, '.', '_' or '-'")
    critique = settings.critique
    return SessionConfig(
        id=name,
        personas=personas,
        present=present,
        **loop.model_dump(include=set(LoopOptions.model_fields)),
        **critique.model_dump(include=set(CritiqueOptions.model_fields)),
        critic_judges_manipulation=settings.critic_judges_manipulation(),
        thresholds=settings.thresholds(),
        babble=settings.babble,
        critic=settings.critic,
    )


def settings_for(config: SessionConfig, settings: Settings) -> Settings:
    """The home's settings with the session's saved model choices, for a resume."""
    return settings.model_copy(update={"babble": config.babble, "critic": config.critic})


def check_resume(store: SessionStore, queue: ReviewQueue, row: SessionRow, *, no_wait: bool = False) -> None:
    """Refuse (BadInput, exit 2) a resume with nothing to do, or one that would skip a review.

    A persona paused for review goes on only when every idea it queued up to the pause is decided
    (accepted, rejected or deferred); `no_wait` goes on anyway, and the runner records that."""
    if row.status == "completed":
        raise BadInput(f"--resume: session '{row.id}' is completed ({row.reason})")
    left = [(p, store.days_to_run(row.config, p)) for p in row.config.personas]
    if not any(days for _, days in left):
        raise BadInput(
            f"--resume: session '{row.id}' has nothing left to run: every day is done or has failed "
            f"{MAX_DAY_ATTEMPTS} times ({row.status}: {row.reason})"
        )
    waiting = Epochs(store).waiting(row.id, queue, row.config.personas)
    if waiting and not no_wait:
        raise BadInput(
            f"--resume: session '{row.id}' is paused for review: "
            + "; ".join(w.describe() for w in waiting)
            + f". Decide them (`groundhog review --session {row.id}`, or `groundhog queue decide ID "
            "accept|reject|defer`), or go on without the review: "
            f"`groundhog babble --resume {row.id} --no-wait`"
        )


def open_services(
    services: Services, config: SessionConfig, cluster: Callable[[], DayExecutor] | None = None
) -> DayExecutor | None:
    """Before any work starts: the Chroma server answers (`chroma_url`), or the home's store gets a
    server of the night's own (`chroma_process`); with a `cluster` (the command's: `--ray`), that joins
    the cluster and checks a worker on each node. Each failure is one line naming the setting, exit 2.
    Returns the executor for `make_runner(days=...)` (close it after the night), or None: in-process."""
    from groundhog.core.extras import require_settings

    require_settings(services.settings)  # a missing extra (the embedded model, ...): one line, no session
    if cluster is not None:
        if services.settings.chroma_url:
            services.chroma  # noqa: B018 -- the heartbeat, from the driver first
        return cluster()
    if services.settings.chroma_url:
        services.chroma  # noqa: B018
    elif chroma_process_wanted(services.settings.chroma_process, config):
        services.start_chroma_process()
    return None


def chroma_process_wanted(setting: str, config: SessionConfig) -> bool:
    """`chroma_process`: "auto" serves the home's store from Chroma's own server, a child of the night,
    when more than one persona runs at once, where its writes would otherwise stall the others
    (memory/chroma_server.py)."""
    if setting == "auto":
        return min(config.concurrency, len(config.personas)) > 1
    return setting == "on"


@contextmanager
def _ingesting(open_log: Callable[[], LogStore], personas: list[Persona]) -> Iterator[None]:
    """The log opened and the personas' corpus embedded into it on a second thread while the body
    runs. Building an endpoint's chat model is mostly importing (~0.9 s of Python); opening the log
    mostly waiting for its store (a `chroma run` server starting), embedding the corpus mostly
    native inference that leaves the interpreter free: side by side they take the longer of the two,
    not the sum (a first night's start, bench/concurrency.py). The runner's own ingest then finds it
    done; an error here is left for the runner's own opening and ingest to raise."""

    def ingest() -> None:
        with contextlib.suppress(Exception):
            ingest_corpus(open_log(), *personas)

    done = threading.Thread(target=ingest, name="corpus-ingest")
    done.start()
    try:
        yield
    finally:
        done.join()


def make_runner(
    services: Services,
    config: SessionConfig,
    on_event: EventSink = ignore,
    *,
    no_wait: bool = False,
    days: DayExecutor | None = None,
    fresh: bool = False,
) -> SessionRunner:
    """The runner for a session. `fresh`: the session was created for this run (not resumed), so no
    earlier process can have left a half-written day to delete first."""
    registry = services.personas
    personas = [registry.get(p) for p in config.personas]
    if config.cross_critic and config.cross_critic != "auto":
        registry.get(config.cross_critic)  # fail early on an unknown name
    with _ingesting(lambda: services.log, personas):
        babble_model, critic_model = services.babble_model, services.critic_model
    runner = SessionRunner(
        config=config,
        personas=personas,
        all_personas=registry.all(),
        log=services.log,
        sessions=SessionStore(services.db),
        queue=services.queue,
        babble_model=babble_model,
        critic_model=critic_model,
        embedder=services.embedder,
        retrieval=services.settings.retrieval,
        on_event=on_event,
        no_wait=no_wait,
        days=days,
        fresh=fresh,
    )
    for client in {
        id(runner.babble_model): runner.babble_model,
        id(runner.critic_model): runner.critic_model,
    }.values():
        client.on_retry = lambda message: runner.note_retry(message)
    return runner


def run_session(runner: SessionRunner, *, handle_signals: bool = True) -> RunOutcome:
    """Run to the end. First SIGINT/SIGTERM: finish the days in progress; second: stop at once."""

    async def main() -> RunOutcome:
        loop = asyncio.get_running_loop()
        count = {"n": 0}

        def on_signal(signame: str) -> None:
            count["n"] += 1
            if count["n"] == 1:
                runner.request_stop(f"interrupted by {signame}: finished the days in progress", "interrupted")
            else:
                # At once: a model call in flight (llama.cpp holds its thread) is not waited for. Every
                # committed day is safe and the day in progress is redone on resume.
                reason = f"interrupted by a second {signame}: stopped at once"
                runner.sessions.set_status(runner.config.id, "interrupted", reason)
                sys.stdout.flush()
                sys.stderr.write(f"groundhog: {reason}; resume with `groundhog babble --resume {runner.config.id}`\n")
                os._exit(130)

        installed = []
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, on_signal, sig.name)
                    installed.append(sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
        try:
            return await _with_hard_limit(runner)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    return asyncio.run(main())


async def _with_hard_limit(runner: SessionRunner) -> RunOutcome:
    """--hours is checked between days; past 1.25x of it the day in progress is abandoned (it is redone
    on resume), so a session never runs far past the morning."""
    hours = runner.config.hours
    if hours is None:
        return await runner.run()
    try:
        return await asyncio.wait_for(runner.run(), timeout=hours * 3600 * 1.25 + 30)
    except TimeoutError:
        reason = f"--hours hard limit hit ({hours} h): the days in progress were abandoned; resume redoes them"
        runner.sessions.set_status(runner.config.id, "interrupted", reason)
        return RunOutcome("interrupted", reason)


def describe(outcome: RunOutcome) -> dict[str, Any]:
    return {"status": outcome.status, "reason": outcome.reason, "days_run": outcome.days_run}


def rejudge(services: Services, session: str, critic: ModelSettings | None = None) -> Rejudged:
    """`groundhog critique --rejudge`: judge a session's unjudged ideas again, with its own models (or
    `critic`), outside a babble run. Holds the session's lock, as a resume does."""
    from groundhog.store.locks import session_lock

    store = SessionStore(services.db)
    config = store.get(session).config
    if critic is not None:
        config = config.model_copy(update={"critic": critic})
    svc = Services(settings_for(config, services.settings))
    try:
        with session_lock(services.settings.home, session, services.db):
            return asyncio.run(make_runner(svc, config).rejudge())
    finally:
        svc.close()
