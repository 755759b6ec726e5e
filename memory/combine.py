"""Calls made at the same time from several threads, answered by one call.

A night's personas run their embedding and vector-store work on worker threads, at nearly the same
moments (their model replies come back together). Where a call takes a list and answers item by item
(texts to vectors, query vectors to their neighbours), the requests that arrive while one call is in
progress wait for it to end, and the next call takes all of them: one at a time, and as few as the load
allows, with no waiting at all when a request comes alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

X = TypeVar("X")
Y = TypeVar("Y")


@dataclass
class _Request(Generic[X, Y]):
    items: list[X]
    answers: list[Y] | None = None
    error: BaseException | None = None
    done: bool = field(default=False)


class Combiner(Generic[X, Y]):
    """`combiner(items)` from any thread: `fn(items)` (one answer per item, in order), with the items of
    the requests waiting meanwhile run together. An error of the combined call is every member's."""

    def __init__(self, fn: Callable[[list[X]], list[Y]]) -> None:
        self._fn = fn
        self._run = threading.Lock()
        self._waiting: list[_Request[X, Y]] = []
        self._lock = threading.Lock()
        self.calls = 0  # the calls made, for tests and benchmarks

    def __call__(self, items: Sequence[X]) -> list[Y]:
        request: _Request[X, Y] = _Request(list(items))
        with self._lock:
            self._waiting.append(request)
        with self._run:
            if not request.done:  # not taken by the call before this one
                with self._lock:
                    group, self._waiting = self._waiting, []
                self._call(group)
        if request.error is not None:
            raise request.error
        assert request.answers is not None
        return request.answers

    def _call(self, group: list[_Request[X, Y]]) -> None:
        self.calls += 1
        try:
            answers = self._fn([item for r in group for item in r.items])
            if len(answers) != sum(len(r.items) for r in group):
                raise ValueError(f"{len(answers)} answers for {sum(len(r.items) for r in group)} items")
        except BaseException as exc:
            for r in group:
                r.error, r.done = exc, True
            return
        start = 0
        for r in group:
            r.answers, r.done = answers[start : start + len(r.items)], True
            start += len(r.items)
