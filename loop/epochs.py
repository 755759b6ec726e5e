"""Review epochs: a persona's days between two reviews, the pauses that end them, and failed days in words.

Epoch 1 starts with the session. A pause for review ends it with an `epochs` row in status `waiting`:
after day N, 2N, ... with `--review-every N`, or after the day that brings the epoch's selection bits
to `--max-selection-bits`. The next epoch starts when every idea the persona queued up to the pause is
decided (accepted, rejected or deferred): at the next resume the row becomes `reviewed`. `--resume
--no-wait` starts it anyway and the row says `resumed-without-review`, with the ids still undecided.
Each day row carries its epoch, so a failed day redone later counts in the epoch it was redone in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from groundhog.core.records import QueueItem
from groundhog.store.epochs import EpochRow, EpochStore
from groundhog.store.queue import ReviewQueue
from groundhog.store.sessions import (
    MAX_DAY_ATTEMPTS,
    DayRow,
    Pause,
    SessionConfig,
    SessionStore,
    bits_json,
    day_list,
)


class Waiting(BaseModel):
    """A persona paused for review whose queued ideas are not all decided yet."""

    persona: str
    pause: EpochRow
    undecided: list[QueueItem]

    def describe(self, limit: int = 5) -> str:
        shown = ", ".join(f"{i.idea.id} {i.idea.title[:40]!r}" for i in self.undecided[:limit])
        more = f" and {len(self.undecided) - limit} more" if len(self.undecided) > limit else ""
        n = len(self.undecided)
        return (
            f"{self.persona} waits for review of {n} undecided idea{'s' if n != 1 else ''} queued up to day "
            f"{self.pause.last_day} ({self.pause.reason}): {shown}{more}"
        )


class Epochs:
    """The pauses for review of a session's personas, over its session store's database."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.rows = EpochStore(store.db)

    def all(self, session_id: str, persona: str | None = None) -> list[EpochRow]:
        """The pauses recorded: one per ended (or waiting) epoch, oldest first."""
        return self.rows.all(session_id, persona)

    def waiting_pause(self, session_id: str, persona: str) -> EpochRow | None:
        rows = [e for e in self.all(session_id, persona) if e.status == "waiting"]
        return rows[-1] if rows else None

    def current(self, session_id: str, persona: str) -> int:
        """The epoch the persona's next day belongs to (while a pause waits: the epoch it ends)."""
        rows = self.all(session_id, persona)
        if not rows:
            return 1
        return rows[-1].epoch if rows[-1].status == "waiting" else rows[-1].epoch + 1

    def currents(self, session_id: str) -> dict[str, int]:
        """`current` of every persona with a pause recorded, in one read (the others are in epoch 1)."""
        out = {}
        for row in self.all(session_id):  # oldest first: each persona's last pause decides
            out[row.persona] = row.epoch if row.status == "waiting" else row.epoch + 1
        return out

    def paused_after(self, session_id: str, persona: str, day: int) -> bool:
        """Whether a pause was already recorded after this day or a later one."""
        return self.rows.paused_after(session_id, persona, day)

    def close(
        self,
        pause: EpochRow,
        status: Literal["reviewed", "resumed-without-review"],
        undecided: list[str] | None = None,
    ) -> None:
        self.rows.close(pause, status, undecided)

    def report(self, session_id: str, persona: str, queue: ReviewQueue) -> list[dict[str, Any]]:
        """Each review epoch of a persona with its days, counts and selection bits, oldest first.

        status: `reviewed`, `resumed-without-review`, `waiting` (paused; `undecided` lists the ideas the
        next epoch waits for, empty once all are decided) or `open` (the epoch the persona runs in)."""
        pauses = {e.epoch: e for e in self.all(session_id, persona)}
        days = self.store.days(session_id, persona)
        last = max([*pauses, *(d.epoch for d in days), 0])
        out: list[dict[str, Any]] = []
        for n in range(1, last + 1):
            members = [d for d in days if d.epoch == n]
            t = self.store.totals(session_id, persona, epoch=n)
            pause = pauses.get(n)
            undecided: list[str] = []
            if pause is not None and pause.status == "waiting":
                undecided = [i.idea.id for i in queue.list(status="pending", session=session_id, persona=persona)]
            elif pause is not None:
                undecided = pause.undecided
            out.append(
                {
                    "epoch": n,
                    "status": pause.status if pause else "open",
                    "days": [d.day for d in members if d.status == "done"],
                    "failed_days": [d.day for d in members if d.status == "failed"],
                    "generated": t.generated,
                    "drafts": max(t.drafts, t.generated),
                    "surviving": t.surviving,
                    "selection_bits": bits_json(t.bits),
                    "paused_after_day": pause.last_day if pause else None,
                    "cause": pause.cause if pause else None,
                    "reason": pause.reason if pause else "",
                    "paused_at": pause.paused_at.isoformat() if pause else None,
                    "closed_at": pause.closed_at.isoformat() if pause and pause.closed_at else None,
                    "undecided": undecided,
                }
            )
        return out

    def waiting(self, session_id: str, queue: ReviewQueue, personas: list[str] | None = None) -> list[Waiting]:
        """Personas paused for review with ideas still pending. A pause whose ideas are all decided is
        not waiting: the next `--resume` closes it as reviewed.

        While a persona is paused it queues nothing, so its pending items in the session are exactly the
        undecided ones among those it queued up to the pause."""
        out = []
        names = personas if personas is not None else self.store.get(session_id).config.personas
        for persona in names:
            pause = self.waiting_pause(session_id, persona)
            if pause is None:
                continue
            pending = queue.list(status="pending", session=session_id, persona=persona)
            if pending:
                out.append(Waiting(persona=persona, pause=pause, undecided=pending))
        return out

    def pause_after(
        self, c: SessionConfig, persona: str, day: int, epoch: int, drafts: int, surviving: int, more: bool
    ) -> Pause | None:
        """Whether the persona pauses for review after this day (decided before the day's commit, so the
        day and its pause land together). Only when the persona has more days to run."""
        if not more:
            return None
        if c.max_selection_bits is not None:
            t = self.store.totals(c.id, persona, epoch=epoch)
            t.drafts, t.surviving = t.drafts + drafts, t.surviving + surviving
            bits = t.budget_bits  # None while nothing survived: see Totals.budget_bits
            if bits is not None and bits >= c.max_selection_bits:
                return Pause(
                    epoch=epoch,
                    last_day=day,
                    cause="selection-bits",
                    reason=(
                        f"--max-selection-bits budget spent ({bits:.2f} of {c.max_selection_bits} bits in "
                        f"epoch {epoch}: {t.drafts} drafts, {t.surviving} survived)"
                    ),
                )
        return self.review_pause(c, persona, day, epoch, more)

    def review_pause(self, c: SessionConfig, persona: str, day: int, epoch: int, more: bool) -> Pause | None:
        """`--review-every N`: a pause after day N, 2N, ... (after a failed day too), once per such day."""
        every = c.review_every
        if not more or not every or day % every or self.paused_after(c.id, persona, day):
            return None
        return Pause(epoch=epoch, last_day=day, cause="review-every", reason=f"--review-every {every}")

    def open_reviews(
        self, c: SessionConfig, personas: list[str], queue: ReviewQueue, no_wait: bool, emit: Callable[..., None]
    ) -> dict[str, Waiting]:
        """At the start of a run: a pause whose ideas are all decided is closed (the next epoch starts);
        one still waiting keeps its persona paused (returned), unless `no_wait`, which closes it and says so.
        `emit(type, persona, day, message, **data)` reports each."""
        waiting: dict[str, Waiting] = {}
        pauses = {e.persona: e for e in self.all(c.id) if e.status == "waiting"}  # one read for all personas
        for persona in personas:
            pause = pauses.get(persona)
            if pause is None:
                continue
            pending = queue.list(status="pending", session=c.id, persona=persona)
            if not pending:
                self.close(pause, "reviewed")
                emit(
                    "review_done",
                    persona,
                    pause.last_day,
                    f"the ideas queued up to day {pause.last_day} are decided: epoch {pause.epoch + 1} starts",
                    epoch=pause.epoch + 1,
                )
            elif no_wait:
                ids = [i.idea.id for i in pending]
                self.close(pause, "resumed-without-review", ids)
                emit(
                    "resumed_without_review",
                    persona,
                    pause.last_day,
                    f"resumed without review (--no-wait): {len(ids)} ideas queued up to day "
                    f"{pause.last_day} are undecided",
                    epoch=pause.epoch + 1,
                    undecided=ids,
                )
            else:
                waiting[persona] = Waiting(persona=persona, pause=pause, undecided=pending)
                emit("persona_paused", persona, pause.last_day, waiting[persona].describe(), epoch=pause.epoch)
        return waiting


