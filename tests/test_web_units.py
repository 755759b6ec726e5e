"""The review page's parts without HTTP: filters, pairs for compare mode, the judgement store, undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from groundhog.core.errors import BadInput
from groundhog.core.records import CritiqueResult, Flag, Idea, QueueItem, Scores, stable_id
from groundhog.review.provenance import context_lines
from groundhog.review.undo import DecisionJournal
from groundhog.store.judgements import JudgementStore
from groundhog.store.migrate import head
from groundhog.web.filters import Filters, unjudged_pairs
from testkit.fakes import FakeChatModel, make_services


def item(
    n: int, *, mean: int = 5, status: str = "pending", flags: tuple[str, ...] = (), novelty: float = 0.5
) -> QueueItem:
    crit = CritiqueResult(
        idea_id=f"i{n}",
        verdict="pass",
        scores=Scores(novelty=mean, feasibility=mean, relevance=mean, clarity=mean),
        flags=[Flag(name=f, reason="r") for f in flags],  # type: ignore[arg-type]
    )
    idea = Idea(
        id=f"i{n}",
        title=f"idea {n}",
        summary="s",
        persona="doomimir" if n % 2 else "simplicia",
        session="s1",
        day=1 + n % 3,
    )
    return QueueItem(
        idea=idea,
        critique=crit,
        status=status,
        novelty=0.5,  # type: ignore[arg-type]
        queued_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
    )


def test_filters_parse_and_round_trip() -> None:
    f = Filters.parse({"status": "all", "persona": " doomimir ", "day": "2", "min_score": "4.5", "sort": "mean"})
    assert f == Filters(status="all", persona="doomimir", day=2, min_score=4.5, sort="mean")
    assert Filters.parse({k: [v] for k, v in f.params().items()}) == f
    assert f.query(id="abc") == "status=all&persona=doomimir&day=2&min_score=4.5&sort=mean&id=abc"
    assert Filters().query() == "" and not Filters().active
    for params, words in (
        ({"day": "1.5"}, "whole number"),
        ({"max_score": "11"}, "outside"),
        ({"flag": "odd"}, "flag"),
        ({"status": "x"}, "status"),
    ):
        with pytest.raises(BadInput, match=words):
            Filters.parse(params)


def test_filters_apply() -> None:
    items = [item(1, mean=9), item(2, mean=3, flags=("weird",)), item(3, status="deferred"), item(4, status="accepted")]
    assert [i.id for i in Filters().apply(items)] == ["i1", "i2", "i3"]  # open: pending, then deferred
    assert [i.id for i in Filters(status="all").apply(items)] == ["i1", "i2", "i3", "i4"]
    assert [i.id for i in Filters(flag="flagged").apply(items)] == ["i2"]
    assert [i.id for i in Filters(flag="weird").apply(items)] == ["i2"]
    assert [i.id for i in Filters(flag="none").apply(items)] == ["i1", "i3"]
    assert [i.id for i in Filters(min_score=4, max_score=8).apply(items)] == ["i3"]
    assert [i.id for i in Filters(status="all", sort="time").apply(items)] == ["i4", "i3", "i2", "i1"]
    assert [i.id for i in Filters(persona="doomimir", status="all").apply(items)] == ["i1", "i3"]
    assert [i.id for i in Filters(day=2, status="all").apply(items)] == ["i1", "i4"]


def test_pairs_are_neighbours_first_and_skip_judged_ones() -> None:
    items = [item(n) for n in range(4)]
    pairs = [(a.id, b.id) for a, b in unjudged_pairs(items, {frozenset(("i1", "i0"))})]
    assert pairs == [("i1", "i2"), ("i2", "i3"), ("i0", "i2"), ("i1", "i3"), ("i0", "i3")]


def test_context_labels_are_numbered_per_kind_in_order(isolated_home: Path) -> None:
    from groundhog.core.records import LogEntry

    entries = [
        LogEntry(id=k + str(n), persona="p", kind=k, text="t")
        for n, k in enumerate(["notebook", "feedback", "idea", "critique", "notebook", "corpus"])
    ]
    lines = context_lines([e.id for e in entries] + ["gone"], entries)
    assert [line.label for line in lines] == ["N1", "F1", "I1", "C1", "N2", "G1", "?"]


def test_judgement_store_and_its_migration(isolated_home: Path) -> None:
    svc = make_services(isolated_home, FakeChatModel())
    try:
        assert svc.db.describe()["schema"] == head()
        svc.queue.add(item(1))
        svc.queue.add(item(2))
        store = JudgementStore(svc.db)
        saved = store.add("i1", "i2", "a", source="web")
        assert (saved.winner_id, saved.judge, store.judged_pairs()) == ("i1", "human", {frozenset(("i1", "i2"))})
        assert [j.id for j in store.list("i2")] == [saved.id] and store.list("i9") == []
        for args, words in (
            (("i1", "i2", "left"), "unknown choice"),
            (("i1", "i1", "a"), "two different"),
            (("i1", "nope", "b"), "no queued idea"),
        ):
            with pytest.raises(BadInput, match=words):
                store.add(*args)
        assert len(store.list()) == 1
    finally:
        svc.close()


def test_undo_stack_is_last_in_first_out(isolated_home: Path) -> None:
    svc = make_services(isolated_home, FakeChatModel())
    try:
        for n in (1, 2):
            svc.queue.add(item(n))
        journal = DecisionJournal(svc.queue, svc.log)
        journal.decide("i1", "accept", "good")
        journal.decide("i2", "defer")
        journal.decide("i1", "reject", "on reflection")
        assert svc.queue.get("i1").status == "rejected"
        assert journal.undo().status == "rejected"  # type: ignore[union-attr]
        assert (svc.queue.get("i1").status, svc.queue.get("i1").note) == ("accepted", "good")
        assert "ACCEPTED" in svc.log.get(stable_id("i1", "feedback")).text  # type: ignore[union-attr]
        journal.undo()
        journal.undo()
        assert {i.status for i in svc.queue.list()} == {"pending"}
        assert svc.log.entries(kind="feedback") == [] and journal.undo() is None
    finally:
        svc.close()
