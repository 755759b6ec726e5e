"""The written log on a real Chroma PersistentClient in a temporary folder, with a deterministic embedder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from groundhog.core.errors import StoreError
from groundhog.core.records import LogEntry
from groundhog.core.settings import RetrievalSettings
from groundhog.memory.store import LogStore, open_chroma
from testkit.fakes import HashEmbedder

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def entry(
    entry_id: str,
    text: str,
    *,
    persona: str = "simplicia",
    kind: str = "notebook",
    session: str = "s1",
    day: int = 1,
    importance: float = 0.5,
    age_hours: float = 0.0,
    **extra: Any,
) -> LogEntry:
    return LogEntry(
        id=entry_id,
        persona=persona,
        session=session,
        day=day,
        kind=kind,  # type: ignore[arg-type]
        text=text,
        importance=importance,
        created_at=NOW - timedelta(hours=age_hours),
        **extra,
    )


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[Any]:
    client = open_chroma(tmp_path)
    yield client
    client.close()


@pytest.fixture
def store(chroma: Any, hash_embedder: HashEmbedder) -> LogStore:
    return LogStore(chroma, hash_embedder)


def test_add_is_idempotent(store: LogStore) -> None:
    e = entry("a", "debate between two copies of a model")
    store.add([e])
    store.add([e])
    store.add([e, e])
    assert store.count() == 1


def test_add_with_the_same_id_replaces_the_text(store: LogStore) -> None:
    store.add([entry("a", "first draft")])
    store.add([entry("a", "second draft")])
    assert store.count() == 1
    found = store.get("a")
    assert found is not None and found.text == "second draft"


def test_get_round_trips_every_field(store: LogStore) -> None:
    original = entry(
        "a",
        "sparse autoencoders on the residual stream",
        persona="interp-empiricist",
        kind="idea",
        session="night-1",
        day=3,
        importance=0.9,
        present=date(2026, 11, 23),
        meta={"title": "SAE probes", "revision": 2, "passed": True},
    )
    store.add([original])
    assert store.get("a") == original


def test_get_missing_and_get_many_order(store: LogStore) -> None:
    store.add([entry(i, f"entry number {i}") for i in ("a", "b", "c")])
    assert store.get("nope") is None
    assert [e.id for e in store.get_many(["c", "nope", "a"])] == ["c", "a"]
    assert store.get_many([]) == []


def test_search_finds_the_nearest_first(store: LogStore) -> None:
    store.add(
        [
            entry("debate", "debate between two models judged by a weaker human"),
            entry("sae", "sparse autoencoders find features in activations"),
            entry("evals", "dangerous capability evaluations before deployment"),
        ]
    )
    hits = store.search("sparse autoencoders features", k=3)
    assert hits[0][0].id == "sae"
    assert hits[0][1] > hits[1][1]
    assert len(hits) == 3


def test_search_on_an_empty_store(store: LogStore) -> None:
    assert store.search("anything") == []


def test_search_filters_by_persona_and_kind(store: LogStore) -> None:
    text = "scalable oversight with recursive reward modeling"
    store.add(
        [
            entry("a-note", text, persona="a", kind="notebook"),
            entry("a-idea", text, persona="a", kind="idea"),
            entry("b-idea", text, persona="b", kind="idea"),
            entry("c-crit", text, persona="c", kind="critique"),
        ]
    )
    assert {e.id for e, _ in store.search(text, persona="a")} == {"a-note", "a-idea"}
    assert {e.id for e, _ in store.search(text, kind="idea")} == {"a-idea", "b-idea"}
    assert {e.id for e, _ in store.search(text, persona="a", kind="idea")} == {"a-idea"}
    assert {e.id for e, _ in store.search(text, kind=["idea", "critique"])} == {"a-idea", "b-idea", "c-crit"}
    assert {e.id for e, _ in store.search(text, persona=["b", "c"])} == {"b-idea", "c-crit"}
    assert store.search(text, persona="nobody") == []


def test_recent_is_newest_first_per_persona(store: LogStore) -> None:
    store.add(
        [
            entry("old", "old note", age_hours=30),
            entry("new", "new note", age_hours=1),
            entry("mid", "middle note", age_hours=10),
            entry("mid-idea", "an idea", kind="idea", age_hours=5),
            entry("other", "someone else's note", persona="doomimir", age_hours=0),
        ]
    )
    assert [e.id for e in store.recent("simplicia")] == ["new", "mid-idea", "mid", "old"]
    assert [e.id for e in store.recent("simplicia", kind="notebook", limit=2)] == ["new", "mid"]
    assert [e.id for e in store.entries(persona="simplicia", kind="notebook")] == ["old", "mid", "new"]


def test_delete_removes_only_that_persona_day(store: LogStore) -> None:
    store.add(
        [
            entry("keep-other-day", "x", day=1),
            entry("drop-1", "x", day=2),
            entry("drop-2", "y", day=2, kind="idea"),
            entry("keep-other-persona", "x", day=2, persona="doomimir"),
            entry("keep-other-session", "x", day=2, session="s2"),
        ]
    )
    store.delete(session="s1", persona="simplicia", day=2)
    remaining = {e.id for e in store.entries()}
    assert remaining == {"keep-other-day", "keep-other-persona", "keep-other-session"}


def _old_important_and_new_trivial(store: LogStore) -> None:
    """Two entries equally relevant to the query: one old and important, one recent and trivial."""
    text = "interpretability of reward models"
    store.add(
        [
            entry("old-important", text, importance=1.0, age_hours=48),
            entry("new-trivial", text, importance=0.0, age_hours=1),
        ]
    )


def test_retrieve_importance_can_outrank_recency(store: LogStore) -> None:
    _old_important_and_new_trivial(store)
    weights = RetrievalSettings(relevance_weight=0.0, recency_weight=0.1, importance_weight=3.0, recency_decay=0.5)
    ranked = store.retrieve("interpretability of reward models", persona="simplicia", weights=weights)
    assert [s.entry.id for s in ranked] == ["old-important", "new-trivial"]
    top = ranked[0]
    assert top.importance == 1.0
    assert top.recency == pytest.approx(0.5)
    assert top.score == pytest.approx(0.1 * 0.5 + 3.0 * 1.0)


def test_retrieve_recency_can_outrank_importance(store: LogStore) -> None:
    _old_important_and_new_trivial(store)
    weights = RetrievalSettings(relevance_weight=0.0, recency_weight=5.0, importance_weight=0.1, recency_decay=0.5)
    ranked = store.retrieve("interpretability of reward models", persona="simplicia", weights=weights)
    assert [s.entry.id for s in ranked] == ["new-trivial", "old-important"]
    assert ranked[0].recency == pytest.approx(1.0)


def test_retrieve_relevance_wins_when_weighted(store: LogStore) -> None:
    store.add(
        [
            entry("on-topic", "eliciting latent knowledge from a reporter", importance=0.1, age_hours=40),
            entry("off-topic", "lunch menu for the offsite", importance=0.9, age_hours=1),
        ]
    )
    weights = RetrievalSettings(relevance_weight=10.0, recency_weight=1.0, importance_weight=1.0)
    ranked = store.retrieve("eliciting latent knowledge", persona="simplicia", weights=weights)
    assert ranked[0].entry.id == "on-topic"
    assert ranked[0].relevance == pytest.approx(1.0)
    assert ranked[1].relevance == pytest.approx(0.0)


def test_retrieve_respects_filters_exclusions_and_k(store: LogStore) -> None:
    store.add([entry(f"n{i}", f"note {i} about oversight", age_hours=i) for i in range(6)])
    store.add([entry("theirs", "note about oversight", persona="doomimir")])
    ranked = store.retrieve("oversight", persona="simplicia", k=3, exclude_ids=["n0"])
    ids = [s.entry.id for s in ranked]
    assert len(ids) == 3
    assert "n0" not in ids and "theirs" not in ids
    assert store.retrieve("oversight", persona="nobody") == []


def test_reopening_the_same_path_sees_the_data(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    client = open_chroma(tmp_path)
    LogStore(client, hash_embedder).add([entry("a", "persisted across clients")])
    client.close()  # releases Chroma's shared system, so the next open reads from disk

    again = open_chroma(tmp_path)
    try:
        reopened = LogStore(again, HashEmbedder())
        assert reopened.count() == 1
        found = reopened.get("a")
        assert found is not None and found.text == "persisted across clients"
        assert reopened.search("persisted")[0][0].id == "a"
    finally:
        again.close()


class OtherEmbedder(HashEmbedder):
    name = "some-other-embedder"


def test_a_different_embedder_is_refused(chroma: Any, hash_embedder: HashEmbedder) -> None:
    LogStore(chroma, hash_embedder).add([entry("a", "text")])
    with pytest.raises(StoreError, match=r"the log was embedded with .*some-other-embedder"):
        LogStore(chroma, OtherEmbedder())


def test_a_library_of_a_different_embedder_is_refused(chroma: Any, hash_embedder: HashEmbedder) -> None:
    from groundhog.library.store import Library

    Library(chroma, hash_embedder, bar=0.9)
    with pytest.raises(StoreError, match=r"the library was embedded with .*remove the papers"):
        Library(chroma, OtherEmbedder(), bar=0.9)


def test_a_corrupt_store_raises_and_is_left_alone(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    folder = tmp_path / "chroma"
    folder.mkdir()
    garbage = b"this is not a sqlite database\x00\xff" * 64
    (folder / "chroma.sqlite3").write_bytes(garbage)
    with pytest.raises(StoreError, match="move it aside") as info:
        LogStore(open_chroma(tmp_path), hash_embedder)
    assert str(folder) in str(info.value)
    assert (folder / "chroma.sqlite3").read_bytes() == garbage


def _searches_one_by_one(store: LogStore, asks: list[tuple[str, int, Any]]) -> list[tuple[list[float], set[str]]]:
    return [same_up_to_ties(store.search(q, k=k, persona="simplicia", kind=kind)) for q, k, kind in asks]


def same_up_to_ties(hits: list[tuple[LogEntry, float]]) -> tuple[list[float], set[str]]:
    """The similarities in order, and the ids above the last one: which of several entries tied at the
    cut is kept, and their order, is the index's choice."""
    sims = [round(s, 5) for _, s in hits]
    return sims, {e.id for e, s in hits if round(s, 5) > min(sims)}


