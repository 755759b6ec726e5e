"""Group commit for the log: the entries of days that finish together go to Chroma in one upsert.

An embedded Chroma upsert costs about 10 ms of its own plus about 0.5 ms an entry (and, in this
process, holds the GIL all that time: memory/chroma_process.py), so with dozens of personas a write
per day is most of the store's work. Days that finish while a write is in progress wait for the next
one, which takes them all; each day embeds its own entries first, so the writes only upsert. A day
still returns only once its own entries are stored, so its SQLite commit keeps coming after them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from groundhog.core.records import LogEntry
from groundhog.memory.store import LogStore

Waiting = tuple[list[LogEntry], list[list[float]], "asyncio.Future[None]"]  # a day's entries, vectors, done
MAX_GROUP_ENTRIES = 512  # one upsert at most this big: a long write delays every day waiting on it


class GroupWriter:
    """`await add(entries)` from any number of tasks on one event loop."""

    def __init__(self, log: LogStore, *, max_entries: int = MAX_GROUP_ENTRIES) -> None:
        self.log = log
        self.max_entries = max_entries
        self.adds = 0  # calls to add, and
        self.writes = 0  # the upserts made for them: for tests and benchmarks
        self._waiting: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, entries: Sequence[LogEntry]) -> None:
        """Returns once `entries` are in the log, or raises the error that writing them raised."""
        if not entries:
            return
        self.adds += 1
        entries = list(entries)
        # Embedded here, each day on its own, so that the writes, one group at a time, only upsert.
        vectors = await asyncio.to_thread(self.log.embedder.embed, [e.text for e in entries])
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((entries, vectors, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await asyncio.shield(done)  # a cancelled day leaves the write to finish for the others

    async def _drain(self) -> None:
        while self._waiting:
            group: list[Waiting] = []
            size = 0
            while self._waiting and (not group or size + len(self._waiting[0][0]) <= self.max_entries):
                group.append(self._waiting.pop(0))
                size += len(group[-1][0])
            await self._write(group)

    async def _write(self, group: list[Waiting]) -> None:
        entries = [e for member in group for e in member[0]]
        vectors = [v for member in group for v in member[1]]
        try:
            await asyncio.to_thread(self.log.add, entries, vectors)
            self.writes += 1
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][2], exc)
                return
            for member in group:  # one day's bad entry must not fail the others: each on its own
                await self._write([member])
            return
        for *_, done in group:
            _settle(done, None)


def _settle(done: asyncio.Future[None], exc: BaseException | None) -> None:
    if done.done():
        return
    if exc is None:
        done.set_result(None)
    else:
        done.set_exception(exc)
