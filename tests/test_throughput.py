"""The pipeline's own work kept out of the model's way: group commit of the days' log writes, one
neighbour query for a day's ideas, a wake-up that fetches the newest work by id, and the endpoint's
request posted as a plain body on one aiohttp client per event loop."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from groundhog.compose.services import Services
from groundhog.core.errors import StoreError
from groundhog.core.records import Idea, LogEntry
from groundhog.core.settings import RetrievalSettings, load_settings
from groundhog.critique.stage import DuplicateScreen, nearest_ideas, nearest_ideas_many
from groundhog.loop.babble import make_runner, new_config
from groundhog.memory.group_commit import GroupWriter
from groundhog.memory.store import LogStore, open_chroma
from groundhog.store.recent import RecentIndex
from groundhog.store.schema import days
from groundhog.store.sessions import SessionStore
from testkit.fake_openai import FakeOpenAIServer
from testkit.fakes import HashEmbedder
from testkit.fakes import log_entry as entry
from testkit.strong_model import StrongModel


@pytest.fixture
def log(tmp_path: Path) -> Iterator[LogStore]:
    client = open_chroma(tmp_path)
    yield LogStore(client, HashEmbedder())
    client.close()


class CountingLog:
    """A LogStore that counts its upserts, slows them down (so callers pile up behind one), and fails
    any write holding an entry whose text says so."""

    def __init__(self, inner: LogStore, delay_s: float = 0.05) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.batches: list[list[str]] = []

    def add(self, entries: list[LogEntry]) -> None:
        time.sleep(self.delay_s)
        if any("poison" in e.text for e in entries):
            raise StoreError("cannot write to the vector store: disk full")
        self.batches.append([e.id for e in entries])
        self.inner.add(entries)


# -- group commit ---------------------------------------------------------------------------------


def test_days_finishing_together_share_one_upsert_and_each_returns_once_stored(log: LogStore) -> None:
    counting = CountingLog(log)
    writer = GroupWriter(counting)  # type: ignore[arg-type]

    async def day(n: int) -> int:
        await writer.add([entry(f"d{n}-a", f"note {n}"), entry(f"d{n}-b", f"idea {n}", kind="idea")])
        return log.count()  # what is stored when this day's add returns

    async def main() -> list[int]:
        return await asyncio.gather(*(day(n) for n in range(12)))

    seen = asyncio.run(main())
    assert log.count() == 24
    assert len(counting.batches) < 12  # grouped: the first write alone, the others behind it together
    assert sum(len(b) for b in counting.batches) == 24
    for n, count in enumerate(seen):
        batch = next(i for i, b in enumerate(counting.batches) if f"d{n}-a" in b)
        assert count >= sum(len(b) for b in counting.batches[: batch + 1])  # its own entries were in


def test_one_bad_day_in_a_group_fails_alone(log: LogStore) -> None:
    writer = GroupWriter(CountingLog(log))  # type: ignore[arg-type]

    async def day(n: int) -> str:
        text = "poison" if n == 3 else f"note {n}"
        try:
            await writer.add([entry(f"d{n}", text)])
        except StoreError as exc:
            return str(exc)
        return "ok"

    async def main() -> list[str]:
        return await asyncio.gather(*(day(n) for n in range(6)))

    results = asyncio.run(main())
    assert results[3].startswith("cannot write to the vector store")
    assert [r for i, r in enumerate(results) if i != 3] == ["ok"] * 5
    assert sorted(e.id for e in log.entries()) == ["d0", "d1", "d2", "d4", "d5"]


def test_a_cancelled_day_does_not_cancel_the_write_of_the_others(log: LogStore) -> None:
    writer = GroupWriter(CountingLog(log, delay_s=0.2))  # type: ignore[arg-type]

    async def main() -> None:
        first = asyncio.create_task(writer.add([entry("a", "note a")]))
        await asyncio.sleep(0.05)  # the first write is under way
        waiting = [asyncio.create_task(writer.add([entry(i, f"note {i}")])) for i in ("b", "c")]
        await asyncio.sleep(0.01)
        waiting[0].cancel()
        await first
        await waiting[1]

    asyncio.run(main())
    assert sorted(e.id for e in log.entries()) == ["a", "b", "c"]  # b was written with c all the same


@pytest.mark.parametrize(("gather_s", "writes"), [(0.0, 2), (0.05, 1)])
def test_a_write_waits_for_the_days_finishing_with_it_to_join(log: LogStore, gather_s: float, writes: int) -> None:
    counting = CountingLog(log, delay_s=0.0)
    writer = GroupWriter(counting, gather_s=gather_s)  # type: ignore[arg-type]

    async def main() -> None:
        first = asyncio.create_task(writer.add([entry("a", "note a")]))
        await asyncio.sleep(0.01)  # a second day finishes just after the first
        await asyncio.gather(first, writer.add([entry("b", "note b")]))

    asyncio.run(main())
    assert writer.writes == writes  # without the wait, the first day's write is under way alone
    assert sorted(e.id for e in log.entries()) == ["a", "b"]


# -- one neighbour query for a day's ideas ---------------------------------------------------------


def test_a_days_ideas_asked_together_get_the_answers_asked_one_by_one(log: LogStore) -> None:
    topics = ["reward model probes", "debate protocols", "sparse autoencoder features", "control audits"]
    log.add([entry(f"c{i}", f"corpus chunk {i} about alignment research", kind="corpus") for i in range(60)])
    log.add([entry(f"i{n}", f"idea on {t} number {n}", kind="idea") for n, t in enumerate(topics * 5)])
    vectors = log.embedder.embed([f"a new idea on {t}" for t in topics] + ["lunch menu"])
    assert nearest_ideas_many(log, vectors) == [nearest_ideas(log, v) for v in vectors]
    assert nearest_ideas_many(log, vectors, exclude={"i0", "i1"}) == [
        nearest_ideas(log, v, exclude={"i0", "i1"}) for v in vectors
    ]


@pytest.mark.parametrize("crowded", [False, True])
def test_the_probe_and_the_filtered_query_find_the_same_ideas(
    log: LogStore, monkeypatch: pytest.MonkeyPatch, crowded: bool
) -> None:
    import groundhog.memory.neighbours as store_module

    topics = ["reward model probes", "debate protocols", "sparse autoencoder features", "control audits"]
    chunks = [f"a new idea on {topics[i % 4]} in corpus chunk {i}" if crowded else f"chunk {i}" for i in range(240)]
    log.add([entry(f"c{i}", text, kind="corpus") for i, text in enumerate(chunks)])
    filler = [" ".join(f"w{j}" for j in range(n % 5 + 1)) for n in range(20)]  # no two ideas of a topic tie
    log.add([entry(f"i{n}", f"idea on {t} {filler[n]}", kind="idea") for n, t in enumerate(topics * 5)])
    vectors = log.embedder.embed([f"a new idea on {t}" for t in topics])
    small = log.nearest_ideas_many(vectors, 3)  # a small log: straight to the filtered query
    monkeypatch.setattr(store_module, "SMALL_LOG", 0)  # as if it were large: the unfiltered probe first
    wheres: list[Any] = []
    ask = log._query
    monkeypatch.setattr(log, "_query", lambda *a: wheres.append(a[2]) or ask(*a))
    assert log.nearest_ideas_many(vectors, 3) == small
    if not crowded:  # the probe's neighbours hold enough ideas: one query
        assert wheres == [None]
        return
    assert wheres == [None, {"kind": "idea"}]  # corpus chunks crowd the ideas out: the filtered query too,
    wheres.clear()
    assert log.nearest_ideas_many(vectors, 3) == small
    assert wheres == [{"kind": "idea"}]  # and the next calls go straight to it


def test_the_duplicate_screen_uses_the_look_ahead_and_decides_as_before(log: LogStore) -> None:
    log.add([entry("old", "probing reward models for sycophancy with linear probes", kind="idea")])
    calls = {"one": 0, "many": 0}

    def one(v: Any) -> Any:
        calls["one"] += 1
        return nearest_ideas(log, v)

    def many(vs: Any) -> Any:
        calls["many"] += 1
        return nearest_ideas_many(log, vs)

    ideas = [
        Idea(
            id="x1",
            persona="simplicia",
            session="s",
            day=2,
            title="Probes",
            summary="probing reward models for sycophancy with linear probes",
        ),
        Idea(
            id="x2",
            persona="simplicia",
            session="s",
            day=2,
            title="Debate",
            summary="debate between two copies judged by a weak model",
        ),
    ]
    vectors = {i.id: log.embedder.embed([i.text])[0] for i in ideas}
    ahead = DuplicateScreen(one, 0.8, many)
    ahead.look_ahead(vectors)
    plain = DuplicateScreen(one, 0.8)
    for idea in ideas:
        a = ahead.check(idea, vectors[idea.id], ignore={idea.id})
        b = plain.check(idea, vectors[idea.id], ignore={idea.id})
        assert a == b
    assert calls["many"] == 1
    assert calls["one"] == 2  # the plain screen's two; the looked-ahead screen asked nothing more
    assert ahead.check(ideas[0], vectors["x1"], ignore={"x1"})[0] is not None  # a duplicate of "old"


# -- the wake-up's newest work, by id --------------------------------------------------------------


def test_retrieve_with_the_newest_ids_matches_the_listing(log: LogStore) -> None:
    log.add([entry(f"n{i}", f"note {i} about oversight and debate", hours=i) for i in range(30)])
    log.add([entry(f"i{i}", f"idea {i} on scalable oversight", kind="idea", hours=i + 0.5) for i in range(30)])
    log.add([entry("theirs", "note about oversight", persona="doomimir", hours=99)])
    weights = RetrievalSettings(candidates=8)
    kinds = ["idea", "notebook", "critique"]
    listed = log.retrieve("oversight", persona="simplicia", kind=kinds, weights=weights, k=10)
    newest_first = [f"{p}{i}" for i in reversed(range(30)) for p in ("i", "n")] + ["theirs"]
    by_id = log.retrieve("oversight", persona="simplicia", kind=kinds, weights=weights, k=10, recent_ids=newest_first)
    assert [(s.entry.id, round(s.score, 9)) for s in by_id] == [(s.entry.id, round(s.score, 9)) for s in listed]


def test_a_day_of_a_long_history_does_not_list_the_log(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After three days, the fourth day's wake-up finds the newest work through the day rows; listing
    the persona's whole history in the vector store is not needed (and here fails the test)."""
    with FakeOpenAIServer(StrongModel("plain")) as srv:
        svc = endpoint_services(isolated_home, srv.base_url, depth=3)
        store = SessionStore(svc.db)
        config = new_config(svc.settings, ["doomimir"], session="s1", present=date(2026, 11, 23))
        store.create(config)
        asyncio.run(make_runner(svc, config).run())
        ids = RecentIndex(svc.db).work_ids("doomimir", 5)
        assert ids is not None and len(ids) >= 5
        assert set(ids) <= {e.id for e in svc.log.entries(persona="doomimir")}

        listing = LogStore.entries

        def no_listing(self: LogStore, **kwargs: Any) -> Any:
            if kwargs.get("persona") is not None:
                raise AssertionError("the wake-up listed the persona's whole history")
            return listing(self, **kwargs)  # the start-of-run look for unjudged ideas lists the session's

        monkeypatch.setattr(LogStore, "entries", no_listing)
        config2 = new_config(svc.settings, ["doomimir"], session="s2", present=date(2026, 11, 24))
        store.create(config2)
        outcome = asyncio.run(make_runner(svc, config2).run())
        assert outcome.status == "completed"
        days = store.days("s2")
        assert [d.status for d in days] == ["done"] * 3
        assert any(cid in ids for cid in days[0].summary["context_ids"])  # it read the earlier work
        svc.close()


