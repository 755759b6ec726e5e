"""The embedded Chroma store in a child process (memory/chroma_process.py): the same answers as the
store in this process, many calls at once, Chroma's errors and a dead child as StoreErrors, a child
that outlives nothing, and a night that uses it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services
from testkit.fakes import log_entry as entry

from groundhog.core.errors import StoreError
from groundhog.core.records import LogEntry
from groundhog.loop.babble import chroma_process_wanted, make_runner, new_config, open_services
from groundhog.loop.sessions import SessionStore
from groundhog.memory.chroma_process import ChromaProcess
from groundhog.memory.store import LogStore, open_chroma

PERSONAS = ["doomimir", "simplicia", "interp-empiricist"]


@pytest.fixture
def child(tmp_path: Path) -> Iterator[ChromaProcess]:
    process = ChromaProcess(tmp_path / "chroma")
    yield process
    process.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (ended, not yet reaped by its parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(check: object, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_log_in_the_child_answers_as_the_log_in_this_process(tmp_path: Path, child: ChromaProcess) -> None:
    inline = LogStore(open_chroma(tmp_path / "inline"), HashEmbedder())
    remote = LogStore(child, HashEmbedder())
    words = ["probing", "debate", "oversight", "circuits", "steering", "honeypots", "ablations", "monitoring"]
    words += ["sandbagging", "rewards"]
    kinds = ["idea", "notebook", "critique", "corpus"]
    entries = [
        entry(f"e{i}", " ".join(words[(i * j) % len(words)] for j in range(1, 2 + i % 5)), kind=kinds[i % 4], hours=i)
        for i in range(20)
    ]
    for log in (inline, remote):
        log.add(entries)
        log.delete_ids(["e3"])
    assert remote.count() == inline.count() == 19
    assert remote.get_many(["e1", "e2", "e3"]) == inline.get_many(["e1", "e2", "e3"])
    assert remote.entries(kind="idea") == inline.entries(kind="idea")

    def ranked(hits: list[tuple[LogEntry, float]]) -> list[tuple[str, float]]:  # ties in either order
        return sorted(((e.id, round(sim, 6)) for e, sim in hits), key=lambda p: (-p[1], p[0]))

    assert ranked(remote.search("probing debate", k=50)) == ranked(inline.search("probing debate", k=50))
    vector = HashEmbedder().embed(["oversight circuits"])[0]
    for mine, theirs in zip(
        remote.nearest_ideas_many([vector, vector], 50), inline.nearest_ideas_many([vector, vector], 50), strict=True
    ):
        assert ranked(mine) == ranked(theirs)
    assert [s.entry.id for s in remote.retrieve("steering", persona="simplicia", k=50)] == [
        s.entry.id for s in inline.retrieve("steering", persona="simplicia", k=50)
    ]
    remote.delete(session="s1", persona="simplicia", day=1)
    assert remote.count() == 0


def test_many_threads_at_once_each_get_their_own_answers(child: ChromaProcess) -> None:
    log = LogStore(child, HashEmbedder())
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            mine = [entry(f"t{n}-{i}", f"thread {n} entry {i}", persona=f"p{n}") for i in range(5)]
            log.add(mine)
            assert log.get_many([e.id for e in mine]) == mine
            assert {e.persona for e, _ in log.search(f"thread {n}", k=5, persona=f"p{n}")} == {f"p{n}"}
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert log.count() == 60


def test_chromas_error_comes_back_as_a_store_error_and_the_child_goes_on(child: ChromaProcess) -> None:
    log = LogStore(child, HashEmbedder())
    log.add([entry("a", "an idea")])
    collection = child.get_or_create_collection("groundhog_log")
    with pytest.raises(StoreError, match=r"the vector store: \w+Error"):
        collection.query(query_embeddings=[[0.1] * 64], n_results=1, where={"day": {"$bogus": 1}})
    assert log.get("a") is not None  # still answering


def test_a_child_that_dies_fails_the_calls_with_one_clear_line_not_a_hang(child: ChromaProcess) -> None:
    log = LogStore(child, HashEmbedder())
    log.add([entry("a", "an idea")])
    os.kill(child.pid, signal.SIGKILL)
    with pytest.raises(StoreError, match=r"vector store process for .* ended \(exit code -9\)"):
        for _ in range(100):  # the first call may already be on its way when the child is killed
            log.count()
            time.sleep(0.05)


def test_a_store_that_cannot_be_opened_says_so_at_the_first_call(tmp_path: Path) -> None:
    blocker = tmp_path / "chroma"
    blocker.write_text("not a folder")
    process = ChromaProcess(blocker)
    try:
        with pytest.raises(StoreError, match=r"the vector store at .*chroma cannot be opened"):
            LogStore(process, HashEmbedder())
    finally:
        process.close()
    assert blocker.read_text() == "not a folder"  # left as it was


def test_the_child_ends_with_its_parent_even_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from groundhog.memory.chroma_process import ChromaProcess\n"
        "p = ChromaProcess(Path(sys.argv[1]))\n"
        "p.call('', 'open_collection', 'groundhog_log', None)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "chroma")], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert alive(pid)
    parent.kill()
    parent.wait()
    assert wait_until(lambda: not alive(pid)), "the store process outlived its parent"


def test_the_terminals_ctrl_c_is_not_for_the_store(child: ChromaProcess) -> None:
    log = LogStore(child, HashEmbedder())
    os.kill(child.pid, signal.SIGINT)  # what a Ctrl-C sends the night; its first one lets the day finish
    time.sleep(0.2)
    log.add([entry("a", "written after the Ctrl-C")])
    assert log.get("a") is not None


def test_close_lets_the_write_in_flight_finish_then_ends_the_child(tmp_path: Path, child: ChromaProcess) -> None:
    log = LogStore(child, HashEmbedder())
    writer = threading.Thread(target=log.add, args=([entry(f"w{i}", f"entry {i}") for i in range(200)],))
    writer.start()
    time.sleep(0.05)
    child.close()
    writer.join()
    child.close()  # twice is harmless
    assert not alive(child.pid)
    with pytest.raises(StoreError, match="closed"):
        log.count()
    assert LogStore(open_chroma(tmp_path), HashEmbedder()).count() == 200


@pytest.mark.parametrize(
    ("setting", "concurrency", "personas", "wanted"),
    [("auto", 4, 3, True), ("auto", 1, 3, False), ("auto", 4, 1, False), ("on", 1, 1, True), ("off", 8, 3, False)],
)
def test_when_a_night_runs_its_store_in_a_child(
    isolated_home: Path, setting: str, concurrency: int, personas: int, wanted: bool
) -> None:
    svc = make_services(isolated_home, FakeChatModel(), loop={"concurrency": concurrency})
    config = new_config(svc.settings, PERSONAS[:personas], session="s1", present=date(2026, 11, 23))
    assert chroma_process_wanted(setting, config) is wanted


def start_night(home: Path, model: FakeChatModel, **loop: object) -> tuple[Any, Any, SessionStore]:
    """A new session s1 of the three personas, its store opened as `groundhog babble` opens it: a child."""
    svc = make_services(home, model, loop=loop)
    config = new_config(svc.settings, PERSONAS, session="s1", present=date(2026, 11, 23))
    store = SessionStore(svc.db)
    store.create(config)
    open_services(svc, config)
    assert svc._chroma_process is not None
    return svc, config, store


def assert_every_day_stored(days: list[Any], log: LogStore) -> None:
    for d in days:
        ids = d.summary["entry_ids"]
        assert {e.id for e in log.get_many(ids)} == set(ids)
        assert d.summary["notebook_id"] in ids


def test_a_night_at_concurrency_writes_through_the_child_and_keeps_every_day(isolated_home: Path) -> None:
    model = FakeChatModel.with_responder(ScriptedResearcher())
    svc, config, store = start_night(isolated_home, model, depth=2, ideas_per_day=2, concurrency=3)
    outcome = asyncio.run(make_runner(svc, config).run())
    assert outcome.status == "completed"
    days = store.days("s1")
    child_pid = svc._chroma_process.pid
    svc.close()
    assert not alive(child_pid)
    log = LogStore(open_chroma(isolated_home), HashEmbedder())  # the home's store, read in this process
    assert len(days) == 6 and all(d.status == "done" for d in days)
    assert_every_day_stored(days, log)


def test_a_store_that_does_not_open_in_time_is_a_store_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import groundhog.memory.chroma_process as chroma_process

    monkeypatch.setattr(chroma_process, "START_TIMEOUT_S", 0.01)  # the child is still importing chromadb
    process = ChromaProcess(tmp_path / "chroma")
    try:
        with pytest.raises(StoreError, match=r"did not open .*chroma within 0 s"):
            process.call("", "open_collection", "groundhog_log", None)
    finally:
        process.close()


def store_processes(home: Path) -> list[int]:
    """The pids of store processes open on this home."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            b"groundhog.memory.chroma_process" in argv
            and str(home / "chroma").encode() in argv
            and alive(int(proc.name))
        ):
            found.append(int(proc.name))
    return found


