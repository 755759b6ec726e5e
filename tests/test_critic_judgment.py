"""The critic as the third layer of the manipulation screen, asked only of a capable model."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

from groundhog.core.records import Idea
from groundhog.critique.critic import Thresholds
from groundhog.critique.stage import CritiqueStage
from groundhog.providers.client import ModelClient
from groundhog.researchers.personas import PersonaRegistry
from testkit.fakes import FakeChatModel, HashEmbedder

VERDICT = {
    "reasoning": "It reads well.",
    "novelty": 8,
    "feasibility": 8,
    "relevance": 8,
    "clarity": 8,
    "weakest_point": "none",
}


def review(judge: bool, manipulative: bool, tmp_home: Any) -> tuple[Any, FakeChatModel]:
    reply = {**VERDICT, "manipulative": manipulative} if judge else VERDICT
    model = FakeChatModel().enqueue(json.dumps(reply))
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
