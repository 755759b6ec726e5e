"""The home's store on Chroma's own server, a child of the night (memory/chroma_server.py): the same
answers and the same files as the embedded client, a server that dies as one line on every call, no
server left after close, Ctrl-C or SIGKILL of the night, one server at a time on a store, and nights
that run on it. Real processes and real Chroma: each server start costs a second or two, so the
tests that only ask questions share one."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from groundhog.core.errors import StoreError
from groundhog.core.records import LogEntry
from groundhog.loop.babble import chroma_process_wanted, make_runner, new_config, open_services
from groundhog.memory import chroma_server
from groundhog.memory.chroma_server import ChromaRun
from groundhog.memory.store import LogStore, chroma_settings, open_chroma
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services
from testkit.fakes import log_entry as entry

PERSONAS = ["doomimir", "simplicia", "interp-empiricist"]
ROOT = Path(__file__).resolve().parents[1]
CHILD = [sys.executable, "-m", "testkit.session_child"]  # run from the root (cwd=ROOT)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaRun]:
    """One server for the tests that only write entries of their own and ask about them."""
    server = ChromaRun(tmp_path_factory.mktemp("shared") / "chroma")
    yield server
    server.close()


def served_log(server: ChromaRun, collection: str) -> LogStore:
    return LogStore(server.client(chroma_settings()), HashEmbedder(), collection=collection)


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_until(check: Any, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def servers_on(path: Path) -> list[int]:
    """The pids of the guards and `chroma run` servers open on this store."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"run" in argv and str(path).encode() in argv and alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def some_entries() -> list[LogEntry]:
    words = ["probing", "debate", "oversight", "circuits", "steering", "honeypots", "ablations", "monitoring"]
    words += ["sandbagging", "rewards"]
    kinds = ["idea", "notebook", "critique", "corpus"]
    return [
        entry(f"e{i}", " ".join(words[(i * j) % len(words)] for j in range(1, 2 + i % 5)), kind=kinds[i % 4], hours=i)
        for i in range(20)
    ]


# -- the server answers as the embedded store ---------------------------------------------------------


def test_a_log_on_the_server_answers_as_the_embedded_log(tmp_path: Path, shared: ChromaRun) -> None:
    inline = LogStore(open_chroma(tmp_path / "inline"), HashEmbedder())
    served = served_log(shared, "same_answers")
    for log in (inline, served):
        log.add(some_entries())
        log.delete_ids(["e3"])
    assert served.count() == inline.count() == 19
    assert served.get_many(["e1", "e2", "e3"]) == inline.get_many(["e1", "e2", "e3"])
    assert served.entries(kind="idea") == inline.entries(kind="idea")

    def ranked(hits: list[tuple[LogEntry, float]]) -> list[tuple[str, float]]:  # ties in either order
        return sorted(((e.id, round(sim, 6)) for e, sim in hits), key=lambda p: (-p[1], p[0]))

    assert ranked(served.search("probing debate", k=50)) == ranked(inline.search("probing debate", k=50))
    vector = HashEmbedder().embed(["oversight circuits"])[0]
    for mine, theirs in zip(
        served.nearest_ideas_many([vector, vector], 50), inline.nearest_ideas_many([vector, vector], 50), strict=True
    ):
        assert ranked(mine) == ranked(theirs)
    assert [s.entry.id for s in served.retrieve("steering", persona="simplicia", k=50)] == [
        s.entry.id for s in inline.retrieve("steering", persona="simplicia", k=50)
    ]
    served.delete(session="s1", persona="simplicia", day=1)
    assert served.count() == 0


def test_many_threads_at_once_each_get_their_own_answers(shared: ChromaRun) -> None:
    log = served_log(shared, "threads")
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


def test_chromas_own_error_is_not_taken_for_a_dead_server(shared: ChromaRun) -> None:
    log = served_log(shared, "errors")
    log.add([entry("a", "an idea")])
    collection = shared.client(chroma_settings()).get_or_create_collection("errors")
    with pytest.raises(ValueError, match=r"\$bogus"):
        collection.query(query_embeddings=[[0.1] * 256], n_results=1, where={"day": {"$bogus": 1}})
    assert log.get("a") is not None  # still answering