def test_day_rows_from_before_entry_ids_fall_back_to_listing(isolated_home: Path) -> None:
    with FakeOpenAIServer(StrongModel("plain")) as srv:
        svc = endpoint_services(isolated_home, srv.base_url, depth=1)
        store = SessionStore(svc.db)
        config = new_config(svc.settings, ["doomimir"], session="s1", present=date(2026, 11, 23))
        store.create(config)
        asyncio.run(make_runner(svc, config).run())
        for day in store.days("s1"):  # as a day row written before rows listed their entries
            summary = {k: v for k, v in day.summary.items() if k != "entry_ids"}
            key = (days.c.session == day.session, days.c.persona == day.persona, days.c.day == day.day)
            with svc.db.begin() as conn:
                conn.execute(update(days).where(*key).values(summary=summary))
        assert RecentIndex(svc.db).work_ids("doomimir", 5) is None
        assert RecentIndex(svc.db).work_ids("nobody", 5) == []
        svc.close()


# -- the endpoint's requests ----------------------------------------------------------------------


def endpoint_services(home: Path, base_url: str, **loop: Any) -> Services:
    settings = load_settings(
        home,
        babble={"provider": "openai", "model": "strong-model", "base_url": base_url, "seed": 7},
        loop={"depth": 2, "ideas_per_day": 2, "concurrency": 8, **loop},
        critique={"revisions": 0},
    )
    return Services(settings, embedder=HashEmbedder())


