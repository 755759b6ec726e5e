"""Unattended nights: selection bits per review epoch, pauses that wait for the review, failed days redone."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.errors import BadInput, ProviderError, StoreError
from groundhog.loop.babble import check_resume, make_runner, new_config, run_session
from groundhog.loop.events import Event
from groundhog.loop.runner import RunOutcome
from groundhog.store.sessions import MAX_DAY_ATTEMPTS, SessionStore
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services
from testkit.requests import chat_request

PRESENT = date(2026, 11, 23)

# Real words, five per idea and none shared between ideas, so no idea is a duplicate of another.
_WORD_LIST = """
amber basalt cedar delta ember falcon garnet harbor iris jasper kelp lantern meadow nickel orchid
pepper quartz raven saffron timber umber velvet walnut yarrow zephyr anchor bramble canyon dune
estuary fjord glacier heron island juniper kestrel lagoon marble nettle oyster pebble quill reef
spruce thistle tundra valley willow yucca badger copper dahlia egret fennel gopher hazel ivory
jackal kiwi lemur mango newt otter panda quokka rhubarb salmon tapir urchin viper wombat yak zebra
acorn birch clover daisy elm fern ginger hemlock indigo jade kale lilac maple nutmeg olive poppy
radish sage tulip violet wheat
"""
WORDS = _WORD_LIST.split()


@pytest.fixture(autouse=True)
def _show_with_the_test_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """`sessions show` opens the home's stores with the embedder the sessions here were run with."""
    from groundhog.commands import babble as babble_cmd

    model = FakeChatModel()
    monkeypatch.setattr(babble_cmd, "services", lambda home, **flags: make_services(home, model, **flags))


def idea_text(persona: str, n: int) -> tuple[str, str]:
    """Idea n of a persona: words of its own, so that no persona's idea is a duplicate of another's
    (whichever of two personas' days is written first)."""
    shift = sum(map(ord, persona)) * 7
    a, b, c, d, e = (WORDS[(5 * n + k + shift) % len(WORDS)] for k in range(5))
    return f"{a.title()} {b} study {n}", f"Measure how {a} {b} shifts {c} when the {d} {e} is perturbed."


def researcher(**kw: Any) -> ScriptedResearcher:
    return ScriptedResearcher(idea_text=idea_text, **kw)


def start(
    home: Path,
    model: Any,
    *,
    personas: tuple[str, ...] = ("doomimir",),
    critique: dict[str, Any] | None = None,
    **loop: Any,
) -> tuple[Any, Any]:
    svc = make_services(home, model, loop={"ideas_per_day": 4, **loop}, critique={"revisions": 0, **(critique or {})})
    config = new_config(svc.settings, list(personas), session="s1", present=PRESENT)
    SessionStore(svc.db).create(config)
    return svc, config


def go(svc: Any, *, no_wait: bool = False, events: list[Event] | None = None) -> RunOutcome:
    config = SessionStore(svc.db).get("s1").config
    sink = events.append if events is not None else (lambda e: None)
    return run_session(make_runner(svc, config, on_event=sink, no_wait=no_wait), handle_signals=False)


def decide_all(svc: Any, decision: str = "accept") -> int:
    pending = svc.queue.list(status="pending", session="s1")
    for item in pending:
        svc.queue.decide(item.id, decision)
    return len(pending)


def one_in_four(persona: str, n: int) -> int:
    """The critic passes idea 1, 5, 9, ...: one survivor of four ideas a day, 2 bits a day."""
    return 9 if n % 4 == 1 else 1