EMBEDDED_WRITER = """
import sys
from pathlib import Path
from testkit.fakes import HashEmbedder, log_entry
from groundhog.memory.store import LogStore, open_chroma
LogStore(open_chroma(Path(sys.argv[1])), HashEmbedder()).add([log_entry(f"x{i}", f"embedded {i}") for i in range(10)])
"""


def test_the_embedded_client_and_the_server_read_each_others_store(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    subprocess.run([sys.executable, "-c", EMBEDDED_WRITER, str(tmp_path)], check=True, env=env)  # a night of one
    server = ChromaRun(tmp_path / "chroma")
    try:
        log = served_log(server, "groundhog_log")
        assert [e.text for e in log.get_many([f"x{i}" for i in range(10)])] == [f"embedded {i}" for i in range(10)]
        log.add(some_entries())
    finally:
        server.close()
    embedded = LogStore(open_chroma(tmp_path), HashEmbedder())  # then a night of one again, in this process
    assert embedded.count() == 30
    assert embedded.get_many([e.id for e in some_entries()]) == some_entries()
    assert [e.id for e, _ in embedded.search("embedded 3", k=1)] == ["x3"]


# -- starting, failing and ending ----------------------------------------------------------------------


def test_a_server_that_does_not_answer_in_time_is_a_store_error_not_a_hang(tmp_path: Path) -> None:
    server = ChromaRun(tmp_path / "chroma")
    try:
        with pytest.raises(StoreError, match=r"vector store server for .*chroma .* no heartbeat within 0 s"):
            server.client(chroma_settings(), timeout_s=0.01)  # it is still importing chromadb
    finally:
        server.close()
    assert wait_until(lambda: servers_on(tmp_path / "chroma") == [], 10)


def test_a_store_that_is_not_a_folder_says_so_and_is_left_as_it_is(tmp_path: Path) -> None:
    blocker = tmp_path / "chroma"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match=r"cannot start the vector store server for .*chroma"):
        ChromaRun(blocker)
    assert blocker.read_text() == "not a folder"


def test_a_port_taken_before_the_server_listens_is_traded_for_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1]])
    free = chroma_server.free_port
    monkeypatch.setattr(chroma_server, "free_port", lambda: next(ports, None) or free())
    server = ChromaRun(tmp_path / "chroma")
    try:
        log = served_log(server, "groundhog_log")
        log.add([entry("a", "an idea")])
        assert server.port != taken.getsockname()[1] and log.count() == 1
    finally:
        server.close()
        taken.close()


def test_a_server_that_dies_fails_every_pending_and_later_call_in_one_line(tmp_path: Path) -> None:
    server = ChromaRun(tmp_path / "chroma")
    log = served_log(server, "groundhog_log")
    log.add([entry("a", "an idea")])
    failures: list[BaseException] = []

    def keep_writing(n: int) -> None:
        try:
            for i in range(10_000):
                log.add([entry(f"w{n}-{i}", f"writer {n} entry {i}")])
        except BaseException as exc:
            failures.append(exc)

    writers = [threading.Thread(target=keep_writing, args=(n,)) for n in range(4)]
    for w in writers:
        w.start()
    time.sleep(0.5)
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)
    for w in writers:
        w.join(timeout=30)
    assert not any(w.is_alive() for w in writers), "a call hangs on a dead server"
    line = r"the vector store server for .*chroma \(chroma run on port \d+, pid \d+\) ended \(killed by SIGKILL\)$"
    assert len(failures) == 4 and all(isinstance(f, StoreError) for f in failures)
    for failure in failures:
        assert __import__("re").search(line, str(failure)), failure
    with pytest.raises(StoreError, match=line):
        log.count()
    server.close()
    assert servers_on(tmp_path / "chroma") == []


