"""The seminar (`babble --seminar-every N`): personas read the night's best ideas of the others and build on
them; the parents and their authors are recorded and shown; a night with seminars resumes exactly."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.records import CritiqueResult, Idea, QueueItem, Scores
from groundhog.critique.entries import idea_of
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.loop.seminar import SEMINAR_MAX, Attendance, seminar_day, seminar_reach
from groundhog.review.provenance import gather
from groundhog.store.sessions import SessionStore
from testkit.fake_openai import FakeOpenAIServer
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services
from testkit.session_child import completed, killed_then_resumed, run_child
from testkit.strong_model import StrongModel

PRESENT = date(2026, 11, 23)
PERSONAS = ["doomimir", "simplicia", "interp-empiricist"]


def test_seminar_days_and_how_many_ideas_a_seminar_shows() -> None:
    assert [d for d in range(1, 8) if seminar_day(1, d)] == [2, 3, 4, 5, 6, 7]
    assert [d for d in range(1, 8) if seminar_day(3, d)] == [4, 7]
    assert not any(seminar_day(0, d) for d in range(1, 8))
    assert seminar_reach(500) == 1 and seminar_reach(6000) == 4 and seminar_reach(10**6) == SEMINAR_MAX


def test_attendance_waits_until_every_persona_has_settled_the_earlier_days() -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        attendance = Attendance({"a": [1, 2, 3], "b": [1, 2, 3], "c": [2, 3]})  # c's day 1 was done before
        stopping = asyncio.Event()

        async def wait(name: str, through: int) -> None:
            ok = await attendance.wait(through, stopping)
            seen.append(f"{name}{through}{'' if ok else '-stopped'}")

        waiters = [asyncio.create_task(wait("a", 1)), asyncio.create_task(wait("c", 2))]
        await asyncio.sleep(0)
        attendance.settle("a", 1)
        await asyncio.sleep(0)
        assert seen == []  # b has not settled day 1
        attendance.settle("b", 1)  # a failed or done day both settle it
        await asyncio.sleep(0.01)
        assert seen == ["a1"]
        attendance.settle("a", 2)
        attendance.leave("b")  # b paused for review: it settles nothing more in this run
        await asyncio.sleep(0.01)
        assert seen == ["a1"]  # c has not settled its day 2 yet
        attendance.settle("c", 2)
        await asyncio.gather(*waiters)
        assert attendance.settled(2) and not attendance.settled(3)
        late = asyncio.create_task(wait("a", 3))
        await asyncio.sleep(0)
        stopping.set()
        await late
        return seen

    assert asyncio.run(main()) == ["a1", "c2", "a3-stopped"]


def _item(
    persona: str, n: int, mean: int, *, day: int = 1, origin: str = "survivor", cites: list[str] = ()
) -> QueueItem:
    idea = Idea(
        id=f"{persona}-{n}",
        title=f"{persona} idea {n}",
        summary="s",
        persona=persona,
        session="s1",
        day=day,
        builds_on=list(cites),
    )
    scores = Scores(novelty=mean, feasibility=mean, relevance=mean, clarity=mean)
    return QueueItem(idea=idea, critique=CritiqueResult(idea_id=idea.id, verdict="pass", scores=scores), origin=origin)  # type: ignore[arg-type]


def test_a_seminar_reads_accepted_ideas_first_then_by_the_critics_mean(isolated_home: Path) -> None:
    svc = make_services(isolated_home, FakeChatModel())
    q = svc.queue
    for item in (
        _item("a", 1, 8),
        _item("b", 1, 6),
        _item("b", 2, 9),
        _item("c", 1, 10, origin="audit"),  # the critic rejected it: an audit item is no survivor
        _item("c", 2, 10, day=2),  # after the day the seminar reads up to
        _item("c", 3, 7),
        _item("d", 1, 5, day=2, cites=["a-1", "d-0", "N1"]),
    ):
        q.add(item)
    q.decide("b-1", "accept")
    q.decide("b-2", "reject")
    assert [i.id for i in q.best_survivors("s1", 1, 10)] == ["b-1", "a-1", "c-3"]
    assert [i.id for i in q.best_survivors("s1", 1, 2)] == ["b-1", "a-1"]
    assert [i.id for i in q.best_survivors("other", 1, 10)] == []
    cited = q.get("d-1").idea
    assert [(p.id, p.persona, p.title) for p in cited.parents] == [("a-1", "a", "a idea 1")]  # d-0, N1: not queued
    assert next(i for i in q.list() if i.id == "d-1").idea.parents == cited.parents
    svc.close()


def _cite_seminar(persona: str, prompt: str) -> list[str]:
    """The first seminar idea read, if any, and a label no seminar showed (S9): a bad citation."""
    return [*re.findall(r"^\[(S\d+)\] ", prompt, re.M)[:1], "S9"]


def test_a_night_with_seminars_reads_the_others_best_ideas_and_records_the_parents(isolated_home: Path) -> None:
    script = ScriptedResearcher(scores=lambda persona, n: 4 + n % 5, builds_on=_cite_seminar)
    svc = make_services(
        isolated_home,
        FakeChatModel.with_responder(script),
        babble={"n_ctx": 16384},  # room for several seminar ideas
        loop={"depth": 3, "ideas_per_day": 2, "seminar_every": 1, "concurrency": 3},
        critique={"revisions": 0},
    )
    config = new_config(svc.settings, PERSONAS, session="s1", present=PRESENT)
    SessionStore(svc.db).create(config)
    outcome = run_session(make_runner(svc, config), handle_signals=False)
    assert outcome.status == "completed", outcome.reason
    rows = {(d.persona, d.day): d.summary for d in SessionStore(svc.db).days("s1")}
    for name, prompts in script.prompts.items():
        assert "The seminar:" not in prompts[0] and "seminar day" not in prompts[0]
        assert all("The seminar:" in p and "Today is also a seminar day" in p for p in prompts[1:]), name
    reach = None
    for (persona, day), summary in rows.items():
        if day == 1:
            assert "seminar_ids" not in summary
            continue
        # What it read: the best survivors of the others' days before this one, in the seminar's order.
        expected = [i.id for i in svc.queue.best_survivors("s1", day - 1, 100) if i.idea.persona != persona]
        reach = reach or len(summary["seminar_ids"])
        assert summary["seminar_ids"] == expected[:reach], (persona, day)
        assert "S9" in summary["rejected_refs"]  # a parent the seminar did not show is a bad citation
        for idea in summary["ideas"]:
            assert idea["builds_on"] == summary["seminar_ids"][:1]
            author = svc.queue.get(idea["builds_on"][0]).idea.persona
            assert idea["parents"][0]["id"] == idea["builds_on"][0] and idea["parents"][0]["persona"] == author
            assert author != persona
    assert reach is not None and 2 <= reach <= SEMINAR_MAX
    queued = [i for i in svc.queue.list() if i.idea.parents]
    assert queued, "a seminar idea reached the queue"
    child = queued[0]
    parent = child.idea.parents[0]
    assert parent.persona != child.idea.persona and svc.queue.get(parent.id).idea.persona == parent.persona
    assert idea_of(svc.log.get(child.id)).parents == child.idea.parents  # recorded in the log too
    prov = gather(child, svc.log)
    seminar_lines = [line for line in prov.context if line.label.startswith("S")]
    assert [line.entry_id for line in seminar_lines] == rows[(child.idea.persona, child.idea.day)]["seminar_ids"]
    assert [(p.id, line.label if line else None) for p, line in prov.parents] == [(parent.id, "S1")]
    svc.close()

    shown = CliRunner().invoke(app, ["queue", "show", child.id, "--json", "--home", str(isolated_home)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["idea"]["parents"] == [parent.model_dump()]
    text = CliRunner().invoke(app, ["queue", "show", child.id, "--home", str(isolated_home)], terminal_width=200)
    assert f"Parent: {parent.id} by {parent.persona}" in text.stdout
    report = CliRunner().invoke(app, ["sessions", "show", "s1", "--home", str(isolated_home)], terminal_width=200)
    assert f"parent {parent.id} by {parent.persona}" in report.stdout and "at the seminar" in report.stdout


# -- kill -9 and resume: a night with seminars resumes as if it had never stopped ----------------------


SEMINAR_CHILD = {"SESSION_CHILD_SEMINAR": "1", "SESSION_CHILD_PERSONAS": ",".join(PERSONAS)}


def _snapshot(home: Path) -> dict[str, Any]:
    svc = make_services(home, FakeChatModel(), embedder=HashEmbedder())
    try:
        log = {e.id: (e.persona, e.kind, e.day, e.text, e.meta.get("verdict")) for e in svc.log.entries()}
        queue = {
            i.id: (i.idea.title, i.idea.builds_on, [p.model_dump() for p in i.idea.parents]) for i in svc.queue.list()
        }
        days = {(d.persona, d.day, d.status): d.summary.get("seminar_ids") for d in SessionStore(svc.db).days("crash")}
    finally:
        svc.close()
    assert len(days) == len(PERSONAS) * 4 and all(status == "done" for _, _, status in days)
    return {"log": log, "queue": queue, "days": days}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("seminar-reference") / "home"
    done = run_child(home, "new", **SEMINAR_CHILD)
    assert completed(done), done.stderr
    return _snapshot(home)


@pytest.mark.parametrize("kill_at", [4, 8])
def test_a_night_with_seminars_killed_and_resumed_equals_the_uninterrupted_night(
    tmp_path: Path, reference: dict[str, Any], kill_at: int
) -> None:
    home = tmp_path / "home"
    killed_then_resumed(home, kill_at, **SEMINAR_CHILD)
    got = _snapshot(home)
    assert any(parents for _, _, parents in got["queue"].values()), "seminar ideas reached the queue"
    assert got == reference


# -- end to end: the CLI, an endpoint answering like a strong model, the review page ----------------------


def test_babble_with_seminars_against_a_strong_endpoint_end_to_end(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.testclient import TestClient

    from groundhog.web.app import create_app

    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    model = StrongModel("think", summary_chars=600, seminar=True)
    runner = CliRunner()
    with FakeOpenAIServer(model, delay_ms=5) as srv:
        args = ["babble", *(f"--persona={p}" for p in PERSONAS), "--depth", "3", "--ideas-per-day", "2"]
        args += ["--seminar-every", "1", "--concurrency", "6", "--revisions", "1", "--present", "2026-11-23"]
        args += ["--provider", "openai", "--model", "strong", "--base-url", srv.base_url, "--session", "e2e"]
        done = runner.invoke(app, [*args, "--json", "--home", str(isolated_home)])
    assert done.exit_code == 0, done.output
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert sum(e["type"] == "day_finished" for e in events) == 9
    listed = runner.invoke(app, ["queue", "list", "--session", "e2e", "--json", "--home", str(isolated_home)])
    items = json.loads(listed.stdout)
    children = [i for i in items if i["idea"]["parents"]]
    assert children, "a seminar idea survived the screens and the critic"
    child = children[0]["idea"]
    assert child["title"].startswith("Combining S1 and S2") and len(child["parents"]) == 2
    assert {p["persona"] for p in child["parents"]} <= set(PERSONAS) - {child["persona"]}
    by_id = {i["id"]: i["idea"] for i in items}
    assert all(by_id[p["id"]]["persona"] == p["persona"] for p in child["parents"])
    assert all(by_id[p["id"]]["day"] < child["day"] for p in child["parents"])
    svc = make_services(isolated_home, FakeChatModel())
    page = create_app(lambda: (svc.queue, svc.log), close_stores=svc.close)
    with TestClient(page, base_url="http://127.0.0.1:8765") as client:
        html = client.get("/", params={"id": child["id"], "status": "all"}).text
    prov = html[html.index('<details id="provenance"') :]
    assert "Parents: other researchers' ideas it combines or refines (2)" in prov
    for n, parent in enumerate(child["parents"], 1):
        assert re.search(
            rf"\[S{n}\]</span>.*?by <strong>{parent['persona']}</strong> · <code>{parent['id']}</code>", prov
        )
    assert re.search(r'<li class="entry cited">\s*<span class="label">\[S1\]</span>', prov)