def test_many_personas_on_a_strong_endpoint_share_writes_and_store_every_day(isolated_home: Path) -> None:
    personas = ["doomimir", "simplicia", "interp-empiricist", "control-evaluator", "oversight-researcher"]
    with FakeOpenAIServer(StrongModel("think"), delay_ms=20) as srv:
        svc = endpoint_services(isolated_home, srv.base_url, depth=2)
        store = SessionStore(svc.db)
        config = new_config(svc.settings, personas, session="s1", present=date(2026, 11, 23))
        store.create(config)
        runner = make_runner(svc, config)
        outcome = asyncio.run(runner.run())
        assert outcome.status == "completed"
        days = store.days("s1")
        assert len(days) == 10 and all(d.status == "done" for d in days)
        assert runner.writer.adds == 20  # each day's work, written while its note is, then the note
        assert runner.writer.writes < runner.writer.adds  # some days shared an upsert
        for d in days:
            stored = {e.id for e in svc.log.get_many(d.summary["entry_ids"])}
            assert stored == set(d.summary["entry_ids"])
            assert d.summary["notebook_id"] in stored
        svc.close()
        json.dumps([d.summary for d in days])  # the rows stay plain JSON


def test_a_personas_grounding_is_asked_of_chroma_once_until_its_corpus_changes(log: LogStore) -> None:
    log.add([entry(f"c{i}", f"corpus chunk {i} on debate and oversight", kind="corpus") for i in range(5)])
    queries = {"n": 0}
    query = log._query

    def counted(*args: Any, **kwargs: Any) -> Any:
        queries["n"] += 1
        return query(*args, **kwargs)

    log._query = counted  # type: ignore[method-assign]
    first = log.search("debate and oversight", k=3, persona="simplicia", kind="corpus")
    again = log.search("debate and oversight", k=3, persona="simplicia", kind="corpus")
    assert again == first and queries["n"] == 1
    log.search("debate and oversight", k=3, persona="simplicia", kind="notebook")
    log.search("debate and oversight", k=3, persona="simplicia", kind="notebook")
    assert queries["n"] == 3  # only the corpus is remembered
    log.add([entry("new", "debate and oversight, the new chunk", kind="corpus")])
    after = log.search("debate and oversight", k=3, persona="simplicia", kind="corpus")
    assert queries["n"] == 4 and after[0][0].id == "new"
    log.delete_ids(["new"])
    assert "new" not in [e.id for e, _ in log.search("debate and oversight", k=3, persona="simplicia", kind="corpus")]


