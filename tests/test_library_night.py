"""A night with a library: the personas read its papers at wake-up ([P1]...) and cite them, every idea
gets its nearest papers, the critic alone decides whether one is already done (and a revision may answer
it), and a night killed with SIGKILL and resumed equals an uninterrupted one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from groundhog.core.records import CritiqueResult
from groundhog.library.papers import make_paper
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.store.sessions import SessionStore
from testkit import ROOT
from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services
from testkit.requests import ChatRequest, chat_request
from testkit.session_child import killed_then_resumed

CHILD = [sys.executable, "-m", "testkit.session_child"]
PAPER = make_paper(
    title="Monitoring small transformer models under distribution shift",
    year=2023,
    abstract="simplicia proposes experiment on monitoring with small transformer models, measuring how monitoring "
    "changes under distribution shift.",
)


@pytest.fixture
def bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("groundhog.library.bars").library.bars.PRIOR_ART_BARS, "hash-embedder", 0.3)


class Critic:
    """The scripted researcher, whose critic (when `says`) names the paper as done for study 1, unrevised."""

    def __init__(self, says: bool) -> None:
        self.shown: list[ChatRequest] = []

        def done(request: ChatRequest) -> str | None:
            self.shown.append(request)
            title = request.title or ""
            return request.papers[0][0] if says and re.search(r"study 1\b", title) and "revised" not in title else None

        self.script = ScriptedResearcher(
            builds_on=lambda persona, prompt: re.findall(r"\[(P\d+)\]", prompt)[:1], already_done=done
        )

    def __call__(self, messages: list[Any], kwargs: dict[str, Any]) -> str:
        request = chat_request(messages, kwargs)
        if request.schema == "IdeaDraft":  # a revision: another angle on the same topic
            import json

            return json.dumps(
                {
                    "title": f"{request.title} (revised)",
                    "summary": "A different experiment on "
                    "honeypots and sandbagging in agent evaluations, with held-out tasks.",
                    "rationale": "answers the critique",
                    "builds_on": [],
                }
            )
        return self.script(messages, kwargs)


def night(home: Path, critic: Critic) -> tuple[Any, Any]:
    model = FakeChatModel.with_responder(critic)
    svc = make_services(home, model, loop={"depth": 2, "ideas_per_day": 2}, critique={"revisions": 1})
    svc.library.add([PAPER])
    config = new_config(svc.settings, ["simplicia"], session="s1", present=date(2026, 11, 23))
    SessionStore(svc.db).create(config)
    return svc, run_session(make_runner(svc, config), handle_signals=False)


def critiques(svc: Any) -> list[CritiqueResult]:
    return [CritiqueResult.model_validate_json(str(e.meta["critique_json"])) for e in svc.log.entries(kind="critique")]


def test_personas_read_and_cite_papers_and_the_critic_names_prior_art(isolated_home: Path, bar: None) -> None:
    critic = Critic(says=True)
    svc, outcome = night(isolated_home, critic)
    assert outcome.status == "completed", outcome.reason
    babbles = critic.script.prompts["Simplicia"]
    assert all("[P1] (paper: Monitoring small transformer models" in p for p in babbles)
    ideas = svc.log.entries(kind="idea")
    assert any(PAPER.id in str(e.meta.get("builds_on", "")) for e in ideas)  # the citation resolved to the paper
    done = [r for r in critiques(svc) if any(f.name == "prior_art" for f in r.flags)]
    assert done, "the critic named the paper for study 1"
    assert all(r.verdict == "fail" and r.flags[-1].ref == PAPER.id and r.prior_art for r in done)
    revised = {i.idea.parent_id for i in svc.queue.list() if i.idea.revision}
    assert {r.idea_id for r in done} & revised, "a prior-art failure is revised like any failure"
    queued = svc.queue.list()
    assert queued and all(i.literature_novelty is not None for i in queued)
    svc.close()


def test_proximity_alone_fails_nothing(isolated_home: Path, bar: None) -> None:
    critic = Critic(says=False)
    svc, outcome = night(isolated_home, critic)
    assert outcome.status == "completed", outcome.reason
    assert any(r.papers for r in critic.shown), "the critic was shown the near paper"
    assert not [r for r in critiques(svc) if any(f.name == "prior_art" for f in r.flags)]
    svc.close()


# -- kill -9 and resume ----------------------------------------------------------------------------------


def _run(home: Path, mode: str, kill_at: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SESSION_CHILD_LIBRARY": "1"}
    return subprocess.run(
        [*CHILD, str(home), mode, str(kill_at)], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )


def _snapshot(home: Path) -> tuple[dict[str, tuple], dict[str, tuple]]:
    from groundhog.memory.store import LogStore, open_chroma
    from groundhog.store.database import open_store
    from groundhog.store.queue import ReviewQueue
    from testkit.fakes import HashEmbedder

    log = LogStore(open_chroma(home), HashEmbedder())
    entries = {
        e.id: (e.kind, e.day, e.text, str(sorted(e.meta.items()))) for e in log.entries() if e.kind != "feedback"
    }
    db = open_store(home, os.environ.get("GROUNDHOG_DATABASE_URL"))
    try:
        queue = {
            q.idea.id: (q.idea.title, q.idea.builds_on, q.critique.model_dump_json(exclude={"cross"}))
            for q in ReviewQueue(db).list()
        }
    finally:
        db.close()
    return entries, queue


def _strip_times(snapshot: tuple[dict[str, tuple], dict[str, tuple]]) -> Any:
    entries, queue = snapshot
    return {k: (v[0], v[1], v[2], re.sub(r"'created_at'[^)]*\)", "", v[3])) for k, v in entries.items()}, queue


@pytest.mark.parametrize("kill_at", [2, 5])
def test_a_night_with_a_library_killed_and_resumed_equals_an_uninterrupted_one(tmp_path: Path, kill_at: int) -> None:
    reference = tmp_path / "reference"
    done = _run(reference, "new")
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1].startswith("completed"), done.stderr
    expected = _snapshot(reference)
    queued = expected[1].values()
    assert any(any(b.startswith("paper:") for b in builds_on) for _, builds_on, _ in queued), "papers were cited"
    assert any('"prior_art":[{' in critique for _, _, critique in queued), "ideas carry their nearest papers"
    assert any('"name":"prior_art"' in e[3] for e in expected[0].values()), "the critic named a paper"

    home = tmp_path / "home"
    killed_then_resumed(home, kill_at, SESSION_CHILD_LIBRARY="1")
    assert _snapshot(home)[1] == expected[1]
    assert set(_snapshot(home)[0]) == set(expected[0])


# -- in the review --------------------------------------------------------------------------------------


def test_the_review_shows_nearest_prior_work_and_the_queue_sorts_by_it(
    isolated_home: Path, bar: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.testclient import TestClient
    from typer.testing import CliRunner

    from groundhog.cli import app
    from groundhog.web.app import create_app
    from testkit.fakes import HashEmbedder

    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    svc, outcome = night(isolated_home, Critic(says=False))
    assert outcome.status == "completed", outcome.reason
    items = svc.queue.list()
    distances = {i.id: i.literature_novelty for i in items}
    assert len(set(distances.values())) > 1, "the ideas lie at different distances from the paper"
    runner = CliRunner()
    near = json.loads(runner.invoke(app, ["queue", "list", "--sort", "near", "--json"]).stdout)
    assert [r["literature_novelty"] for r in near] == sorted(distances.values())
    cut = sorted(distances.values())[0]
    close = json.loads(runner.invoke(app, ["queue", "list", "--max-literature-distance", str(cut), "--json"]).stdout)
    assert {r["id"] for r in close} == {k for k, v in distances.items() if v <= cut}
    bad = runner.invoke(app, ["queue", "list", "--sort", "nearest"])
    assert bad.exit_code == 2 and "--sort" in bad.stderr
    shown = runner.invoke(app, ["queue", "show", items[0].id])
    assert "Nearest prior work" in shown.stdout and PAPER.title in shown.stdout.replace("\n", " ")
    tuned = json.loads(runner.invoke(app, ["tune", "--json"]).stdout)
    lit = [d["literature_novelty"] for d in tuned["days"]]
    assert all(v is not None and 0 < v < 1 for v in lit), lit  # beside novelty against the log
    assert all("novelty" in d for d in tuned["days"])
    web = create_app(lambda: (svc.queue, svc.log))
    with TestClient(web, base_url="http://127.0.0.1:8765") as client:
        html = client.get("/", params={"sort": "near", "status": "all"}).text
        assert "Nearest prior work" in html and PAPER.title in html
        assert client.get("/", params={"min_literature": "2"}).status_code == 400
    svc.close()