def test_close_lets_the_write_in_flight_finish_then_ends_the_server(tmp_path: Path) -> None:
    server = ChromaRun(tmp_path / "chroma")
    log = served_log(server, "groundhog_log")
    writer = threading.Thread(target=log.add, args=([entry(f"w{i}", f"entry {i}") for i in range(200)],))
    writer.start()
    assert wait_until(lambda: server.in_flight == 1, 10)
    server.close()
    writer.join()
    server.close()  # twice is harmless
    assert servers_on(tmp_path / "chroma") == []
    with pytest.raises(StoreError, match="is closed"):
        log.count()
    assert LogStore(open_chroma(tmp_path), HashEmbedder()).count() == 200


def test_one_server_at_a_time_on_a_store(tmp_path: Path) -> None:
    """A night resumed at once after a SIGKILL finds its last server still stopping: the new one waits."""
    first = ChromaRun(tmp_path / "chroma")
    served_log(first, "groundhog_log").add([entry("a", "written by the first")])
    second = ChromaRun(tmp_path / "chroma")
    try:
        time.sleep(2.0)
        assert second.pid is None  # its guard waits for the lock the first server holds
        first.close()
        log = served_log(second, "groundhog_log")
        assert log.get("a") is not None
    finally:
        first.close()
        second.close()


SERVE_FROM_A_THREAD = """
import sys, threading, time
from pathlib import Path
from groundhog.memory.chroma_server import ChromaRun
from groundhog.memory.store import chroma_settings

def start():  # from a thread that ends at once: the server must not care which thread started it
    server = ChromaRun(Path(sys.argv[1]))
    server.client(chroma_settings()).get_or_create_collection("groundhog_log")
    print(server.pid, flush=True)

thread = threading.Thread(target=start)
thread.start()
thread.join()
time.sleep(120)
"""


def test_the_server_ends_with_the_night_even_when_the_night_is_killed(tmp_path: Path) -> None:
    night = subprocess.Popen(
        [sys.executable, "-c", SERVE_FROM_A_THREAD, str(tmp_path / "chroma")], stdout=subprocess.PIPE, text=True
    )
    assert night.stdout is not None
    pid = int(night.stdout.readline())
    time.sleep(1.0)  # the thread that started it is long gone
    assert alive(pid)
    night.kill()
    night.wait()
    assert wait_until(lambda: servers_on(tmp_path / "chroma") == []), "the server outlived its night"


@pytest.mark.parametrize(
    ("setting", "concurrency", "personas", "wanted"),
    [("auto", 4, 3, True), ("auto", 1, 3, False), ("auto", 4, 1, False), ("on", 1, 1, True), ("off", 8, 3, False)],
)
def test_when_a_night_serves_its_store(
    isolated_home: Path, setting: str, concurrency: int, personas: int, wanted: bool
) -> None:
    svc = make_services(isolated_home, FakeChatModel(), loop={"concurrency": concurrency})
    config = new_config(svc.settings, PERSONAS[:personas], session="s1", present=date(2026, 11, 23))
    assert chroma_process_wanted(setting, config) is wanted


# -- nights on the server --------------------------------------------------------------------------------


def start_night(home: Path, model: FakeChatModel, **loop: object) -> tuple[Any, Any, SessionStore]:
    """A new session s1 of the three personas, its store opened as `groundhog babble` opens it: served."""
    svc = make_services(home, model, loop=loop)
    config = new_config(svc.settings, PERSONAS, session="s1", present=date(2026, 11, 23))
    store = SessionStore(svc.db)
    store.create(config)
    open_services(svc, config)
    assert svc.chroma_server is not None
    return svc, config, store


def assert_every_day_stored(days: list[Any], log: LogStore) -> None:
    for d in days:
        ids = d.summary["entry_ids"]
        assert {e.id for e in log.get_many(ids)} == set(ids)
        assert d.summary["notebook_id"] in ids