def test_a_night_through_the_cli_pauses_resumes_and_leaves_no_store_process(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three personas at once on an endpoint that answers like a strong model (reasoning, fenced JSON,
    latency), paused for review after day 1, decided, resumed: each run's store is a child process,
    gone when the command returns, and the log holds every day."""
    import json

    from testkit.fake_openai import FakeOpenAIServer
    from testkit.strong_model import StrongModel
    from typer.testing import CliRunner

    from groundhog.cli import app

    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    started: list[int] = []
    start = ChromaProcess.__init__

    def counted(self: ChromaProcess, *args: object) -> None:
        start(self, *args)  # type: ignore[arg-type]
        started.append(self.pid)

    monkeypatch.setattr(ChromaProcess, "__init__", counted)
    cli = CliRunner()
    home = ["--home", str(isolated_home)]
    with FakeOpenAIServer(StrongModel("fenced"), delay_ms=30) as srv:
        endpoint = ["--provider", "openai", "--model", "strong-model", "--base-url", srv.base_url]
        names = [arg for p in PERSONAS for arg in ("--persona", p)]
        first = cli.invoke(
            app,
            ["babble", *names, "--depth", "2", "--ideas-per-day", "2", "--concurrency", "3", "--review-every", "1",
             "--session", "night", "--present", "2026-11-23", "--json", *endpoint, *home],
        )  # fmt: skip
        assert first.exit_code == 0, first.output
        assert '"awaiting-review"' in first.stdout
        assert store_processes(isolated_home) == []
        queued = json.loads(cli.invoke(app, ["queue", "list", "--json", *home]).stdout)
        for item in queued:
            assert cli.invoke(app, ["queue", "decide", item["id"], "accept", *home]).exit_code == 0
        second = cli.invoke(app, ["babble", "--resume", "night", "--json", *home])
        assert second.exit_code == 0, second.output
        assert store_processes(isolated_home) == []
    assert len(started) == 2  # each run's store was a child process of its own
    store = SessionStore(make_services(isolated_home, FakeChatModel()).db)
    days = store.days("night")
    assert len(days) == 6 and all(d.status == "done" for d in days)
    assert_every_day_stored(days, LogStore(open_chroma(isolated_home), HashEmbedder()))


def test_a_store_process_killed_mid_night_fails_the_night_in_one_line_and_a_resume_completes(
    isolated_home: Path,
) -> None:
    from groundhog.loop.events import Event

    script = ScriptedResearcher(by_prompt=True)

    def slow(messages: object, kwargs: object) -> str:
        time.sleep(0.05)
        return script(messages, kwargs)  # type: ignore[arg-type]

    loop = {"depth": 3, "ideas_per_day": 2, "concurrency": 3}
    svc, config, _ = start_night(isolated_home, FakeChatModel.with_responder(slow), **loop)
    child_pid = svc._chroma_process.pid

    def kill_after_the_first_day(event: Event) -> None:
        if event.type == "day_finished" and alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)

    first = asyncio.run(make_runner(svc, config, on_event=kill_after_the_first_day).run())
    assert first.status == "failed"
    assert "the vector store process for" in first.reason and "ended (exit code -9)" in first.reason
    svc.close()

    svc = make_services(isolated_home, FakeChatModel.with_responder(slow), loop=loop)
    config = SessionStore(svc.db).get("s1").config
    open_services(svc, config)
    second = asyncio.run(make_runner(svc, config).run())
    assert second.status == "completed", second.reason
    days = SessionStore(svc.db).days("s1")
    assert len(days) == 9 and all(d.status == "done" for d in days)
    assert_every_day_stored(days, svc.log)
    svc.close()
