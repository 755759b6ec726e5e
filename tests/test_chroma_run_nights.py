"""Nights on the home's store served by Chroma's own server (memory/chroma_server.py): when a night
serves it, several personas at once keep every day, a server killed mid-night ends the night in its
line and a resume completes, Ctrl-C finishes the day in progress, and the CLI leaves no server behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from groundhog.loop.babble import chroma_process_wanted, make_runner, new_config, open_services
from groundhog.memory.chroma_server import ChromaRun
from groundhog.memory.store import LogStore, open_chroma
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services
from testkit.served_store import assert_every_day_stored, servers_on

PERSONAS = ["doomimir", "simplicia", "interp-empiricist"]
ROOT = Path(__file__).resolve().parents[1]
CHILD = [sys.executable, "-m", "testkit.session_child"]  # run from the root (cwd=ROOT)


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
