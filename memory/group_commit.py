"""Group commit for the log: the entries of days that finish together go to Chroma in one upsert.

An embedded Chroma upsert costs about 10 ms of its own plus about 0.5 ms an entry (and, in this
process, holds the GIL all that time: memory/chroma_server.py), so with dozens of personas a write
per day is most of the store's work. Days that finish while a write is in progress wait for the next
one, which takes them all, embedded in one batch; with several personas at once, a write first waits
`gather_s` (15 ms) for the days finishing with it to join. A day still returns only once its own
entries are stored, so its SQLite commit keeps coming after them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from groundhog.core.records import LogEntry
from groundhog.memory.store import LogStore

GATHER_S = 0.015  # how long a write waits for other days to join it, when several run at once
MAX_GROUP_ENTRIES = 512  # one upsert at most this big: a long write delays every day waiting on it


class GroupWriter:
    """`await add(entries)` from any number of tasks on one event loop."""

    def __init__(self, log: LogStore, *, max_entries: int = MAX_GROUP_ENTRIES, gather_s: float = 0.0) -> None:
        self.log = log
        self.max_entries = max_entries
        self.gather_s = gather_s
        self.adds = 0  # calls to add, and
        self.writes = 0  # the upserts made for them: for tests and benchmarks
        self._waiting: list[tuple[list[LogEntry], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, entries: Sequence[LogEntry]) -> None:
        """Returns once `entries` are in the log, or raises the error that writing them raised."""
        if not entries:
            return
        self.adds += 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((list(entries), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await asyncio.shield(done)  # a cancelled day leaves the write to finish for the others

    async def _drain(self) -> None:
        if self.gather_s:  # the days finishing with this one join its write, rather than queue behind it
            await asyncio.sleep(self.gather_s)
        while self._waiting:
            group: list[tuple[list[LogEntry], asyncio.Future[None]]] = []
            size = 0
            while self._waiting and (not group or size + len(self._waiting[0][0]) <= self.max_entries):
                entries, done = self._waiting.pop(0)
                group.append((entries, done))
                size += len(entries)
            await self._write(group)

    async def _write(self, group: list[tuple[list[LogEntry], asyncio.Future[None]]]) -> None:
        try:
            await asyncio.to_thread(self.log.add, [e for entries, _ in group for e in entries])
            self.writes += 1
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][1], exc)
                return
            for member in group:  # one day's bad entry must not fail the others: each on its own
                await self._write([member])
            return
        for _, done in group:
            _settle(done, None)


def _settle(done: asyncio.Future[None], exc: BaseException | None) -> None:
    if done.done():
        return
    if exc is None:
        done.set_result(None)
    else:
        done.set_exception(exc)
