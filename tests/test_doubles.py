"""The scripted doubles answer by the schema asked for, in every structured-output mode, whatever the
prompt says, and fail naming a schema they have no reply for."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from groundhog.core.errors import ProviderError
from groundhog.core.settings import OutputLimits
from groundhog.critique.critic import critic_schema
from groundhog.providers.client import MODES, ModelClient, ModeMemory
from groundhog.providers.retry import RetryPolicy
from groundhog.researchers.schemas import babble_schema, idea_schema, notebook_schema, pairwise_schema
from testkit.fake_openai import FakeOpenAIServer
from testkit.fakes import FakeChatModel, ScriptedResearcher
from testkit.requests import UnknownSchema, body_request, schema_name
from testkit.strong_model import StrongModel

FAST = RetryPolicy(attempts=1, initial_s=0.001, max_wait_s=0.01)
FRAME = ("system", "It is 2026-11-23. You are Doomimir, an AI-alignment researcher.")
LIMITS = OutputLimits()


class Forecast(BaseModel):
    """A schema no double knows."""

    year: int
    event: str


def client(script: ScriptedResearcher, mode: str) -> ModelClient:
    """A client over the scripted model that uses `mode` (remembered as the one the endpoint takes)."""
    modes = ModeMemory()
    model = ModelClient(FakeChatModel.with_responder(script), name="fake", policy=FAST, modes=modes)
    modes.set(model.mode_key, mode)  # type: ignore[arg-type]
    return model


SCHEMAS: list[tuple[str, type[BaseModel]]] = [
    ("BabbleOutput", babble_schema(2, LIMITS)),  # two ideas: as many as the script writes
    ("BabbleOutput", babble_schema(2, None)),
    ("CriticOutput", critic_schema(LIMITS)),
    ("CriticJudgment", critic_schema(None, judge=True)),
    ("IdeaDraft", idea_schema(LIMITS)),
    ("NotebookOutput", notebook_schema(None)),
    ("PairwiseOutput", pairwise_schema(LIMITS)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "schema"), SCHEMAS)
def test_the_scripted_researcher_answers_each_schema_in_each_mode(mode: str, name: str, schema: Any) -> None:
    assert schema.__name__ == name
    reply = client(ScriptedResearcher(), mode).structured([FRAME, ("user", "Words that name no role at all.")], schema)
    assert reply.mode == mode and isinstance(reply.value, schema)


def test_the_role_follows_the_schema_not_the_wording() -> None:
    """A prompt that reads like a critique request, asked for notes, gets notes."""
    script = ScriptedResearcher()
    misleading = 'Reason step by step. Reply as JSON with fields "reasoning", "novelty" and "ideas".'
    reply = client(script, "json_schema").structured([FRAME, ("user", misleading)], notebook_schema(None))
    assert reply.value.tried == "Doomimir tried some ideas."


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_schema_fails_naming_it(mode: str) -> None:
    model = client(ScriptedResearcher(), mode)
    with pytest.raises(ProviderError, match="ScriptedResearcher has no reply for schema 'Forecast'"):
        model.structured([FRAME, ("user", "When?")], Forecast)


def test_a_plain_completion_is_no_schema() -> None:
    assert client(ScriptedResearcher(), "json_schema").complete([FRAME, ("user", "hi")]).text == "plain reply"


def test_the_schema_name_is_read_from_each_spelling() -> None:
    schema = Forecast.model_json_schema()
    assert schema_name({"type": "json_schema", "json_schema": {"name": "Forecast", "schema": schema}}) == "Forecast"
    assert schema_name({"type": "json_object", "schema": schema}) == "Forecast"
    prompted = "Reply with one JSON object only, matching this JSON schema:\n" + json.dumps(schema)
    assert schema_name(None, [prompted, "That reply was not valid. Reply again."]) == "Forecast"  # a repair
    assert schema_name({"type": "json_object"}, ['Reply in JSON: {"a": 1}']) is None  # no schema to read


def test_the_strong_model_answers_by_schema_and_fails_on_an_unknown_one() -> None:
    model = StrongModel("plain")
    babble = babble_schema(4, None)
    body = {
        "messages": [{"role": "system", "content": FRAME[1]}, {"role": "user", "content": "Anything."}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": babble.__name__, "schema": babble.model_json_schema()},
        },
    }
    assert body_request(body).schema == "BabbleOutput"
    assert len(babble.model_validate_json(model(body).content).ideas) == 4  # as many as the schema asks
    body["response_format"]["json_schema"] = {"name": "Forecast", "schema": Forecast.model_json_schema()}
    with pytest.raises(UnknownSchema, match="StrongModel has no reply for schema 'Forecast'"):
        model(body)
    assert model.calls == {"babble": 1}


def test_the_strong_model_draws_summary_lengths_and_gives_each_persona_its_angle() -> None:
    babble = babble_schema(2, None)
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": babble.__name__, "schema": babble.model_json_schema()},
    }

    def ideas(model: StrongModel, frame: str) -> list:
        body = {"messages": [{"role": "system", "content": frame}, {"role": "user", "content": "Anything."}]}
        return babble.model_validate_json(model({**body, "response_format": response_format}).content).ideas

    model = StrongModel("plain", summary_chars=(400, 1200), angles=True)
    drawn = [idea for _ in range(8) for idea in ideas(model, FRAME[1])]
    assert all(300 <= len(i.summary) <= 1300 for i in drawn)  # sentences end where the length is reached
    assert max(len(i.summary) for i in drawn) - min(len(i.summary) for i in drawn) > 200
    other = ideas(StrongModel("plain", angles=True), FRAME[1].replace("Doomimir", "Simplicia"))
    first = ideas(StrongModel("plain", angles=True), FRAME[1])
    assert {i.summary for i in other}.isdisjoint({i.summary for i in first})  # the same study, another angle


def test_the_fake_endpoint_reports_an_unknown_schema_in_its_error() -> None:
    import openai

    with (
        FakeOpenAIServer(StrongModel("plain")) as srv,
        openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0) as c,
        pytest.raises(openai.InternalServerError, match="Forecast"),
    ):
        c.chat.completions.create(
            model="strong",
            messages=[{"role": "user", "content": "When?"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "Forecast", "schema": Forecast.model_json_schema()},
            },
        )
    assert srv.peak_in_flight("Forecast") == 1