def test_a_new_session_skips_the_leftover_delete_and_a_resumed_one_clears_a_cut_short_day(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deletes: list[tuple[str, int]] = []
    delete = LogStore.delete

    def counted(self: LogStore, *, session: str, persona: str, day: int) -> None:
        deletes.append((session, day))
        delete(self, session=session, persona=persona, day=day)

    monkeypatch.setattr(LogStore, "delete", counted)
    with FakeOpenAIServer(StrongModel("plain")) as srv:
        svc = endpoint_services(isolated_home, srv.base_url, depth=2)
        store = SessionStore(svc.db)
        config = new_config(svc.settings, ["doomimir"], session="new", present=date(2026, 11, 23))
        store.create(config)
        asyncio.run(make_runner(svc, config, fresh=True).run())
        assert deletes == []  # nothing before this run could have written its days
        # a process that died in the middle of day 1 of another session left an entry behind
        config2 = new_config(svc.settings, ["doomimir"], session="cut", present=date(2026, 11, 23))
        store.create(config2)
        stray = entry("stray", "half of a day").model_copy(update={"session": "cut", "persona": "doomimir"})
        svc.log.add([stray])
        asyncio.run(make_runner(svc, config2).run())  # a resume: not fresh
        assert ("cut", 1) in deletes
        assert svc.log.get("stray") is None
        svc.close()


# -- a day's work written while its note is -------------------------------------------------------


def test_a_days_work_is_stored_while_its_note_is_written_and_all_of_it_by_the_end(isolated_home: Path) -> None:
    from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services
    from testkit.requests import chat_request

    script = ScriptedResearcher()
    services: list[Services] = []
    stored_during_note: list[int] = []

    def respond(messages: Any, kwargs: Any) -> str:
        if chat_request(messages, kwargs).schema == "NotebookOutput":  # the day's work is on its way to the log
            deadline = time.monotonic() + 10
            while len(services[0].log.entries(session="s1")) < 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            stored_during_note.append(len(services[0].log.entries(session="s1")))
        return script(messages, kwargs)

    loop = {"depth": 1, "ideas_per_day": 2, "concurrency": 1}
    svc = make_services(isolated_home, FakeChatModel.with_responder(respond), loop=loop)
    services.append(svc)
    store = SessionStore(svc.db)
    config = new_config(svc.settings, ["simplicia"], session="s1", present=date(2026, 11, 23))
    store.create(config)
    assert asyncio.run(make_runner(svc, config).run()).status == "completed"
    assert stored_during_note == [4]  # two ideas and their critiques, while the note was being written
    (day,) = store.days("s1")
    entries = svc.log.get_many(day.summary["entry_ids"])
    assert len(entries) == len(day.summary["entry_ids"]) == 5  # and the note, once the day returned
    assert len({e.created_at for e in entries}) == 1  # one time for the whole day, the note's too
    svc.close()


def test_a_day_whose_note_fails_takes_its_work_back_out_of_the_log(isolated_home: Path) -> None:
    from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services
    from testkit.requests import chat_request

    script = ScriptedResearcher()

    def respond(messages: Any, kwargs: Any) -> str:
        if chat_request(messages, kwargs).schema == "NotebookOutput":
            raise ConnectionError("the endpoint went away")  # every try: the day fails
        return script(messages, kwargs)

    loop = {"depth": 1, "ideas_per_day": 2, "concurrency": 1}
    svc = make_services(
        isolated_home, FakeChatModel.with_responder(respond), loop=loop, retry={"attempts": 1, "initial_s": 0.01}
    )
    store = SessionStore(svc.db)
    config = new_config(svc.settings, ["simplicia"], session="s1", present=date(2026, 11, 23))
    store.create(config)
    asyncio.run(make_runner(svc, config).run())
    (day,) = store.days("s1")
    assert day.status == "failed"
    assert svc.log.entries(session="s1") == []  # nothing of the failed day is left to be retrieved
    svc.close()
