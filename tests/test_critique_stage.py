"""The critique stage inside a session: revision rounds, the cross-persona critic, selection bits and
their budget, and the duplicate screen across sessions. Fake chat model, real Chroma and SQLite."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.records import CritiqueResult, Idea, selection_bits
from groundhog.critique.stage import DuplicateScreen, nearest_ideas
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.loop.report import session_report
from groundhog.researchers.personas import most_different
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services
from testkit.requests import chat_request

PRESENT = date(2026, 11, 23)

# Distinct research ideas, so no screen but the one under test has anything to say about them.
IDEAS = [
    (
        "Sparse autoencoder features across model scale",
        "Train sparse autoencoders on residual streams of Pythia models of four sizes and measure how "
        "features split as models grow.",
    ),
    (
        "Debate with weak judges on code review",
        "Two strong models argue whether a pull request hides a backdoor; a small judge model decides, and "
        "we compare its accuracy with reading the code alone.",
    ),
    (
        "Reward model overoptimisation under distribution shift",
        "Fit proxy reward models on preference data, optimise policies against them with best-of-n "
        "sampling, and chart when gold reward peaks on shifted prompts.",
    ),
    (
        "Honeypots for sandbagging evaluations",
        "Plant easy capability questions inside long agentic tasks and test whether models deliberately "
        "underperform when they believe they are being evaluated.",
    ),
    (
        "Causal scrubbing of refusal circuits",
        "Locate attention heads that mediate refusals in a chat model and check with causal scrubbing "
        "which hypotheses about them survive resampling ablations.",
    ),
    (
        "Eliciting latent knowledge with contrast pairs",
        "Build contrast pairs of true and false statements about arithmetic and geography and train "
        "unsupervised probes that find a truth direction without labels.",
    ),
]


def survivors(svc: Any) -> list[Any]:
    """The queued ideas that passed the critique (not the audit items, a sample of its rejections)."""
    return [i for i in svc.queue.list() if i.origin == "survivor"]


# Each persona's take, so that one persona's idea is not a duplicate of another's same-day idea (which of
# the two is written first is a race: a day's work goes to the log while its note is being written).
ANGLES = {
    "doomimir": "Adversarial red-team pessimism: worst-case bounds, attack transcripts, failure catalogues.",
    "simplicia": "Gentle incremental optimism: average-case reports, friendly pilots, cooperative demonstrations.",
}


def idea_text(persona: str, n: int) -> tuple[str, str]:
    title, summary = IDEAS[(n - 1) % len(IDEAS)]
    return f"{title}, study {n}", f"{summary} {ANGLES.get(persona, '')}".strip()


def is_critique(messages: list[BaseMessage], kwargs: dict[str, Any]) -> bool:
    return chat_request(messages, kwargs).critic


def critic_name(messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
    return chat_request(messages, kwargs).persona or "?"


def verdict(score: int, reasoning: str) -> str:
    return json.dumps(
        {
            "reasoning": reasoning,
            "novelty": score,
            "feasibility": score,
            "relevance": score,
            "clarity": score,
            "weakest_point": "no control condition",
        }
    )


class Lab:
    """A scripted researcher whose critic is a function of (critic name, idea title), and whose
    revisions keep the idea's words and add a control, so a revision stays itself."""

    def __init__(self, critic: Callable[[str, str], int], *, ideas_per_call: int = 2) -> None:
        self.script = ScriptedResearcher(ideas_per_call=ideas_per_call, idea_text=idea_text)
        self.critic = critic

    def __call__(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        request = chat_request(messages, kwargs)
        prompt, title = request.prompt, request.title or ""
        if request.critic:
            name = request.persona or "?"
            return verdict(self.critic(name, title), f"{name} weighs '{title}'.")
        if request.schema == "IdeaDraft":  # a revision
            summary = m.group(1) if (m := re.search(r"Summary: (.*)", prompt)) else ""
            return json.dumps(
                {
                    "title": f"{title} (revised)",
                    "summary": f"{summary} Adds a control condition.",
                    "rationale": "answers the critique",
                    "builds_on": [],
                }
            )
        return self.script(messages, kwargs)


def run(
    home: Path,
    personas: list[str],
    lab: Lab,
    *,
    session: str = "s1",
    depth: int = 1,
    ideas_per_day: int = 2,
    embedder: Any = None,
    critique: dict[str, Any] | None = None,
    **loop: Any,
) -> tuple[Any, FakeChatModel, Any]:
    model = FakeChatModel.with_responder(lab)
    svc = make_services(
        home,
        model,
        embedder or HashEmbedder(),
        loop={"depth": depth, "ideas_per_day": ideas_per_day, **loop},
        critique=critique or {},
    )
    config = new_config(svc.settings, personas, session=session, present=PRESENT)
    SessionStore(svc.db).create(config)
    outcome = run_session(make_runner(svc, config), handle_signals=False)
    return svc, model, outcome


def critiques_of(svc: Any, session: str) -> dict[str, CritiqueResult]:
    """Each logged critique, by the id of the idea version it judged."""
    found = {}
    for e in svc.log.entries(kind="critique", session=session):
        result = CritiqueResult.model_validate_json(str(e.meta["critique_json"]))
        found[result.idea_id] = result
    return found


# -- revision rounds ------------------------------------------------------------------------------


def test_a_failing_idea_is_revised_and_every_version_is_logged(isolated_home: Path) -> None:
    lab = Lab(lambda critic, title: 8 if "(revised)" in title else 2)
    svc, model, outcome = run(isolated_home, ["simplicia"], lab, critique={"revisions": 1})
    assert outcome.status == "completed", outcome.reason

    queued = survivors(svc)
    assert len(queued) == 2
    for item in queued:
        assert item.idea.title.endswith("(revised)") and item.idea.revision == 1
        assert item.critique.verdict == "pass"

    ideas = {e.id: e for e in svc.log.entries(kind="idea", session="s1")}
    assert len(ideas) == 4
    first = [e for e in ideas.values() if e.meta["revision"] == 0]
    revised = [e for e in ideas.values() if e.meta["revision"] == 1]
    assert len(first) == len(revised) == 2
    assert all(e.meta["verdict"] == "fail" for e in first)
    assert all(e.meta["verdict"] == "pass" for e in revised)
    assert {e.meta["parent_id"] for e in revised} == {e.id for e in first}  # each revision names its original
    assert {item.idea.parent_id for item in queued} == {e.id for e in first}

    crits = critiques_of(svc, "s1")
    assert set(crits) == set(ideas)  # one critique per version
    assert all(crits[e.id].scores is not None and crits[e.id].scores.relevance == 2 for e in first)  # type: ignore[union-attr]

    report = session_report(SessionStore(svc.db), "s1")
    day = report["personas"][0]["days"][0]
    assert [i["versions"] for i in day["ideas"]] == [2, 2]
    assert {i["final_id"] for i in day["ideas"]} == {e.id for e in revised}

    revise_prompts = [str(m[-1].content) for m, kw in model.calls if chat_request(m, kw).schema == "IdeaDraft"]
    assert len(revise_prompts) == 2
    assert all("Simplicia weighs" in p and "no control condition" in p for p in revise_prompts)


@pytest.mark.parametrize("revisions", [0, 2])
def test_revision_rounds_stop_at_the_configured_number(isolated_home: Path, revisions: int) -> None:
    lab = Lab(lambda critic, title: 2)  # nothing ever passes
    svc, model, _ = run(isolated_home, ["simplicia"], lab, critique={"revisions": revisions})
    ideas = svc.log.entries(kind="idea", session="s1")
    assert len(ideas) == 2 * (revisions + 1)
    assert sorted(e.meta["revision"] for e in ideas) == sorted(list(range(revisions + 1)) * 2)
    originals = {e.id for e in ideas if e.meta["revision"] == 0}
    assert {e.meta["parent_id"] for e in ideas if e.meta["revision"]} <= originals
    assert survivors(svc) == []  # audit items aside (test_audit.py)
    assert sum(1 for m, kw in model.calls if is_critique(m, kw)) == 2 * (revisions + 1)


def test_a_screened_idea_is_never_revised(isolated_home: Path) -> None:
    def text(persona: str, n: int) -> tuple[str, str]:
        if n == 1:
            return "AI in healthcare", "In healthcare, AI can help. " * 8
        return idea_text(persona, n)

    lab = Lab(lambda critic, title: 2)
    lab.script.idea_text = text
    svc, model, _ = run(isolated_home, ["simplicia"], lab, critique={"revisions": 2})
    flagged = [e for e in svc.log.entries(kind="idea", session="s1") if e.meta["flags"]]
    assert [e.meta["flags"] for e in flagged] == ["degenerate"]
    # Neither the critic nor the author ever saw it again: the screens are a hard gate.
    assert not any("Title: AI in healthcare" in str(m[-1].content) for m, _ in model.calls)
    assert sum(1 for m, kw in model.calls if is_critique(m, kw)) == 3  # the other idea: three versions


# -- cross-persona critique -----------------------------------------------------------------------


def test_the_cross_critic_judges_in_its_own_voice(isolated_home: Path) -> None:
    lab = Lab(lambda critic, title: 2 if critic == "Doomimir" else 8)
    svc, model, _ = run(
        isolated_home, ["simplicia"], lab, critique={"revisions": 0, "cross_critic": "doomimir"}
    )

    cross_calls = [m for m, kw in model.calls if is_critique(m, kw) and critic_name(m, kw) == "Doomimir"]
    assert len(cross_calls) == 2
    for messages in cross_calls:
        system, user = str(messages[0].content), str(messages[-1].content)
        assert system.startswith(f"It is {PRESENT.isoformat()}. You are Doomimir")
        assert "The idea, by Simplicia:" in user
    own_calls = [m for m, kw in model.calls if is_critique(m, kw) and critic_name(m, kw) == "Simplicia"]
    assert len(own_calls) == 2 and all("The idea, by you:" in str(m[-1].content) for m in own_calls)

    # Simplicia passed her own ideas; Doomimir's fail overrules, and both critiques are kept.
    assert survivors(svc) == []  # audit items aside (test_audit.py)
    for result in critiques_of(svc, "s1").values():
        assert result.verdict == "fail" and result.critic == "simplicia"
        assert [c.critic for c in result.cross] == ["doomimir"] and result.cross[0].verdict == "fail"
        assert "Doomimir disagrees" in result.reasoning
    texts = [e.text for e in svc.log.entries(kind="critique", session="s1")]
    assert all("Cross-critique by doomimir (fail)" in t for t in texts)


def test_the_cross_critic_runs_only_on_ideas_the_author_passed(isolated_home: Path) -> None:
    lab = Lab(lambda critic, title: 8 if critic == "Doomimir" or "study 1" in title else 2)
    svc, model, _ = run(
        isolated_home, ["simplicia"], lab, critique={"revisions": 0, "cross_critic": "doomimir"}
    )
    cross_calls = [m for m, kw in model.calls if is_critique(m, kw) and critic_name(m, kw) == "Doomimir"]
    assert len(cross_calls) == 1 and "study 1" in str(cross_calls[0][-1].content)
    (item,) = survivors(svc)
    assert item.critique.verdict == "pass" and [c.critic for c in item.critique.cross] == ["doomimir"]


def test_auto_picks_the_most_different_persona(isolated_home: Path) -> None:
    lab = Lab(lambda critic, title: 8)
    svc, model, _ = run(isolated_home, ["simplicia"], lab, critique={"revisions": 0, "cross_critic": "auto"})
    simplicia = svc.personas.get("simplicia")
    expected = most_different(simplicia, svc.personas.all())
    assert expected.id != "simplicia"
    critics = {critic_name(m, kw) for m, kw in model.calls if is_critique(m, kw)}
    assert critics == {"Simplicia", expected.name}
    assert all(c.critic == expected.id for item in svc.queue.list() for c in item.critique.cross)


# -- selection bits -------------------------------------------------------------------------------


def test_selection_bits_is_log2_of_generated_over_surviving() -> None:
    assert selection_bits(8, 1) == 3.0
    assert selection_bits(4, 4) == 0.0
    assert math.isinf(selection_bits(4, 0))
    assert selection_bits(0, 0) == 0.0


def _odd_passes(critic: str, title: str) -> int:
    n = int(m.group(1)) if (m := re.search(r"study (\d+)", title)) else 0
    return 8 if critic == "Doomimir" and n % 2 else 2


def test_selection_bits_per_persona_and_session_in_sessions_show(isolated_home: Path) -> None:
    lab = Lab(_odd_passes)  # Doomimir passes one idea in two; Simplicia passes none
    _, _, outcome = run(isolated_home, ["doomimir", "simplicia"], lab, depth=2, critique={"revisions": 0})
    assert outcome.status == "completed", outcome.reason
    result = CliRunner().invoke(app, ["sessions", "show", "s1", "--json", "--home", str(isolated_home)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    bits = {p["persona"]: (p["generated"], p["surviving"], p["selection_bits"]) for p in report["personas"]}
    assert bits == {"doomimir": (4, 2, 1.0), "simplicia": (4, 0, "inf")}
    totals = report["totals"]
    assert (totals["generated"], totals["surviving"], totals["selection_bits"]) == (8, 2, 2.0)


def test_the_selection_bits_budget_stops_the_session_for_review(isolated_home: Path) -> None:
    lab = Lab(_odd_passes)  # one bit per day
    svc, _, outcome = run(
        isolated_home, ["doomimir"], lab, depth=3, critique={"revisions": 0}, max_selection_bits=1.0
    )
    assert outcome.status == "awaiting-review"
    assert "--max-selection-bits" in outcome.reason and "1.00 of 1.0 bits" in outcome.reason
    store = SessionStore(svc.db)
    assert store.get("s1").status == "awaiting-review"
    assert store.finished_days("s1", "doomimir") == {1}  # stopped before day 2
    assert store.totals("s1").bits == 1.0


def test_a_budget_not_yet_spent_lets_the_session_finish(isolated_home: Path) -> None:
    lab = Lab(_odd_passes)
    svc, _, outcome = run(
        isolated_home, ["doomimir"], lab, depth=3, critique={"revisions": 0}, max_selection_bits=1.5
    )
    assert outcome.status == "completed", outcome.reason
    assert SessionStore(svc.db).finished_days("s1", "doomimir") == {1, 2, 3}


# -- duplicates across sessions -------------------------------------------------------------------

EARLIER = (
    "Probing reward models for sycophancy",
    "Fine-tune a reward model on helpfulness preferences, then measure with linear probes whether it "
    "rewards answers that agree with the user's stated opinion over correct ones.",
)
NEAR_COPY = (
    "Probing reward models for sycophancy bias",
    "Fine-tune a reward model on helpfulness preference data, then use linear probes to measure whether "
    "it rewards answers agreeing with the user's stated opinion over correct answers.",
)
UNRELATED = (
    "Honeypots for sandbagging evaluations",
    "Plant easy capability questions inside long agentic tasks and test whether models deliberately "
    "underperform when they believe they are being evaluated.",
)


def _earlier_session(home: Path, minilm: Any, rejected_by: str) -> str:
    """Session s1: Doomimir has one idea, rejected by the critic or, after it passed, by the human."""
    score = 2 if rejected_by == "critic" else 8
    lab = Lab(lambda critic, title: score, ideas_per_call=1)
    lab.script.idea_text = lambda persona, n: EARLIER
    svc, _, outcome = run(
        home, ["doomimir"], lab, ideas_per_day=1, embedder=minilm, critique={"revisions": 0}
    )
    assert outcome.status == "completed", outcome.reason
    (idea,) = svc.log.entries(kind="idea", session="s1")
    if rejected_by == "human":
        svc.queue.decide(idea.id, "reject", note="seen before")
        assert svc.queue.get(idea.id).status == "rejected"
    else:
        assert idea.meta["verdict"] == "fail" and survivors(svc) == []
    svc.close()
    return idea.id


def _later_session(home: Path, minilm: Any, **critique: Any) -> dict[str, CritiqueResult]:
    """Session s2: Simplicia babbles a near-copy of s1's idea and an unrelated one."""
    lab = Lab(lambda critic, title: 8)
    lab.script.idea_text = lambda persona, n: NEAR_COPY if n == 1 else UNRELATED
    svc, _, outcome = run(
        home, ["simplicia"], lab, session="s2", embedder=minilm, critique={"revisions": 0, **critique}
    )
    assert outcome.status == "completed", outcome.reason
    crits = critiques_of(svc, "s2")
    by_title = {str(e.meta["title"]): crits[e.id] for e in svc.log.entries(kind="idea", session="s2")}
    svc.close()
    return by_title


@pytest.mark.parametrize("rejected_by", ["critic", "human"])
def test_a_near_copy_of_a_rejected_idea_from_an_earlier_session_is_a_duplicate(
    isolated_home: Path, minilm: Any, rejected_by: str
) -> None:
    earlier_id = _earlier_session(isolated_home, minilm, rejected_by)
    results = _later_session(isolated_home, minilm)

    copy, other = results[NEAR_COPY[0]], results[UNRELATED[0]]
    assert copy.verdict == "fail" and [f.name for f in copy.flags] == ["duplicate"]
    (flag,) = copy.flags
    assert flag.ref == earlier_id and earlier_id in flag.reason and EARLIER[0][:40] in flag.reason
    assert other.verdict == "pass" and other.flags == []


def test_the_duplicate_threshold_is_configurable(isolated_home: Path, minilm: Any) -> None:
    vectors = minilm.embed(["\n\n".join(EARLIER), "\n\n".join(NEAR_COPY)])
    similarity = sum(a * b for a, b in zip(*vectors, strict=True))
    assert 0.8 <= similarity < 0.99  # a near-copy, not the same text

    _earlier_session(isolated_home, minilm, "critic")
    results = _later_session(isolated_home, minilm, duplicate_threshold=0.99)
    assert results[NEAR_COPY[0]].flags == []


def test_duplicate_screen_threshold_is_inclusive_and_ignores_the_ideas_own_lineage() -> None:
    hits = [("old1", "an old idea", 0.85), ("self", "this idea", 1.0)]

    def nearest(vector: Any) -> list[tuple[str, str, float]]:
        return hits

    idea = Idea(id="new", title="t", summary="s")
    flag, novelty = DuplicateScreen(nearest, threshold=0.85).check(idea, [1.0, 0.0], ignore={"self", "new"})
    assert flag is not None and flag.ref == "old1" and "old1" in flag.reason
    assert novelty == pytest.approx(0.15)
    flag, _ = DuplicateScreen(nearest, threshold=0.9).check(idea, [1.0, 0.0], ignore={"self", "new"})
    assert flag is None

    # Ideas seen earlier in the same batch count too, before they reach the log.
    screen = DuplicateScreen(lambda v: [], threshold=0.8)
    assert screen.check(Idea(id="a", title="t", summary="s"), [1.0, 0.0], ignore={"a"})[0] is None
    flag, _ = screen.check(Idea(id="b", title="t", summary="s"), [0.96, 0.28], ignore={"b"})
    assert flag is not None and flag.ref == "a"


def test_nearest_ideas_matches_the_filtered_query_without_filtering_in_chroma(isolated_home: Path) -> None:
    from groundhog.core.records import LogEntry

    svc = make_services(isolated_home, FakeChatModel(), HashEmbedder())
    words = "reward model probes for sycophancy in chat assistants"
    entries = [
        LogEntry(id=f"note{n}", persona="doomimir", kind="notebook", text=f"{words} note {n}")
        for n in range(30)
    ]
    entries += [
        LogEntry(
            id="near", persona="simplicia", kind="idea", text=f"{words} idea", meta={"title": "near one"}
        ),
        LogEntry(id="far", persona="doomimir", kind="idea", text="honeypots for sandbagging evaluations"),
        LogEntry(id="farther", persona="doomimir", kind="idea", text="causal scrubbing of refusal heads"),
    ]
    svc.log.add(entries)
    vector = svc.embedder.embed([words])[0]
    expected = [(e.id, sim) for e, sim in svc.log.nearest(vector, k=2, kind="idea")]
    assert [i for i, _ in expected] == ["near", expected[1][0]]

    for widest in (256, 8):  # widening the unfiltered query, and the filtered fallback
        found = nearest_ideas(svc.log, vector, 2, widest=widest)
        assert [(i, round(s, 6)) for i, _, s in found] == [(i, round(s, 6)) for i, s in expected]
        assert found[0][1] == "near one"
    assert [i for i, _, _ in nearest_ideas(svc.log, vector, 1, exclude={"near"})] == [expected[1][0]]
    svc.close()
