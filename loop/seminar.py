"""The seminar (`--seminar-every N`): after every N days, each persona reads the night's best ideas of the
other personas in its wake-up context (entries S1, S2, ...) and may combine or refine them, citing them.
Such an idea is like any other idea of its day (the same screens, critic and selection bits); the ideas it
cites there are its parents, recorded with their authors.

Before day d a seminar reads what the queue holds of days up to d - 1, so a persona's seminar day waits
until every persona of the run has settled (committed, done or failed) its days before d, or has left the
night. The reading then derives from committed rows only: a night resumed after a crash reads what the
uninterrupted night read. A persona waits for the others before its day starts and holds nothing while
it waits, so personas that wait for each other at the same day always go on together.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from groundhog.core.records import LogEntry, MetaValue, QueueItem
from groundhog.critique.entries import idea_entry
from groundhog.providers.client import Message
from groundhog.researchers.prompts import prompts

if TYPE_CHECKING:
    from groundhog.store.queue import ReviewQueue

SEMINAR_MAX = 8  # ideas a seminar shows at most, whatever the window
TOKENS_PER_IDEA = 1500  # room in the wake-up per idea shown: a strong model's idea is ~300-600 tokens
SETTLED = 1 << 62  # the floor of a persona with no day left in this run


def seminar_day(every: int, day: int) -> bool:
    """Is there a seminar before `day`? After every `every` days: before days every+1, 2*every+1, ..."""
    return every > 0 and day > 1 and (day - 1) % every == 0


def seminar_reach(budget_tokens: int) -> int:
    """How many ideas a seminar reads, fitted to the wake-up's room (which then fits their text)."""
    return max(1, min(SEMINAR_MAX, budget_tokens // TOKENS_PER_IDEA))


def seminar_entry(item: QueueItem) -> LogEntry:
    """A queued idea as the wake-up lists it: its author, day, the critic's mean, the reviewer's accept."""
    extra: dict[str, MetaValue] = {}
    if item.critique.scores is not None:
        extra["mean"] = round(item.critique.scores.mean, 2)
    if item.status == "accepted":
        extra["accepted"] = True
    return idea_entry(item.idea, item.critique, item.queued_at, **extra)


def with_seminar(messages: list[Message]) -> list[Message]:
    """The babble prompt with the seminar's request appended to its user part."""
    role, text = messages[-1]
    return [*messages[:-1], (role, text + prompts()["seminar"]["user"])]


class Attendance:
    """Which days each persona of the run has still to settle, and waits for every persona's days up to one.

    A persona's floor is its first day still to settle in this run (SETTLED when none is left); a persona's
    loop settles its days in order, so all of them are settled up to d - 1 exactly when the least floor is
    past it. Floors only rise: the least floor is kept with a count per floor, in constant time per day."""

    def __init__(self, todo: Mapping[str, Sequence[int]]) -> None:
        self._left = {persona: deque(sorted(days)) for persona, days in todo.items()}
        self._floors = Counter(self._floor(p) for p in self._left)
        self._least = min(self._floors, default=SETTLED)
        self._gates: dict[int, asyncio.Event] = {}

    def _floor(self, persona: str) -> int:
        left = self._left.get(persona)
        return left[0] if left else SETTLED

    def settle(self, persona: str, day: int) -> None:
        """The persona's day is committed (done or failed): it is not run again in this run."""
        left = self._left.get(persona)
        if left and day in left:
            self._move(persona, lambda: left.remove(day))

    def leave(self, persona: str) -> None:
        """The persona's loop ended (its days done, a pause, a stop): it settles nothing more."""
        left = self._left.get(persona)
        if left:
            self._move(persona, left.clear)

    def _move(self, persona: str, change: Callable[[], object]) -> None:
        before = self._floor(persona)
        change()
        self._floors[before] -= 1
        if not self._floors[before]:
            del self._floors[before]
        self._floors[self._floor(persona)] += 1
        least = min(self._floors, default=SETTLED) if before == self._least else self._least
        if least != self._least:
            self._least = least
            for through in [t for t in self._gates if t < least]:
                self._gates.pop(through).set()

    def settled(self, through: int) -> bool:
        return self._least > through

    async def wait(self, through: int, stopping: asyncio.Event) -> bool:
        """Until every persona has settled its days up to `through` (True), or the night stops (False)."""
        if self.settled(through):
            return True
        gate = self._gates.setdefault(through, asyncio.Event())
        waits = [asyncio.ensure_future(gate.wait()), asyncio.ensure_future(stopping.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return self.settled(through)


class Seminar:
    """The seminars of one run: who has settled what, and what each seminar reads."""

    def __init__(
        self, every: int, queue: ReviewQueue, session: str, ideas_per_day: int, todo: Mapping[str, Sequence[int]]
    ) -> None:
        self.every = every
        self.queue = queue
        self.session = session
        self.ideas_per_day = ideas_per_day
        self.attendance = Attendance(todo)
        self._reads: dict[tuple[int, int], asyncio.Task[list[QueueItem]]] = {}

    async def attending(self, persona: str, loop: Awaitable[None]) -> None:
        """A persona's loop; when it ends, however it ends, the persona has left."""
        try:
            await loop
        finally:
            self.attendance.leave(persona)

    def settle(self, persona: str, day: int) -> None:
        self.attendance.settle(persona, day)

    async def reading(self, persona: str, day: int, reach: int, stopping: asyncio.Event) -> list[LogEntry]:
        """What `persona` reads at the seminar before `day` (nothing without one, or when the night stops):
        the best `reach` survivors of the other personas, of days before `day`."""
        if not seminar_day(self.every, day) or not await self.attendance.wait(day - 1, stopping):
            return []
        key = (day - 1, reach)
        if key not in self._reads:  # one query for every persona at this seminar; older seminars' dropped
            self._reads = {k: v for k, v in self._reads.items() if k > key}
            self._reads[key] = asyncio.ensure_future(self._best(*key))
        read = self._reads[key]
        try:
            best = await asyncio.shield(read)
        except Exception:
            self._reads.pop(key, None)  # the store failed: the next persona asks again
            raise
        return [seminar_entry(item) for item in best if item.idea.persona != persona][:reach]

    async def _best(self, through: int, reach: int) -> list[QueueItem]:
        # The persona's own survivors are at most ideas_per_day a day: read that many more than it shows.
        more = self.ideas_per_day * through
        return await asyncio.to_thread(self.queue.best_survivors, self.session, through, reach + more)
