"""The groundhog-day loop with a fake chat model and real stores (Chroma, SQLite) in a temporary home."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from groundhog.core.errors import BadInput
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.loop.report import session_report
from groundhog.loop.start import check_present
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services
from testkit.requests import chat_request

PRESENT = date(2026, 11, 23)


def run(
    home: Path, personas: list[str], *, depth: int, script: ScriptedResearcher | None = None, **loop: object
):
    script = script or ScriptedResearcher()
    model = FakeChatModel.with_responder(script)
    svc = make_services(home, model, loop={"depth": depth, "ideas_per_day": 2, **loop})
    config = new_config(svc.settings, personas, session="s1", present=PRESENT)
    SessionStore(svc.db).create(config)
    outcome = run_session(make_runner(svc, config), handle_signals=False)
    return svc, model, script, outcome


def test_each_day_wakes_with_the_previous_days_notebook_and_nothing_else_leaks(isolated_home: Path) -> None:
    svc, _, _, outcome = run(isolated_home, ["doomimir", "simplicia"], depth=3)
    assert outcome.status == "completed", outcome.reason
    report = session_report(SessionStore(svc.db), "s1")
    for p in report["personas"]:
        days = {d["day"]: d for d in p["days"]}
        assert sorted(days) == [1, 2, 3]
        for day in (2, 3):
            assert days[day - 1]["notebook_id"] in days[day]["context_ids"], (p["persona"], day)
        own = {e.id for e in svc.log.entries(persona=p["persona"])}
        for d in days.values():
            # Every entry a persona read at wake-up is its own: no other persona's notebook leaks in.
            assert set(d["context_ids"]) <= own, (p["persona"], d["day"])


def test_the_prompt_itself_carries_the_notebook_text(isolated_home: Path) -> None:
    svc, _, script, _ = run(isolated_home, ["doomimir", "simplicia"], depth=2)
    day1_notes = {e.persona: e.text for e in svc.log.entries(kind="notebook", day=1)}
    doom_prompts = script.prompts["Doomimir"]
    assert "Your latest notes" not in doom_prompts[0] and "From your own writing" in doom_prompts[0]
    assert day1_notes["doomimir"].splitlines()[0] in doom_prompts[1]
    assert "Simplicia tried" not in doom_prompts[1]


def test_builds_on_keeps_only_ids_that_were_in_the_context(isolated_home: Path) -> None:
    script = ScriptedResearcher(builds_on=lambda persona, prompt: ["N1", "X99", "deadbeef"])
    svc, _, _, _ = run(isolated_home, ["doomimir"], depth=2, script=script)
    report = session_report(SessionStore(svc.db), "s1")
    day1, day2 = report["personas"][0]["days"]
    assert all(i["builds_on"] == [] for i in day1["ideas"])  # nothing in the context on day 1
    assert set(day1["rejected_refs"]) == {"N1", "X99", "deadbeef"}
    assert all(i["builds_on"] == [day1["notebook_id"]] for i in day2["ideas"])
    assert set(day2["rejected_refs"]) == {"X99", "deadbeef"}


def test_everything_goes_to_the_log_with_provenance(isolated_home: Path) -> None:
    svc, _, _, _ = run(isolated_home, ["doomimir"], depth=2)
    kinds = {e.kind for e in svc.log.entries(persona="doomimir", session="s1")}
    assert {"idea", "critique", "notebook"} <= kinds
    idea = svc.log.entries(persona="doomimir", kind="idea", session="s1")[0]
    assert idea.day in (1, 2) and idea.present == PRESENT and idea.meta["verdict"] in ("pass", "fail")
    assert svc.log.entries(persona="doomimir", kind="corpus"), "grounding corpus was ingested"


def test_survivors_are_queued_and_failures_are_not(isolated_home: Path) -> None:
    script = ScriptedResearcher(scores=lambda persona, n: 8 if n % 2 else 2)
    svc, _, _, _ = run(isolated_home, ["doomimir"], depth=2, script=script)
    queued = [q for q in svc.queue.list() if q.origin == "survivor"]  # audit items: see test_audit.py
    report = session_report(SessionStore(svc.db), "s1")
    passed = [i for d in report["personas"][0]["days"] for i in d["ideas"] if i["verdict"] == "pass"]
    assert len(queued) == len(passed) >= 1
    assert {q.idea.id for q in queued} == {i["final_id"] for i in passed}


def test_drift_moves_the_present_forward(isolated_home: Path) -> None:
    svc, _, _, _ = run(isolated_home, ["doomimir"], depth=3, drift_days=2)
    days = session_report(SessionStore(svc.db), "s1")["personas"][0]["days"]
    assert [d["present"] for d in days] == ["2026-11-23", "2026-11-25", "2026-11-27"]


def test_far_future_present_is_refused_unless_forced() -> None:
    with pytest.raises(BadInput, match="more than a year"):
        check_present(date(2050, 1, 1), 1, 0, allow_far_future=False, now=PRESENT)
    with pytest.raises(BadInput, match="drift"):
        check_present(PRESENT, 100, 7, allow_far_future=False, now=PRESENT)
    check_present(date(2050, 1, 1), 1, 0, allow_far_future=True, now=PRESENT)
    check_present(PRESENT, 3, 1, allow_far_future=False, now=PRESENT)


def test_an_unreadable_note_keeps_the_day_with_a_note_written_from_its_outcomes(isolated_home: Path) -> None:
    script = ScriptedResearcher()

    def responder(messages, kwargs):  # type: ignore[no-untyped-def]
        if chat_request(messages, kwargs).schema == "NotebookOutput":
            return "Tried: things and more things, no JSON here"
        return script(messages, kwargs)

    model = FakeChatModel.with_responder(responder)
    svc = make_services(isolated_home, model, loop={"depth": 2, "ideas_per_day": 2})
    config = new_config(svc.settings, ["doomimir"], session="s1", present=PRESENT)
    SessionStore(svc.db).create(config)
    outcome = run_session(make_runner(svc, config), handle_signals=False)
    assert outcome.status == "completed"
    days = SessionStore(svc.db).days("s1")
    assert [d.status for d in days] == ["done", "done"]
    note = svc.log.get(days[0].summary["notebook_id"])
    assert note is not None and note.text.startswith("Tried: ") and "note_error" in note.meta
    assert note.id in days[1].summary["context_ids"]


def test_an_idea_filled_to_its_length_limit_is_screened_as_cut_off(isolated_home: Path) -> None:
    def text(persona: str, n: int) -> tuple[str, str]:
        words = " ".join(f"word{n}x{i}" for i in range(200))
        return f"{persona} idea {n}", ("We measure how probes generalise across " + words)[:420]

    svc, _, _, _ = run(isolated_home, ["doomimir"], depth=1, script=ScriptedResearcher(idea_text=text))
    ideas = session_report(SessionStore(svc.db), "s1")["personas"][0]["days"][0]["ideas"]
    assert all(i["verdict"] == "fail" and "degenerate" in i["flags"] for i in ideas)