def test_a_night_of_several_personas_on_the_server_keeps_every_day(isolated_home: Path) -> None:
    model = FakeChatModel.with_responder(ScriptedResearcher())
    svc, config, store = start_night(isolated_home, model, depth=2, ideas_per_day=2, concurrency=3)
    outcome = asyncio.run(make_runner(svc, config).run())
    assert outcome.status == "completed"
    days = store.days("s1")
    svc.close()
    assert servers_on(isolated_home / "chroma") == []
    log = LogStore(open_chroma(isolated_home), HashEmbedder())  # the home's store, read in this process
    assert len(days) == 6 and all(d.status == "done" for d in days)
    assert_every_day_stored(days, log)


def test_a_server_killed_mid_night_fails_the_night_in_its_line_and_a_resume_completes(isolated_home: Path) -> None:
    from groundhog.loop.events import Event

    script = ScriptedResearcher(by_prompt=True)

    def slow(messages: object, kwargs: object) -> str:
        time.sleep(0.05)
        return script(messages, kwargs)  # type: ignore[arg-type]

    loop = {"depth": 3, "ideas_per_day": 2, "concurrency": 3}
    svc, config, _ = start_night(isolated_home, FakeChatModel.with_responder(slow), **loop)
    killed: list[int] = []

    def kill_after_the_first_day(event: Event) -> None:
        if event.type == "day_finished" and not killed:
            assert svc.chroma_server.pid is not None
            killed.append(svc.chroma_server.pid)
            os.kill(svc.chroma_server.pid, signal.SIGKILL)

    first = asyncio.run(make_runner(svc, config, on_event=kill_after_the_first_day).run())
    assert first.status == "failed"
    assert f"the vector store server for {isolated_home / 'chroma'}" in first.reason
    assert f"pid {killed[0]}) ended (killed by SIGKILL)" in first.reason
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


def test_ctrl_c_finishes_the_day_in_progress_and_leaves_no_server(tmp_path: Path) -> None:
    """The terminal sends Ctrl-C to the night's whole process group: the server, in a session of its own,
    is not in it, so the day in progress still writes its entries before the night ends."""
    home = tmp_path / "home"
    night = subprocess.Popen(
        [*CHILD, str(home), "new", "0", "0.1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
    )
    assert night.stdout is not None
    assert night.stdout.readline().strip() == "day_finished"
    assert servers_on(home / "chroma")
    os.killpg(night.pid, signal.SIGINT)
    out, err = night.communicate(timeout=120)
    assert night.returncode == 0, err
    assert out.strip().splitlines()[-1].startswith("interrupted")
    assert servers_on(home / "chroma") == []
    store = SessionStore(make_services(home, FakeChatModel()).db)
    days = [d for d in store.days("crash") if d.status == "done"]
    assert days and all(d.status != "running" for d in store.days("crash"))
    assert_every_day_stored(days, LogStore(open_chroma(home), HashEmbedder()))


def test_a_night_through_the_cli_pauses_resumes_and_leaves_no_server(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three personas at once on an endpoint that answers like a strong model (reasoning, fenced JSON,
    latency), paused for review after day 1, decided, resumed: each run's store is a server of its own,
    gone when the command returns, and the log holds every day."""
    import json

    from typer.testing import CliRunner

    from groundhog.cli import app
    from testkit.fake_openai import FakeOpenAIServer
    from testkit.strong_model import StrongModel

    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    started: list[int] = []
    start = ChromaRun._start

    def counted(self: ChromaRun) -> None:
        start(self)
        started.append(self.port)

    monkeypatch.setattr(ChromaRun, "_start", counted)
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
        assert servers_on(isolated_home / "chroma") == []
        queued = json.loads(cli.invoke(app, ["queue", "list", "--json", *home]).stdout)
        for item in queued:
            assert cli.invoke(app, ["queue", "decide", item["id"], "accept", *home]).exit_code == 0
        second = cli.invoke(app, ["babble", "--resume", "night", "--json", *home])
        assert second.exit_code == 0, second.output
        assert servers_on(isolated_home / "chroma") == []
    assert len(started) == 2  # each run's store was a server of its own
    store = SessionStore(make_services(isolated_home, FakeChatModel()).db)
    days = store.days("night")
    assert len(days) == 6 and all(d.status == "done" for d in days)
    assert_every_day_stored(days, LogStore(open_chroma(isolated_home), HashEmbedder()))
