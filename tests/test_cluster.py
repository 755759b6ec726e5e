"""A night across processes, against real services started here: a `chroma run` server for the log, a
local Ray cluster (a head node and two worker nodes, each its own raylet and worker processes) for the
persona-days, and the loopback OpenAI-compatible endpoint (replies that depend only on the prompt, so
two runs of the same night can be compared id for id).

The night on Ray must equal the same night in one process; a Ray worker killed in the middle of a day
must leave nothing lost and nothing written twice."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from groundhog.cluster.executor import joining
from groundhog.compose.services import Services
from groundhog.core.settings import load_settings
from groundhog.loop.babble import make_runner, new_config, open_services, run_session
from groundhog.store.sessions import SessionStore
from testkit.cluster_services import ChromaServer, descends_from, parent_of, pid_of_client, ray_cluster
from testkit.fake_openai import FakeOpenAIServer
from testkit.fakes import ScriptedResearcher, http_responder
from testkit.requests import body_request

pytestmark = pytest.mark.cluster

PRESENT = date(2026, 11, 23)
PERSONAS = ["doomimir", "simplicia", "abstractions-theorist", "control-evaluator"]
DEPTH = 2


class Endpoint:
    """The fake endpoint for the module, with a hook a test can set to act on a request as it comes."""

    def __init__(self) -> None:
        # Some ideas fail the critic (and are revised, then fail again): the night has every kind of entry.
        script = ScriptedResearcher(by_prompt=True, scores=lambda persona, n: 2 if n % 3 == 0 else 7)
        self.answer = http_responder(script)
        self.hook: Callable[[dict[str, Any]], None] | None = None
        self.server = FakeOpenAIServer(self.respond)

    def respond(self, body: dict[str, Any]) -> str:
        if self.hook is not None:
            self.hook(body)
        return self.answer(body)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    with e.server:
        yield e


@pytest.fixture(scope="module")
def cluster(shared_cache: Path) -> Iterator[Any]:
    # The workers inherit this environment from their raylets: the test's cache, nothing from a hub.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GROUNDHOG_CACHE", str(shared_cache))
        mp.setenv("HF_HUB_OFFLINE", "1")
        with ray_cluster(workers=2) as c:
            yield c


def flags(srv: FakeOpenAIServer, **more: Any) -> dict[str, Any]:
    """Chat and embeddings from the endpoint, for the driver and every worker alike."""
    return {
        "babble": {"provider": "openai", "model": "fake-model", "base_url": srv.base_url, "timeout_s": 30},
        "embedding": {"provider": "openai", "model": "fake-embedding", "base_url": srv.base_url},
        "retry": {"initial_s": 0.01, "max_wait_s": 0.05},
        "loop": {"depth": DEPTH, "ideas_per_day": 2, "concurrency": 4},
        **more,
    }


def night(home: Path, srv: FakeOpenAIServer, ray_address: str | None = None, **more: Any) -> tuple[Any, Services]:
    """The night, as `groundhog babble [--ray ADDRESS]` runs it: services checked, then the session."""
    svc = Services(load_settings(home, **flags(srv, **more)))
    config = new_config(svc.settings, PERSONAS, session="night", present=PRESENT)
    days = open_services(svc, config, joining(svc, config, ray_address) if ray_address is not None else None)
    SessionStore(svc.db).create(config)
    try:
        outcome = run_session(make_runner(svc, config, days=days), handle_signals=False)
    finally:
        if days is not None:
            days.close()
    return outcome, svc


def cli_night(home: Path, srv: FakeOpenAIServer, ray_address: str, chroma_url: str) -> Any:
    """The same night through the command line: `groundhog babble ... --ray ADDRESS`."""
    from typer.testing import CliRunner

    from groundhog.cli import app

    args = ["babble", "--session", "night", "--present", PRESENT.isoformat(), "--ray", ray_address, "--home", str(home)]
    args += [f"--persona={p}" for p in PERSONAS]
    args += ["--depth", str(DEPTH), "--ideas-per-day", "2", "--concurrency", "4"]
    args += ["--provider", "openai", "--model", "fake-model", "--base-url", srv.base_url]
    env = {"GROUNDHOG_CHROMA_URL": chroma_url, "GROUNDHOG_BABBLE__TIMEOUT_S": "30"}
    env |= {"GROUNDHOG_RETRY__INITIAL_S": "0.01", "GROUNDHOG_RETRY__MAX_WAIT_S": "0.05"}
    env |= {f"GROUNDHOG_EMBEDDING__{k.upper()}": v for k, v in flags(srv)["embedding"].items()}
    return CliRunner().invoke(app, args, env=env)


def snapshot(svc: Services) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """The log (id -> persona, kind, day, text) and the queue (id -> title, summary, status, origin)."""
    log = {e.id: (e.persona, e.kind, e.day, e.text) for e in svc.log.entries()}
    items = svc.queue.list()
    queue = {q.idea.id: (q.idea.title, q.idea.summary, q.status, q.origin) for q in items}
    assert len(queue) == len(items), "an idea queued twice"
    days = [
        (d.persona, d.day, d.status, d.attempts)
        for s in SessionStore(svc.db).all()
        for d in SessionStore(svc.db).days(s.id)
    ]
    assert days == [(p, d, "done", 1) for p in sorted(PERSONAS) for d in range(1, DEPTH + 1)]
    return log, queue


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, endpoint: Endpoint, shared_cache: Path) -> tuple[dict, dict]:
    """The same night in one process, on the embedded store."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GROUNDHOG_CACHE", str(shared_cache))
        outcome, svc = night(tmp_path_factory.mktemp("one-process"), endpoint.server)
        try:
            assert outcome.status == "completed", outcome.reason
            return snapshot(svc)
        finally:
            svc.close()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_night_on_a_ray_cluster_and_a_chroma_server_equals_the_night_in_one_process(
    tmp_path: Path,
    endpoint: Endpoint,
    cluster: Any,
    reference: tuple[dict, dict],
    store: str,
    request: pytest.FixtureRequest,
) -> None:
    """On the embedded SQLite store, and on PostgreSQL + a Chroma server + a 2-worker Ray cluster."""
    database = {"database_url": request.getfixturevalue("pg_url")} if store == "postgres" else {}
    log, queue = reference
    assert {k for _, k, _, _ in log.values()} >= {"corpus", "idea", "critique", "notebook"}
    assert queue and any(kind == "idea" and "(revised)" in text for _, kind, _, text in log.values())
    babblers: list[tuple[int, int]] = []  # the process behind each babble request, and its raylet

    def who_babbles(body: dict[str, Any]) -> None:
        if body_request(body).schema == "BabbleOutput":
            client = endpoint.server.client_address()
            pid = pid_of_client(client[1], endpoint.server.port) if client else None
            babblers.append((pid or 0, parent_of(pid) if pid else 0))

    endpoint.hook = who_babbles
    try:
        with ChromaServer(tmp_path / "chroma") as chroma:
            outcome, svc = night(tmp_path / "home", endpoint.server, cluster.address, chroma_url=chroma.url, **database)
            try:
                assert outcome.status == "completed", outcome.reason
                assert snapshot(svc) == reference
            finally:
                svc.close()
    finally:
        endpoint.hook = None
    assert not (tmp_path / "home" / "chroma").exists(), "the log went to the server, not to an embedded store"
    assert len(babblers) == len(PERSONAS) * DEPTH and os.getpid() not in {p for p, _ in babblers}, babblers
    assert len({raylet for _, raylet in babblers}) == 2, f"the days did not run on both worker nodes: {babblers}"