@pytest.mark.parametrize(("history", "crowded"), [(0, False), (12, False), (150, False), (150, True)])
def test_searches_asked_together_answer_as_asked_one_by_one(store: LogStore, history: int, crowded: bool) -> None:
    """A persona's relevant work and its grounding in one query: the same answers as two filtered
    searches, for a young persona (every entry came back), a grown one (enough of each kind among the
    nearest) and one whose writings are crowded out by its work (that search is asked again alone)."""

    def padded(words: str, n: int, tag: str) -> str:  # n distinct filler words: no two similarities tie
        return " ".join([words, *(f"{tag}{j}" for j in range(n))])

    pad = 120 if crowded else 0  # long passages: farther from the query than all the persona's work
    store.add([entry(f"c{i}", padded("a passage on debate", pad + i, f"c{i}x"), kind="corpus") for i in range(10)])
    store.add([entry(f"w{i}", padded("work on debate", i, f"w{i}x"), kind="idea", day=i) for i in range(history)])
    store.add([entry("other", "a passage on debate by someone else", persona="doomimir", kind="corpus")])
    work = ["idea", "notebook", "critique"]
    asks: list[tuple[str, int, Any]] = [("work on debate", 24, work), ("debate", 4, "corpus")]
    expected = _searches_one_by_one(store, asks)
    store._corpus_hits.clear()  # the one-by-one searches above cached the grounding
    queries: list[Any] = []
    ask = store._query
    store._query = lambda *a: queries.append(a[2]) or ask(*a)  # type: ignore[method-assign]
    together = store.search_together(asks, persona="simplicia")
    assert [same_up_to_ties(found) for found in together] == expected
    if crowded:  # the grounding came back short: asked again on its own
        assert queries == [{"persona": "simplicia"}, {"$and": [{"persona": "simplicia"}, {"kind": "corpus"}]}]
    else:
        assert queries == [{"persona": "simplicia"}]  # one query, no kind filter
    queries.clear()
    again = store.search_together(asks, persona="simplicia")  # the grounding is cached now
    assert [same_up_to_ties(found) for found in again] == expected and len(queries) == 1
