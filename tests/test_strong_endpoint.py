"""Sessions against an endpoint that answers like a strong model: long fields that ignore the schema's
limits, reasoning before the answer, fenced JSON, latency, several personas at once."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.compose.services import Services
from groundhog.core.settings import load_settings
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.store.sessions import SessionStore
from testkit.fake_openai import FakeOpenAIServer
from testkit.fakes import HashEmbedder
from testkit.strong_model import STYLES, StrongModel

PERSONAS = ["doomimir", "simplicia"]


def services(home: Path, base_url: str, **loop: Any) -> Services:
    settings = load_settings(
        home,
        babble={"provider": "openai", "model": "strong-model", "base_url": base_url},
        loop={"depth": 2, "ideas_per_day": 3, "concurrency": 4, **loop},
        critique={"revisions": 1},
    )
    return Services(settings, embedder=HashEmbedder())


def run(svc: Services, session: str = "s1", resume: bool = False) -> Any:
    store = SessionStore(svc.db)
    if resume:
        config = store.get(session).config
    else:
        config = new_config(svc.settings, PERSONAS, session=session, present=date(2026, 11, 23))
        store.create(config)
    return run_session(make_runner(svc, config), handle_signals=False)


@pytest.mark.parametrize("style", STYLES)
def test_a_strong_model_completes_every_day_and_its_long_text_is_kept_whole(isolated_home: Path, style: str) -> None:
    model = StrongModel(style, summary_chars=1200)
    with FakeOpenAIServer(model, delay_ms=20) as srv:
        svc = services(isolated_home, srv.base_url)
        outcome = run(svc)
        store = SessionStore(svc.db)
        days = store.days("s1")
        items = svc.queue.list()
        ideas = svc.log.entries(kind="idea")
        svc.close()
    assert outcome.status == "completed", outcome.reason
    assert [(d.persona, d.day, d.status) for d in sorted(days, key=lambda d: (d.persona, d.day))] == [
        (p, n, "done") for p in PERSONAS for n in (1, 2)
    ]
    assert sum(d.generated for d in days) == 2 * 2 * 3
    assert items, "a strong model's ideas reach the queue"
    assert all(len(i.idea.summary) >= 1200 for i in items)  # kept whole, not cut at a 135M model's limit
    assert all(len(i.critique.reasoning) > 700 for i in items)
    assert all("draft I threw away" not in e.text for e in ideas)  # the reasoning's decoy is not the answer
    assert model.calls["critique"] >= 12


def test_an_unreadable_critic_reply_leaves_that_idea_unjudged_and_resume_judges_it(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    model = StrongModel("plain")
    model.unreadable = {"(study 2)"}  # the second idea babbled: doomimir's or simplicia's, whichever came first
    with FakeOpenAIServer(model) as srv:
        svc = services(isolated_home, srv.base_url, depth=1)
        outcome = run(svc)
        days = SessionStore(svc.db).days("s1")
        unjudged = [e for e in svc.log.entries(kind="idea") if e.meta.get("verdict") == "unjudged"]
        queued_before = {i.id for i in svc.queue.list()}
        assert outcome.status == "completed" and "1 idea unjudged" in outcome.reason, outcome.reason
        assert all(d.status == "done" for d in days) and sum(d.generated for d in days) == 6
        assert len(unjudged) == 1 and unjudged[0].id not in queued_before
        shown = CliRunner().invoke(app, ["sessions", "show", "s1", "--json", "--home", str(isolated_home)])
        assert shown.exit_code == 0, shown.output
        report = json.loads(shown.stdout)
        assert [i["id"] for i in report["unjudged"]] == [unjudged[0].id]
        day = report["personas"][0]["days"][0]
        assert 0 < day["context_tokens"] <= day["context_budget_tokens"]
        text = CliRunner().invoke(app, ["sessions", "show", "s1", "--home", str(isolated_home)])
        assert "1 unjudged" in text.stdout and unjudged[0].id in text.stdout

        model.unreadable = set()  # the endpoint recovers
        outcome = run(svc, resume=True)
        assert outcome.status == "completed" and "unjudged" not in outcome.reason, outcome.reason
        judged = svc.log.get_many([unjudged[0].id])[0]
        assert judged.meta["verdict"] in ("pass", "fail")
        if judged.meta["verdict"] == "pass":
            assert unjudged[0].id in {i.id for i in svc.queue.list()} or any(
                i.idea.parent_id == unjudged[0].id for i in svc.queue.list()
            )
        svc.close()


def test_rejudge_from_the_command_line(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = StrongModel("fenced")
    model.unreadable = {"(study 1)"}
    with FakeOpenAIServer(model) as srv:
        svc = services(isolated_home, srv.base_url, depth=1)
        run(svc)
        svc.close()
        model.unreadable = set()
        monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
        done = CliRunner().invoke(
            app,
            [
                "critique",
                "--rejudge",
                "s1",
                "--home",
                str(isolated_home),
                "--provider",
                "openai",
                "--model",
                "strong-model",
                "--base-url",
                srv.base_url,
            ],
        )
    assert done.exit_code == 0, done.output
    assert "rejudged 1 idea" in done.output
    svc = services(isolated_home, "http://unused")
    assert not [e for e in svc.log.entries(kind="idea") if e.meta.get("verdict") == "unjudged"]
    svc.close()


def test_max_tokens_stops_a_session_whose_calls_fail_and_counts_their_tokens(isolated_home: Path) -> None:
    model = StrongModel("plain")
    model.unreadable = {"study"}  # every critic reply is unreadable: each call still costs tokens
    with FakeOpenAIServer(model) as srv:
        svc = services(isolated_home, srv.base_url, depth=6, ideas_per_day=2, max_tokens=20_000)
        outcome = run(svc)
        totals = SessionStore(svc.db).totals("s1")
        svc.close()
    assert outcome.status == "completed" and "--max-tokens budget reached" in outcome.reason
    assert totals.tokens >= 20_000
    assert model.calls["critique"] >= 2  # the failed critic calls were made, and their tokens counted


def test_critique_of_a_day_runs_concurrently(isolated_home: Path) -> None:
    """Three ideas, 300 ms a call, concurrency 4: the day's three critic calls are in flight together."""
    model = StrongModel("plain")
    with FakeOpenAIServer(model, delay_ms=300) as srv:
        svc = services(isolated_home, srv.base_url, depth=1)
        store = SessionStore(svc.db)
        config = new_config(svc.settings, ["doomimir"], session="c1", present=date(2026, 11, 23))
        store.create(config)
        asyncio.run(make_runner(svc, config).run())
        svc.close()
    assert model.calls["critique"] >= 3
    assert max(srv.peak_in_flight("CriticOutput"), srv.peak_in_flight("CriticJudgment")) >= 3
    assert srv.peak_in_flight("BabbleOutput") == 1  # one persona, one day: its babble call alone