def test_a_ray_worker_killed_mid_day_has_its_day_redone_nothing_lost_or_doubled(
    tmp_path: Path, endpoint: Endpoint, cluster: Any, reference: tuple[dict, dict]
) -> None:
    killed: list[int] = []
    notes: list[str] = []  # the notebook requests of Simplicia's day 1, as they come
    lock = threading.Lock()
    me = os.getpid()

    def kill_the_worker(body: dict[str, Any]) -> None:
        """Simplicia's first notebook request (the day's last call: its ideas are babbled and judged, none
        committed): SIGKILL the Ray worker process that sent it, before it gets the reply."""
        request = body_request(body)
        if request.persona != "Simplicia" or request.schema != "NotebookOutput":
            return
        with lock:
            notes.append(request.prompt)
            if killed:
                return
            client = endpoint.server.client_address()
            assert client is not None
            pid = pid_of_client(client[1], endpoint.server.port)
            assert pid is not None and pid != me and descends_from(pid, me), pid  # a worker this test started
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    endpoint.hook = kill_the_worker
    try:
        with ChromaServer(tmp_path / "chroma") as chroma:
            result = cli_night(tmp_path / "home", endpoint.server, cluster.address, chroma.url)
            assert result.exit_code == 0, result.output
            assert "persona-days run as Ray tasks on the Ray cluster at" in result.stderr
            svc = Services(load_settings(tmp_path / "home", **flags(endpoint.server, chroma_url=chroma.url)))
            try:
                assert SessionStore(svc.db).get("night").status == "completed"
                assert len(killed) == 1, "the worker was not killed"
                assert len(notes) >= 3 and notes[0] == notes[1], "day 1 was not redone from the same wake-up"
                assert snapshot(svc) == reference  # every entry and queue item once, as in one process
            finally:
                svc.close()
    finally:
        endpoint.hook = None