def failure_note(store: SessionStore, c: SessionConfig, personas: list[str], stopped: dict[str, str]) -> str:
    """Days still failed or never run, and personas stopped, in words ("" when there are none)."""
    exhausted: list[str] = []
    to_redo: list[str] = []
    not_run: list[str] = []
    every_row: dict[str, dict[int, DayRow]] = {}
    for row in store.days(c.id):  # one read for all personas
        every_row.setdefault(row.persona, {})[row.day] = row
    for persona in personas:
        rows = every_row.get(persona, {})
        for d in sorted(rows.values(), key=lambda r: r.day):
            if d.status != "failed":
                continue
            if d.attempts >= MAX_DAY_ATTEMPTS:
                exhausted.append(f"{persona} day {d.day}, {d.attempts} attempts")
            else:
                to_redo.append(f"{persona} day {d.day}, {d.attempts} of {MAX_DAY_ATTEMPTS} attempts")
        missing = [day for day in range(1, c.depth + 1) if day not in rows]
        if missing and (persona in stopped or any(r.status == "failed" for r in rows.values())):
            not_run.append(f"{persona} {day_list(missing)}")
    parts = []
    if exhausted:
        n = len(exhausted)
        parts.append(f"{n} day{'s' if n != 1 else ''} still failed ({'; '.join(exhausted)})")
    if to_redo:
        n = len(to_redo)
        parts.append(
            f"{n} failed day{'s' if n != 1 else ''} to redo ({'; '.join(to_redo)}): "
            f"`groundhog babble --resume {c.id}` redoes {'them' if n != 1 else 'it'}"
        )
    if not_run:
        parts.append(f"not run: {'; '.join(not_run)}")
    parts += [f"{k} {v}" for k, v in stopped.items()]
    return "; ".join(parts)
