"""Shared by the review page's tests: a queue filled by a real (scripted) session, and readers of the stores."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services
from testkit.requests import chat_request

PRESENT = date(2026, 11, 23)
# Run as script, this would set window.__pwned; shown as text, it does nothing.
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> probe study {n}'


def hostile_text(persona: str, n: int) -> tuple[str, str]:
    """Each persona's first idea has a hostile title (and markup in its summary); the rest are ordinary."""
    title, summary = ScriptedResearcher._default_text(persona, n)
    if n == 1:
        title, summary = HOSTILE.format(n=n), summary + " <b>bold</b> & <i>markup</i>."
    return title, summary


class Revising:
    """The scripted researcher, except that the critic fails each persona's first idea until it is revised."""

    def __init__(self, script: ScriptedResearcher) -> None:
        self.script = script

    def __call__(self, messages: list[Any], kwargs: dict[str, Any]) -> str:
        reply = self.script(messages, kwargs)
        request = chat_request(messages, kwargs)
        title = request.title or ""
        first = re.search(r"study 1\b", title) and "(revised)" not in title
        if request.critic and first:
            data = json.loads(reply)
            data.update(novelty=2, feasibility=2, relevance=2, clarity=2, reasoning="Too vague to test.")
            reply = json.dumps(data)
        return reply


def fill(
    home: Path,
    personas: tuple[str, ...] = ("doomimir", "simplicia"),
    *,
    depth: int = 1,
    idea_text: Callable[[str, int], tuple[str, str]] | None = None,
    revise: bool = False,
    cross: bool = False,
    script: ScriptedResearcher | None = None,
) -> None:
    """Run a session: odd-numbered ideas score 9, even ones 5, so the order is known (or as `script` says)."""
    script = script or ScriptedResearcher(scores=lambda persona, n: 9 if n % 2 else 5, idea_text=idea_text)
    responder: Any = Revising(script) if revise else script
    flags: dict[str, Any] = {"loop": {"depth": depth, "ideas_per_day": 2}}
    if cross:
        flags["critique"] = {"cross_critic": "auto"}
    svc = make_services(home, FakeChatModel.with_responder(responder), **flags)
    try:
        config = new_config(svc.settings, list(personas), session="s1", present=PRESENT)
        SessionStore(svc.db).create(config)
        outcome = run_session(make_runner(svc, config), handle_signals=False)
        assert outcome.status == "completed", outcome.reason
    finally:
        svc.close()


def services(home: Path) -> Any:
    return make_services(home, FakeChatModel())


def app_for(home: Path, **kwargs: Any) -> tuple[Any, Any]:
    """The review page over a fresh set of services for `home` (opened on the page's worker thread)."""
    from groundhog.web.app import create_app

    svc = services(home)
    return create_app(lambda: (svc.queue, svc.log), close_stores=svc.close, **kwargs), svc


def state(home: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The queue as (rows best first: id, status, note, decided_at, title) and the feedback in the log."""
    svc = services(home)
    try:
        rows = [
            {"id": i.id, "status": i.status, "note": i.note, "decided_at": i.decided_at, "title": i.idea.title}
            for i in svc.queue.list()
        ]
        said = {str(e.meta["idea_id"]): e.text for e in svc.log.entries(kind="feedback")}
        return rows, said
    finally:
        svc.close()


def judgements(home: Path) -> list[Any]:
    from groundhog.store.judgements import JudgementStore

    svc = services(home)
    try:
        return JudgementStore(svc.db).list()
    finally:
        svc.close()


IDEAS = [
    (
        "Probe for deception before and after RLHF on the same checkpoint",
        "Train linear probes for 'the model believes X but says Y' on a base model, then track whether the "
        "same directions still fire after preference tuning. If tuning hides the signal rather than removing "
        "it, the probe's accuracy should hold while the outputs change.",
    ),
    (
        "Sleeper-agent canaries in code models",
        "Plant a trigger-conditioned backdoor in a small code model, then measure which oversight methods "
        "(debate, consistency checks, activation monitors) catch it without knowing the trigger.",
    ),
    (
        "Debate transcripts judged by weaker models",
        "Run two-player debate on questions with checkable answers and vary the judge's size. Where does a "
        "weaker judge stop being able to tell the honest debater from the persuasive one?",
    ),
    (
        "Natural abstractions across seeds",
        "Compare sparse-autoencoder features learned on five seeds of the same small model. Features that "
        "recur across seeds are candidates for natural abstractions; the rest are artefacts of training.",
    ),
    (
        "Control evaluations with a red-team budget",
        "Give a red team a fixed budget of attempts to make a monitored agent exfiltrate a file, and report "
        "the safety-usefulness frontier of trusted monitoring as the budget grows.",
    ),
    (
        "Reward-model overoptimisation under distribution shift",
        "Measure how fast the gold reward falls once the policy drifts out of the reward model's training "
        "distribution, and whether ensembling delays it.",
    ),
]


class Realistic:
    """The scripted researcher with plausible ideas, varied scores, and a revision of each first idea."""

    def __init__(self) -> None:
        self.script = ScriptedResearcher(idea_text=self.text)

    @staticmethod
    def text(persona: str, n: int) -> tuple[str, str]:
        title, summary = IDEAS[(n - 1 + 3 * (persona.lower() == "simplicia")) % len(IDEAS)]
        return f"{title} (study {n})", summary

    def __call__(self, messages: list[Any], kwargs: dict[str, Any]) -> str:
        reply = self.script(messages, kwargs)
        request = chat_request(messages, kwargs)
        if not request.critic or request.title is None:
            return reply
        name = request.title
        data = json.loads(reply)
        base = 4 + sum(map(ord, name)) % 6
        if "study 1)" in name and "(revised)" not in name:
            base = 2
            data["reasoning"] = "Too vague to test: which checkpoint, which probe, what counts as hiding?"
        else:
            data["reasoning"] = (
                "The core measurement is concrete and cheap to run on open models. I doubt the effect "
                "survives a change of probe family, so the controls matter more than the headline number."
            )
        data.update(novelty=base, feasibility=min(10, base + 1), relevance=base, clarity=max(1, base - 1))
        return json.dumps(data)


def fill_realistic(home: Path) -> None:
    svc = make_services(
        home,
        FakeChatModel.with_responder(Realistic()),
        loop={"depth": 2, "ideas_per_day": 2},
        critique={"cross_critic": "auto"},
    )
    try:
        config = new_config(svc.settings, ["doomimir", "simplicia"], session="s1", present=PRESENT)
        SessionStore(svc.db).create(config)
        outcome = run_session(make_runner(svc, config), handle_signals=False)
        assert outcome.status == "completed", outcome.reason
    finally:
        svc.close()
