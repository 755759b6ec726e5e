"""Calls made at once from several threads are answered by fewer calls, each caller its own answers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from groundhog.memory.combine import Combiner


def test_requests_waiting_while_a_call_runs_go_together_and_get_their_own_answers() -> None:
    started = threading.Event()
    release = threading.Event()
    sizes: list[int] = []

    def square(items: list[int]) -> list[int]:
        sizes.append(len(items))
        if len(sizes) == 1:
            started.set()
            release.wait(5)  # the first call is slow: the others queue up behind it
        return [i * i for i in items]

    combined = Combiner(square)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(combined, [1])
        started.wait(5)
        rest = [pool.submit(combined, [n, n + 100]) for n in range(2, 8)]
        time.sleep(0.2)  # let them all wait
        release.set()
        assert first.result() == [1]
        assert [f.result() for f in rest] == [[n * n, (n + 100) ** 2] for n in range(2, 8)]
    assert sizes == [1, 12] and combined.calls == 2  # six requests, one call


def test_an_error_of_the_combined_call_reaches_every_member_and_the_next_call_runs_afresh() -> None:
    calls = []

    def fail_once(items: list[str]) -> list[str]:
        calls.append(items)
        if len(calls) == 1:
            raise RuntimeError("store down")
        return [i.upper() for i in items]

    combined = Combiner(fail_once)
    with pytest.raises(RuntimeError, match="store down"):
        combined(["a"])
    assert combined(["b", "c"]) == ["B", "C"]


def test_a_call_answering_the_wrong_number_of_items_is_an_error_not_a_misaligned_answer() -> None:
    combined: Combiner[int, int] = Combiner(lambda items: items[:-1])
    with pytest.raises(ValueError, match="answers for"):
        combined([1, 2])