def show(home: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["sessions", "show", "s1", "--home", str(home), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


# -- selection bits per review epoch ---------------------------------------------------------------


def test_bits_pause_then_decide_all_then_resume_runs_further_days(isolated_home: Path) -> None:
    model = FakeChatModel.with_responder(researcher(scores=one_in_four, ideas_per_call=4))
    svc, _ = start(isolated_home, model, depth=4, max_selection_bits=2.0)
    store = SessionStore(svc.db)

    first = go(svc)
    assert first.status == "awaiting-review", first.reason
    assert "--max-selection-bits" in first.reason and "2.00 of 2.0 bits in epoch 1" in first.reason
    assert store.finished_days("s1", "doomimir") == {1}

    # Nothing decided: the resume runs no day, the pause still waits (this is what looped for ever before).
    again = go(svc)
    assert again.status == "awaiting-review" and again.days_run == 0
    assert "1 undecided idea queued up to day 1" in again.reason
    assert store.finished_days("s1", "doomimir") == {1}

    assert decide_all(svc, "reject") == 1
    second = go(svc)
    assert second.days_run == 1 and store.finished_days("s1", "doomimir") == {1, 2}  # a fresh epoch's budget
    assert second.status == "awaiting-review" and "in epoch 2" in second.reason

    decide_all(svc, "defer")  # deferred is decided too
    third = go(svc)
    assert third.status == "awaiting-review" and store.finished_days("s1", "doomimir") == {1, 2, 3}
    decide_all(svc)
    last = go(svc)
    assert last.status == "completed", last.reason  # no pause after the last day
    assert store.finished_days("s1", "doomimir") == {1, 2, 3, 4}

    report = show(isolated_home, "--json")
    persona = report["personas"][0]
    epochs = persona["epochs"]
    assert [(e["epoch"], e["days"], e["status"], e["cause"]) for e in epochs] == [
        (1, [1], "reviewed", "selection-bits"),
        (2, [2], "reviewed", "selection-bits"),
        (3, [3], "reviewed", "selection-bits"),
        (4, [4], "open", None),
    ]
    assert all(e["selection_bits"] == 2.0 and (e["drafts"], e["surviving"]) == (4, 1) for e in epochs)
    assert persona["selection_bits"] == 2.0 and report["totals"]["selection_bits"] == 2.0
    assert [d["epoch"] for d in persona["days"]] == [1, 2, 3, 4]
    assert epochs[0]["paused_after_day"] == 1 and epochs[0]["closed_at"] is not None
    text = show(isolated_home)
    assert "epoch 1 (day 1): 4 ideas (4 drafts), 1 survived, 2.0 bits; paused after day 1" in text
    assert "epoch 4 (day 4): 4 ideas (4 drafts), 1 survived, 2.0 bits, open" in text


def test_an_epoch_without_survivors_does_not_make_the_budget_unpayable(isolated_home: Path) -> None:
    # Day 1: nothing survives (bits are infinite, but nothing was selected and there is nothing to review).
    # Day 2: every idea survives; the epoch's 8 drafts for 4 survivors spend 1 bit, the budget, so it pauses.
    model = FakeChatModel.with_responder(researcher(scores=lambda p, n: 1 if n <= 4 else 9, ideas_per_call=4))
    svc, _ = start(isolated_home, model, depth=3, max_selection_bits=1.0)
    store = SessionStore(svc.db)
    first = go(svc)
    assert first.status == "awaiting-review", first.reason
    assert store.finished_days("s1", "doomimir") == {1, 2}
    assert "1.00 of 1.0 bits in epoch 1: 8 drafts, 4 survived" in first.reason
    decide_all(svc)
    assert go(svc).status == "completed"
    epochs = show(isolated_home, "--json")["personas"][0]["epochs"]
    assert [(e["days"], e["selection_bits"]) for e in epochs] == [([1, 2], 1.0), ([3], 0.0)]
    day1 = show(isolated_home, "--json")["personas"][0]["days"][0]
    assert day1["surviving"] == 0 and math.isclose(store.totals("s1").bits, math.log2(12 / 8))


def test_a_persona_with_no_survivor_at_all_never_trips_the_budget(isolated_home: Path) -> None:
    model = FakeChatModel.with_responder(researcher(scores=lambda p, n: 1, ideas_per_call=4))
    svc, _ = start(isolated_home, model, depth=3, max_selection_bits=0.5)
    outcome = go(svc)
    assert outcome.status == "completed", outcome.reason
    assert show(isolated_home, "--json")["totals"]["selection_bits"] == "inf"  # reported, not a budget trip


def test_revisions_count_every_draft_as_generated(isolated_home: Path) -> None:
    # One of four passes; each of the three failing ideas is revised once (and fails again): 7 drafts.
    model = FakeChatModel.with_responder(researcher(scores=one_in_four, ideas_per_call=4))
    svc, _ = start(isolated_home, model, depth=2, critique={"revisions": 1}, max_selection_bits=2.5)
    outcome = go(svc)
    store = SessionStore(svc.db)
    day1 = store.days("s1", "doomimir")[0]
    assert (day1.generated, day1.drafts, day1.surviving) == (4, 7, 1)
    assert outcome.status == "awaiting-review" and f"{math.log2(7):.2f} of 2.5 bits" in outcome.reason
    assert show(isolated_home, "--json")["personas"][0]["epochs"][0]["selection_bits"] == round(math.log2(7), 4)


def test_cross_critic_vetoes_count_as_selection(isolated_home: Path) -> None:
    # Doomimir's own critic passes everything; Simplicia, as cross critic, vetoes the even ideas.
    script = researcher(scores=lambda p, n: 9, ideas_per_call=4)

    def responder(messages: list[Any], kwargs: dict[str, Any]) -> str:
        reply = script(messages, kwargs)
        request = chat_request(messages, kwargs)
        if request.cross and request.persona == "Simplicia":
            data = json.loads(reply)
            title = request.title or ""
            n = int(title.split(" study ")[1].split()[0]) if " study " in title else 0
            if n % 2 == 0:
                data.update(novelty=1, feasibility=1, relevance=1, clarity=1)
            reply = json.dumps(data)
        return reply

    svc, _ = start(
        isolated_home,
        FakeChatModel.with_responder(responder),
        depth=2,
        critique={"cross_critic": "simplicia"},
        max_selection_bits=1.0,
    )
    outcome = go(svc)
    day1 = SessionStore(svc.db).days("s1", "doomimir")[0]
    assert (day1.drafts, day1.surviving) == (4, 2)
    assert outcome.status == "awaiting-review" and "1.00 of 1.0 bits" in outcome.reason


# -- --review-every waits for the review -------------------------------------------------------------


def test_review_every_1_holds_day_2_until_day_1_survivors_are_decided(isolated_home: Path) -> None:
    model = FakeChatModel.with_responder(researcher(scores=lambda p, n: 9 if n % 2 else 1, ideas_per_call=4))
    svc, _ = start(isolated_home, model, personas=("doomimir", "simplicia"), depth=3, review_every=1)
    store = SessionStore(svc.db)
    first = go(svc)
    assert first.status == "awaiting-review"
    assert {(d.persona, d.day) for d in store.days("s1")} == {("doomimir", 1), ("simplicia", 1)}

    # Doomimir's survivors all decided, Simplicia's only partly: Doomimir goes on, Simplicia is held.
    for item in svc.queue.list(session="s1", persona="doomimir"):
        svc.queue.decide(item.id, "accept")
    held = svc.queue.list(session="s1", persona="simplicia")
    assert len(held) == 2
    svc.queue.decide(held[0].id, "reject")
    events: list[Event] = []
    second = go(svc, events=events)
    assert store.finished_days("s1", "doomimir") == {1, 2}
    assert store.finished_days("s1", "simplicia") == {1}
    assert second.status == "awaiting-review"
    assert f"simplicia waits for review of 1 undecided idea queued up to day 1 (--review-every 1): {held[1].id}" in (
        second.reason
    )
    assert any(e.type == "review_done" and e.persona == "doomimir" for e in events)
    assert any(e.type == "persona_paused" and e.persona == "simplicia" for e in events)

    with pytest.raises(BadInput) as err:  # what `babble --resume` checks first: exit 2, naming the items
        check_resume(store, svc.queue, store.get("s1"))
    assert held[1].id in str(err.value) and "doomimir" in str(err.value) and "--no-wait" in str(err.value)

    decide_all(svc, "defer")
    third = go(svc)
    assert store.finished_days("s1", "simplicia") == {1, 2} and store.finished_days("s1", "doomimir") == {1, 2, 3}
    assert third.status == "awaiting-review"
    decide_all(svc)
    assert go(svc).status == "completed"
    assert store.totals("s1").days_done == 6


class _CliModel:
    """`groundhog babble --resume` through the CLI, its Services wired with a fake model."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, model: Any) -> None:
        from groundhog.commands import babble as babble_cmd
        from groundhog.compose import services as services_mod

        real = services_mod.Services

        def fake_services(settings: Any, **_: Any) -> Any:
            return real(settings, chat_model=model, embedder=HashEmbedder())

        monkeypatch.setattr(services_mod, "Services", fake_services)
        monkeypatch.setattr(babble_cmd, "services", lambda home, **flags: make_services(home, model, **flags))

    @staticmethod
    def babble(home: Path, *args: str) -> Any:
        return CliRunner().invoke(app, ["babble", "--home", str(home), *args])


def test_resume_exits_2_naming_the_waiting_items_and_no_wait_is_recorded(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = FakeChatModel.with_responder(researcher(scores=lambda p, n: 9, ideas_per_call=2))
    cli = _CliModel(monkeypatch, model)
    first = cli.babble(
        isolated_home,
        "-p",
        "doomimir",
        "--depth",
        "3",
        "--ideas-per-day",
        "2",
        "--review-every",
        "1",
        "--session",
        "s1",
        "--present",
        "2026-11-23",
    )
    assert first.exit_code == 0, first.output
    svc = make_services(isolated_home, model)
    store = SessionStore(svc.db)
    assert store.get("s1").status == "awaiting-review"
    waiting = [i.id for i in svc.queue.list(status="pending", session="s1")]
    assert len(waiting) == 2

    refused = cli.babble(isolated_home, "--resume", "s1")
    assert refused.exit_code == 2
    assert all(i in refused.stderr for i in waiting) and "--no-wait" in refused.stderr
    assert store.finished_days("s1", "doomimir") == {1}

    assert cli.babble(isolated_home, "--no-wait").exit_code == 2  # --no-wait only with --resume

    skipped = cli.babble(isolated_home, "--resume", "s1", "--no-wait")
    assert skipped.exit_code == 0, skipped.output
    assert store.finished_days("s1", "doomimir") == {1, 2}
    assert any(json.loads(line)["type"] == "resumed_without_review" for line in skipped.stdout.splitlines())
    epoch1 = show(isolated_home, "--json")["personas"][0]["epochs"][0]
    assert epoch1["status"] == "resumed-without-review" and sorted(epoch1["undecided"]) == sorted(waiting)
    assert "resumed without review (2 undecided then)" in show(isolated_home)
    log = (isolated_home / "logs" / "s1.jsonl").read_text()
    assert "resumed_without_review" in log

    # Epoch 2 paused after day 2; its items and epoch 1's are still pending: "up to then" means all of them.
    refused = cli.babble(isolated_home, "--resume", "s1")
    assert refused.exit_code == 2 and "4 undecided ideas queued up to day 2" in refused.stderr
    decide_all(svc)
    done = cli.babble(isolated_home, "--resume", "s1")
    assert done.exit_code == 0, done.output
    assert store.get("s1").status == "completed"
    assert cli.babble(isolated_home, "--resume", "s1").exit_code == 2  # completed: nothing to resume


# -- failed days are redone ---------------------------------------------------------------------------


class FailingDays:
    """A researcher whose babble call fails for Doomimir while `broken` is set (set from day events)."""

    def __init__(self, days: set[int]) -> None:
        self.script = researcher(ideas_per_call=4)
        self.days = days
        self.broken = False

    def __call__(self, messages: list[Any], kwargs: dict[str, Any]) -> str:
        if self.broken and chat_request(messages, kwargs).persona == "Doomimir":
            raise ProviderError("model fake failed with HTTP 503 after retries")
        return self.script(messages, kwargs)

    def on_event(self, event: Event) -> None:
        if event.type == "day_started" and event.persona == "doomimir":
            self.broken = event.day in self.days


def run_failing(svc: Any, failing: FailingDays) -> RunOutcome:
    config = SessionStore(svc.db).get("s1").config
    return run_session(make_runner(svc, config, on_event=failing.on_event), handle_signals=False)


def test_a_failed_day_is_redone_on_resume(isolated_home: Path) -> None:
    failing = FailingDays({2})
    svc, _ = start(isolated_home, FakeChatModel.with_responder(failing), depth=3)
    store = SessionStore(svc.db)
    first = run_failing(svc, failing)
    assert first.status == "completed-with-failures"
    assert "doomimir day 2, 1 of 3 attempts" in first.reason and "--resume s1" in first.reason
    assert [(d.day, d.status) for d in store.days("s1")] == [(1, "done"), (2, "failed"), (3, "done")]
    check_resume(store, svc.queue, store.get("s1"))  # a failed day left to redo: resumable

    failing.days = set()  # the endpoint is back
    second = run_failing(svc, failing)
    assert second.status == "completed" and second.reason == "all 3 days done"
    day2 = store.days("s1", "doomimir")[1]
    assert (day2.status, day2.attempts, day2.error) == ("done", 2, "")
    assert second.days_run == 1  # only the failed day was run again
    assert store.days("s1", "doomimir")[0].attempts == 1


def test_a_day_that_keeps_failing_is_tried_a_bounded_number_of_times(isolated_home: Path) -> None:
    failing = FailingDays({2})
    svc, _ = start(isolated_home, FakeChatModel.with_responder(failing), depth=3)
    store = SessionStore(svc.db)
    for _ in range(MAX_DAY_ATTEMPTS):
        outcome = run_failing(svc, failing)
    assert store.days("s1", "doomimir")[1].attempts == MAX_DAY_ATTEMPTS
    assert outcome.status == "completed-with-failures"
    assert outcome.reason == f"completed; 1 day still failed (doomimir day 2, {MAX_DAY_ATTEMPTS} attempts)"
    row = store.get("s1")
    assert (row.status, row.reason) == (outcome.status, outcome.reason)
    with pytest.raises(BadInput, match="nothing left to run"):
        check_resume(store, svc.queue, row)
    assert show(isolated_home, "--json")["status"] == "completed-with-failures"


# -- the schema ---------------------------------------------------------------------------------------


def test_a_home_older_than_the_baseline_is_refused_and_left_alone(tmp_path: Path) -> None:
    """Schema 3 (before review epochs): this groundhog does not guess at it; the release before opens it."""
    from legacy_home import sqlite_home

    from groundhog.store.sqlite import open_sqlite

    path = sqlite_home(tmp_path / "groundhog.db", version=3)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"has schema 3, older than this groundhog upgrades.*groundhog 0\.1\.0"):
        open_sqlite(path)
    assert path.read_bytes() == before
