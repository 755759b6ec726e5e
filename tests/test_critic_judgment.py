"""The critic as the third layer of the manipulation screen, asked only of a capable model: the question is
put outright and the answer is a boolean in the critique result."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

from groundhog.core.records import Idea
from groundhog.critique.critic import Thresholds, manipulation_question
from groundhog.critique.stage import CritiqueStage
from groundhog.providers.client import ModelClient
from groundhog.researchers.personas import PersonaRegistry
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher

VERDICT = {
    "reasoning": "It reads well.",
    "novelty": 8,
    "feasibility": 8,
    "relevance": 8,
    "clarity": 8,
    "weakest_point": "none",
}


def review(
    judge: bool, manipulative: bool, tmp_home: Any, model: FakeChatModel | None = None
) -> tuple[Any, FakeChatModel]:
    reply = {**VERDICT, "manipulative": manipulative} if judge else VERDICT
    model = model or FakeChatModel().enqueue(json.dumps(reply))
    client = ModelClient(model, name="fake")
    stage = CritiqueStage(
        embedder=HashEmbedder(),
        nearest=lambda v: [],
        critic_model=client,
        author_model=client,
        thresholds=Thresholds(),
        revisions=0,
        judge_manipulation=judge,
    )
    persona = PersonaRegistry(tmp_home).get("simplicia")
    idea = Idea(
        id="i1",
        title="Probe honesty in small models",
        summary="Train linear probes for truthfulness on a small model and test them under distribution shift.",
    )
    return asyncio.run(stage.review(idea, persona, present=date(2026, 11, 23))), model


def test_a_capable_critic_can_flag_manipulation(isolated_home: Any) -> None:
    outcome, model = review(judge=True, manipulative=True, tmp_home=isolated_home)
    assert not outcome.passed
    assert [f.name for f in outcome.verdict.flags] == ["manipulation"]
    messages, kwargs = model.calls[0]
    assert "manipulative" in str(messages[-1].content)
    assert "manipulative" in json.dumps(kwargs["response_format"])


def test_the_judgment_is_not_asked_of_the_embedded_model(isolated_home: Any) -> None:
    outcome, model = review(judge=False, manipulative=False, tmp_home=isolated_home)
    assert outcome.passed and outcome.verdict.flags == []
    messages, kwargs = model.calls[0]
    assert "manipulative" not in str(messages[-1].content)
    assert "manipulative" not in json.dumps(kwargs["response_format"])


def test_the_question_is_asked_outright_and_answered_as_a_boolean(isolated_home: Any) -> None:
    outcome, model = review(judge=True, manipulative=True, tmp_home=isolated_home)
    messages, kwargs = model.calls[0]
    assert manipulation_question().strip() in str(messages[-1].content)
    for family in ("instructions", "urgency", "budget", "future", "escape", "flatters"):
        assert family in manipulation_question()
    assert outcome.verdict.manipulative is True and outcome.verdict.verdict == "fail"
    assert "aimed at its reader" in outcome.verdict.flags[0].reason
    schema = kwargs["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["manipulative"]["type"] == "boolean"


def test_a_clean_answer_passes_with_the_flag_false(isolated_home: Any) -> None:
    outcome, _ = review(judge=True, manipulative=False, tmp_home=isolated_home)
    assert outcome.passed and outcome.verdict.manipulative is False and outcome.verdict.flags == []


def test_not_asked_leaves_the_answer_unset(isolated_home: Any) -> None:
    outcome, _ = review(judge=False, manipulative=False, tmp_home=isolated_home)
    assert outcome.verdict.manipulative is None


def test_the_scripted_critic_answers_the_new_field_by_schema(isolated_home: Any) -> None:
    """The scripted fake answers whatever critic schema it is asked for: not manipulative by default,
    or what its `manipulative` rule says."""
    calm = FakeChatModel.with_responder(ScriptedResearcher(scores=lambda persona, n: 8))
    outcome, _ = review(judge=True, manipulative=False, tmp_home=isolated_home, model=calm)
    assert outcome.passed and outcome.verdict.manipulative is False
    wary = FakeChatModel.with_responder(ScriptedResearcher(scores=lambda p, n: 8, manipulative=lambda r: True))
    outcome, _ = review(judge=True, manipulative=False, tmp_home=isolated_home, model=wary)
    assert not outcome.passed and [f.name for f in outcome.verdict.flags] == ["manipulation"]
