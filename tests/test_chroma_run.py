"""The home's store on Chroma's own server, a child of the night (memory/chroma_server.py): the same
answers and the same files as the embedded client, a server that dies as one line on every call, no
server left after close or SIGKILL of the night, and one server at a time on a store (the nights are
in test_chroma_run_nights.py). Real processes and real Chroma: each server start costs a second or
two, so the tests that only ask questions share one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundhog.core.errors import StoreError
from groundhog.core.records import LogEntry
from groundhog.memory import chroma_server
from groundhog.memory.chroma_server import ChromaRun
from groundhog.memory.store import LogStore, chroma_settings, open_chroma
from testkit.fakes import HashEmbedder
from testkit.fakes import log_entry as entry
from testkit.served_store import alive, servers_on, wait_until


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaRun]:
    """One server for the tests that only write entries of their own and ask about them."""
    server = ChromaRun(tmp_path_factory.mktemp("shared") / "chroma")
    yield server
    server.close()


def served_log(server: ChromaRun, collection: str) -> LogStore:
    return LogStore(server.client(chroma_settings()), HashEmbedder(), collection=collection)


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


ROOT = Path(__file__).resolve().parents[1]

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


def test_the_server_runs_without_importing_the_python_client(shared: ChromaRun) -> None:
    """The night's server is Chroma's own, started through its entry point without the `chroma` script's
    import of the whole Python client; without that entry point, one line says what to do."""
    shared.wait_ready()
    assert wait_until(lambda: shared.pid is not None)
    argv = Path(f"/proc/{shared.pid}/cmdline").read_bytes().split(b"\0")
    assert argv[:3] == [sys.executable.encode(), b"-c", chroma_server.SERVE.encode()]
    maps = Path(f"/proc/{shared.pid}/maps").read_text()
    assert "chromadb_rust_bindings" in maps and "_pydantic_core" not in maps  # the client imports pydantic


def test_a_missing_server_entry_point_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "chromadb_rust_bindings" else found(name)
    )
    with pytest.raises(StoreError, match=r'the Chroma server \(chromadb_rust_bindings.*chroma_process = "off"'):
        ChromaRun(tmp_path / "chroma")
