"""`groundhog rank`: start or resume a pairwise tournament of queued ideas, judged by the critic model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from groundhog.core.errors import BadInput
from groundhog.core.records import utcnow
from groundhog.rank.tournament import RankReport, Tournament
from groundhog.store.locks import session_lock
from groundhog.store.tournaments import TournamentRow, TournamentStore

if TYPE_CHECKING:
    from groundhog.core.settings import Settings
    from groundhog.providers.client import ModelClient
    from groundhog.store.database import Database
    from groundhog.store.queue import ReviewQueue

DEFAULT_MATCHES = 5


class Services(Protocol):
    """What a tournament uses of a home, as the composition root (`compose.services.Services`) holds it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def queue(self) -> ReviewQueue: ...
    @property
    def critic_model(self) -> ModelClient: ...


def entrants(svc: Services, session: str | None) -> list[str]:
    """The ideas still open for review (pending, then deferred), of one session or of all."""
    pending = svc.queue.list(status="pending", session=session)
    deferred = svc.queue.list(status="deferred", session=session)
    return [i.id for i in pending + deferred]


def start(
    svc: Services,
    *,
    session: str | None = None,
    matches: int = DEFAULT_MATCHES,
    max_tokens: int | None = None,
    both_orders: bool = False,
    name: str | None = None,
) -> TournamentRow:
    """A new tournament over the open ideas; BadInput when fewer than two are open."""
    if matches < 1:
        raise BadInput(f"--matches: {matches} must be 1 or more")
    ideas = entrants(svc, session)
    if len(ideas) < 2:
        where = f" in session '{session}'" if session else ""
        raise BadInput(f"nothing to rank: {len(ideas)} open idea{'s' if len(ideas) != 1 else ''}{where} (need 2)")
    tid = name or utcnow().strftime("r%Y%m%d-%H%M%S")
    return TournamentStore(svc.db).create(
        tid,
        session=session or "",
        ideas=ideas,
        matches=matches,
        max_tokens=max_tokens,
        both_orders=both_orders,
        judge=svc.critic_model.name,
    )


def resume(svc: Services, tid: str, *, max_tokens: int | None = None) -> TournamentRow:
    """An existing tournament, ready to go on; a larger --max-tokens lifts its budget."""
    store = TournamentStore(svc.db)
    row = store.get(tid)
    if row.status == "completed":
        raise BadInput(f"--resume: tournament '{tid}' is completed ({row.reason})")
    if max_tokens is not None:
        store.update(tid, max_tokens=max_tokens)
    elif row.status == "budget-reached":
        raise BadInput(
            f"--resume: tournament '{tid}' spent its budget ({row.reason}); give a larger --max-tokens to go on"
        )
    return store.get(tid)


def run(svc: Services, row: TournamentRow, on_progress: Callable[[str], None] | None = None) -> RankReport:
    """Play the tournament's remaining rounds (one process per tournament, as for a session)."""
    wanted = set(row.ideas)
    items = {i.id: i for i in svc.queue.list() if i.id in wanted}
    tournament = Tournament(
        store=TournamentStore(svc.db),
        items=items,
        model=svc.critic_model,
        limit=asyncio.Semaphore(svc.settings.loop.concurrency),
        on_progress=on_progress,
    )
    with session_lock(svc.settings.home, f"rank-{row.id}", svc.db):
        return asyncio.run(tournament.run(row.id))
