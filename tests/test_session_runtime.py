"""The overnight session: budgets, pause for review, faults, signals and an OpenAI-compatible endpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from groundhog.core.errors import ProviderError
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.loop.events import Event
from groundhog.loop.runner import RunOutcome
from groundhog.store.sessions import SessionStore
from testkit import ROOT
from testkit.fake_openai import FakeOpenAIServer, Fault
from testkit.fakes import FakeChatModel, ScriptedResearcher, http_responder, make_services
from testkit.requests import chat_request

PRESENT = date(2026, 11, 23)


def start(home: Path, personas: list[str], model: Any, *, session: str = "s1", **loop: Any) -> tuple[Any, Any]:
    svc = make_services(home, model, loop={"ideas_per_day": 2, **loop})
    config = new_config(svc.settings, personas, session=session, present=PRESENT)
    SessionStore(svc.db).create(config)
    return svc, config


def go(svc: Any, config: Any, events: list[Event] | None = None) -> RunOutcome:
    sink = events.append if events is not None else (lambda e: None)
    return run_session(make_runner(svc, config, on_event=sink), handle_signals=False)


def fake(**kw: Any) -> FakeChatModel:
    return FakeChatModel.with_responder(ScriptedResearcher(**kw))


def test_max_tokens_budget_stops_the_session_with_its_reason(isolated_home: Path) -> None:
    svc, config = start(isolated_home, ["doomimir"], fake(), depth=10, max_tokens=1500)
    outcome = go(svc, config)
    totals = SessionStore(svc.db).totals("s1")
    assert "--max-tokens" in outcome.reason and outcome.status == "completed"
    assert 1 <= totals.days_done < 10 and totals.tokens >= 1500


def test_max_ideas_budget_stops_the_session(isolated_home: Path) -> None:
    svc, config = start(isolated_home, ["doomimir"], fake(), depth=10, max_ideas=3)
    outcome = go(svc, config)
    assert "--max-ideas" in outcome.reason
    assert 3 <= SessionStore(svc.db).totals("s1").surviving < 20


def test_hours_budget_stops_before_the_next_day(isolated_home: Path) -> None:
    svc, config = start(isolated_home, ["doomimir"], fake(), depth=5, hours=1e-9)
    outcome = go(svc, config)
    assert "--hours" in outcome.reason
    assert SessionStore(svc.db).totals("s1").days_done == 0


def test_selection_bits_budget_pauses_for_review(isolated_home: Path) -> None:
    # One survivor in eight: 3 bits per persona-day, over a 2-bit budget.
    svc, config = start(
        isolated_home,
        ["doomimir"],
        fake(scores=lambda p, n: 9 if n % 8 == 1 else 1, ideas_per_call=8),
        depth=5,
        ideas_per_day=8,
        max_selection_bits=2.0,
    )
    svc.settings.critique.revisions = 0
    outcome = go(svc, config)
    assert outcome.status == "awaiting-review"
    assert "--max-selection-bits" in outcome.reason
    assert SessionStore(svc.db).get("s1").status == "awaiting-review"


def test_review_every_pauses_then_resume_continues(isolated_home: Path) -> None:
    svc, config = start(isolated_home, ["doomimir", "simplicia"], fake(), depth=4, review_every=2)
    first = go(svc, config)
    store = SessionStore(svc.db)
    assert first.status == "awaiting-review"
    assert {(d.persona, d.day) for d in store.days("s1")} == {(p, d) for p in ("doomimir", "simplicia") for d in (1, 2)}
    for item in svc.queue.list(session="s1"):  # the review the pause waits for
        svc.queue.decide(item.id, "defer")
    second = go(svc, store.get("s1").config)
    assert second.status == "completed", second.reason
    assert store.totals("s1").days_done == 8


def test_a_persona_that_keeps_failing_is_stopped_and_the_others_go_on(isolated_home: Path) -> None:
    script = ScriptedResearcher()

    def responder(messages: list[Any], kwargs: dict[str, Any]) -> str:
        if chat_request(messages, kwargs).persona == "Doomimir":
            raise ProviderError("model fake failed with HTTP 500 after retries")
        return script(messages, kwargs)

    svc, config = start(isolated_home, ["doomimir", "simplicia"], FakeChatModel.with_responder(responder), depth=5)
    events: list[Event] = []
    outcome = go(svc, config, events)
    store = SessionStore(svc.db)
    doom = store.days("s1", "doomimir")
    assert [d.status for d in doom] == ["failed"] * 3 and "HTTP 500" in doom[0].error
    assert store.totals("s1", "simplicia").days_done == 5
    assert outcome.status == "completed-with-failures" and "doomimir" in outcome.reason  # not simply completed
    assert any(e.type == "persona_stopped" and e.persona == "doomimir" for e in events)


def test_session_against_an_openai_compatible_server_with_faults(isolated_home: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test-123")
    script = ScriptedResearcher(by_prompt=True)
    with FakeOpenAIServer(http_responder(script), llama_cpp_mode=True, require_api_key="sk-test-123") as srv:
        srv.enqueue_faults(
            Fault.rate_limit(retry_after=0.05),
            Fault.server_error(500),
            Fault.timeout(2.0),
            Fault.malformed_json(),
            Fault.drop(),
        )
        flags = {
            "provider": "openai",
            "model": "fake-model",
            "base_url": srv.base_url,
            "api_key_env": "TEST_KEY",
            "timeout_s": 0.5,
        }
        svc = make_services(
            isolated_home,
            None,
            babble=flags,
            retry={"initial_s": 0.01, "max_wait_s": 0.05},
            loop={"depth": 2, "ideas_per_day": 2, "concurrency": 4},
        )
        config = new_config(svc.settings, ["doomimir", "simplicia"], session="s1", present=PRESENT)
        SessionStore(svc.db).create(config)
        events: list[Event] = []
        outcome = go(svc, config, events)
        bodies = [r["json"] for r in srv.chat_requests]
    assert outcome.status == "completed", outcome.reason
    assert SessionStore(svc.db).totals("s1").days_done == 4
    retries = [e for e in events if e.type == "retry"]
    assert len(retries) >= 5, [e.message for e in retries]
    assert all("max_tokens" in b for b in bodies), "the token limit reaches servers that only read max_tokens"
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert b"sk-test-123" not in path.read_bytes(), path


CHILD = [sys.executable, "-m", "testkit.session_child"]  # run from the root (cwd=ROOT)


def child_after_first_day(home: Path, delay_s: float) -> subprocess.Popen[str]:
    """A session in a child process (fake model answering after `delay_s`), once its first day is in."""
    proc = subprocess.Popen(
        [*CHILD, str(home), "new", "0", str(delay_s)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "day_finished"  # handlers are installed; a day is committed
    return proc


def resume_child(home: Path) -> str:
    resumed = subprocess.run([*CHILD, str(home), "resume"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    return resumed.stdout.strip().splitlines()[-1]


def test_first_sigterm_finishes_the_day_and_resume_completes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = child_after_first_day(home, 0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    last = out.strip().splitlines()[-1]
    assert last.startswith("interrupted") and "SIGTERM" in last
    from groundhog.store.database import open_store
    from groundhog.store.sessions import SessionStore

    db = open_store(home, os.environ.get("GROUNDHOG_DATABASE_URL"))  # the child's database
    try:
        done = SessionStore(db).totals("crash").days_done
        status = SessionStore(db).get("crash").status
    finally:
        db.close()
    assert status == "interrupted" and 1 <= done < 8
    assert resume_child(home).startswith("completed")


def test_session_log_file_and_json_events(isolated_home: Path) -> None:
    from groundhog.loop.events import JsonlSink

    svc, config = start(isolated_home, ["doomimir"], fake(), depth=2)
    sink = JsonlSink(isolated_home / "logs" / "s1.jsonl")
    try:
        run_session(make_runner(svc, config, on_event=sink), handle_signals=False)
    finally:
        sink.close()
    lines = [json.loads(line) for line in (isolated_home / "logs" / "s1.jsonl").read_text().splitlines()]
    assert lines[0]["type"] == "session_started" and lines[-1]["type"] == "session_finished"
    assert sum(1 for e in lines if e["type"] == "day_finished") == 2


def test_a_second_signal_stops_at_once_and_resume_still_completes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = child_after_first_day(home, 0.3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)  # two pending signals of one kind would merge into one
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "stopped at once" in err
    assert resume_child(home).startswith("completed")


def test_the_runners_tally_answers_as_the_day_rows_sums(isolated_home: Path) -> None:
    """The sums the events and budgets read are kept as days commit, not queried: they must equal the
    store's aggregate over the rows, with a failed day redone (its spent tokens kept), two epochs and a
    row that was there before the tally began."""
    from groundhog.loop.tally import Tally

    svc, config = start(isolated_home, ["doomimir", "simplicia"], ScriptedResearcher())
    store = SessionStore(svc.db)

    def commit(persona: str, day: int, epoch: int, status: str = "done", generated: int = 2, surviving: int = 1):
        return store.commit_day(
            session=config.id, persona=persona, day=day, present=PRESENT, summary={}, generated=generated,
            surviving=surviving, prompt_tokens=100 * day, completion_tokens=10 * day, queue_items=[],
            queue=svc.queue, status=status, drafts=generated + 1, epoch=epoch,  # type: ignore[arg-type]
        )  # fmt: skip

    commit("doomimir", 1, 1)  # before the tally: it starts from the rows
    tally = Tally(store.days(config.id))
    for persona, day, epoch, status, generated, surviving in [
        ("doomimir", 2, 1, "failed", 0, 0),
        ("simplicia", 1, 1, "done", 3, 0),
        ("doomimir", 2, 1, "done", 2, 2),  # the failed day redone: replaces its row, keeps its tokens
        ("doomimir", 3, 2, "done", 4, 1),
        ("simplicia", 2, 2, "failed", 0, 0),
    ]:
        tally.record(persona, day, epoch, commit(persona, day, epoch, status, generated, surviving))
        for who in (None, "doomimir", "simplicia"):
            assert tally.totals(who) == store.totals(config.id, who)
            for epoch_ in (1, 2):
                if who is not None:
                    assert tally.totals(who, epoch_) == store.totals(config.id, who, epoch=epoch_)
    assert tally.totals().prompt_tokens == 100 + 200 + 200 + 100 + 300 + 200  # the failed attempt's too
    svc.close()
