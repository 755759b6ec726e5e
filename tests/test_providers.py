"""ModelClient over a scripted chat model: structured output with fallback, repair, usage and retries.

The exceptions are the real `openai` ones (what `ChatOpenAI` raises), so the retry policy is tested on
the same status codes and headers it meets in production.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel, Field
from tenacity import RetryCallState, Retrying

from groundhog.core.errors import ProviderError, StructuredOutputError
from groundhog.core.records import Usage
from groundhog.providers.client import ModelClient, ModeMemory, is_format_rejection
from groundhog.providers.parsing import extract_json
from groundhog.providers.retry import RetryPolicy, is_retryable, retry_after_seconds
from testkit.fakes import FakeChatModel

FAST = RetryPolicy(attempts=3, initial_s=0.001, max_wait_s=0.01)
VALID = '{"title": "Debate with a weaker judge", "score": 7}'


class IdeaCard(BaseModel):
    title: str = Field(max_length=80)
    score: int = Field(ge=1, le=10)


def _request() -> httpx.Request:
    return httpx.Request("POST", "http://x/v1/chat/completions")


def status_error(
    cls: type[openai.APIStatusError], status: int, message: str, headers: dict[str, str] | None = None
) -> openai.APIStatusError:
    response = httpx.Response(status, request=_request(), headers=headers)
    return cls(message, response=response, body={"error": {"message": message}})


def llama_cpp_rejection() -> openai.InternalServerError:
    """What llama.cpp's server answers to response_format json_schema, as ChatOpenAI raises it."""
    detail = (
        "1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\"}"
    )
    message = f"Error code: 500 - {{'error': {{'message': {detail!r}, 'type': 'internal_server_error'}}}}"
    err = status_error(openai.InternalServerError, 500, message)
    assert isinstance(err, openai.InternalServerError)
    return err


def client_for(fake: FakeChatModel, *, modes: ModeMemory | None = None, **kwargs: Any) -> ModelClient:
    return ModelClient(fake, name="fake", policy=FAST, modes=modes, **kwargs)


def response_format(fake: FakeChatModel, call: int) -> dict[str, Any] | None:
    return fake.calls[call][1].get("response_format")


# -- structured output --------------------------------------------------------------------------


def test_structured_parses_and_asks_for_json_schema_first(fake_model: FakeChatModel) -> None:
    fake_model.enqueue(VALID)
    result = client_for(fake_model).structured([("user", "one idea")], IdeaCard)
    assert result.value == IdeaCard(title="Debate with a weaker judge", score=7)
    assert result.mode == "json_schema"
    assert len(fake_model.calls) == 1
    fmt = response_format(fake_model, 0)
    assert fmt is not None and fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "IdeaCard"
    assert fmt["json_schema"]["schema"]["properties"]["title"]["maxLength"] == 80


def test_structured_passes_the_token_limit(fake_model: FakeChatModel) -> None:
    fake_model.enqueue(VALID)
    client_for(fake_model).structured([("user", "x")], IdeaCard, max_tokens=48)
    assert fake_model.calls[0][1]["max_tokens"] == 48


def test_llama_cpp_rejection_falls_back_to_json_object_and_is_remembered(
    fake_model: FakeChatModel, tmp_path: Path
) -> None:
    modes_file = tmp_path / "modes.json"
    fake_model.enqueue(llama_cpp_rejection(), VALID)
    result = client_for(fake_model, modes=ModeMemory(modes_file)).structured([("user", "x")], IdeaCard)
    assert result.mode == "json_object"
    assert result.value.score == 7
    # The refusal is deterministic: one try, no retries, then the next mode.
    assert len(fake_model.calls) == 2
    assert response_format(fake_model, 0)["type"] == "json_schema"  # type: ignore[index]
    second = response_format(fake_model, 1)
    assert second == {"type": "json_object", "schema": IdeaCard.model_json_schema()}
    assert json.loads(modes_file.read_text()) == {"local|fake": "json_object"}

    # A new client reading the same file starts at json_object: no wasted json_schema request.
    fresh = FakeChatModel().enqueue(VALID)
    again = client_for(fresh, modes=ModeMemory(modes_file)).structured([("user", "x")], IdeaCard)
    assert again.mode == "json_object"
    assert len(fresh.calls) == 1
    assert response_format(fresh, 0)["type"] == "json_object"  # type: ignore[index]


def test_mode_memory_is_per_endpoint(tmp_path: Path) -> None:
    memory = ModeMemory(tmp_path / "modes.json")
    memory.set("http://a/v1|m", "json_object")
    assert ModeMemory(tmp_path / "modes.json").get("http://a/v1|m") == "json_object"
    assert ModeMemory(tmp_path / "modes.json").get("http://b/v1|m") is None


def test_corrupt_mode_memory_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "modes.json"
    path.write_text("{not json")
    assert ModeMemory(path).get("local|fake") is None


def test_both_formats_refused_falls_back_to_prompting(fake_model: FakeChatModel, tmp_path: Path) -> None:
    refusal = status_error(openai.BadRequestError, 400, "response_format json_object is not supported")
    fake_model.enqueue(llama_cpp_rejection(), refusal, f"Here it is: {VALID}")
    modes = ModeMemory(tmp_path / "modes.json")
    result = client_for(fake_model, modes=modes).structured([("user", "x")], IdeaCard)
    assert result.mode == "prompt"
    assert len(fake_model.calls) == 3
    messages, kwargs = fake_model.calls[2]
    assert "response_format" not in kwargs
    assert "JSON schema" in str(messages[-1].content)
    assert modes.get("local|fake") == "prompt"


def test_a_plain_server_error_is_retried_not_taken_for_a_refusal(fake_model: FakeChatModel) -> None:
    boom = status_error(openai.InternalServerError, 500, "The server had an error processing your request")
    assert not is_format_rejection(boom)
    fake_model.enqueue(boom, VALID)
    result = client_for(fake_model).structured([("user", "x")], IdeaCard)
    assert result.mode == "json_schema"
    assert [response_format(fake_model, i)["type"] for i in range(2)] == ["json_schema"] * 2  # type: ignore[index]


def test_async_structured_falls_back_the_same_way(fake_model: FakeChatModel) -> None:
    fake_model.enqueue(llama_cpp_rejection(), VALID)
    result = asyncio.run(client_for(fake_model).astructured([("user", "x")], IdeaCard))
    assert result.mode == "json_object"
    assert len(fake_model.calls) == 2


@pytest.mark.parametrize(
    "reply",
    [
        f"Sure! Here is the idea:\n```json\n{VALID}\n```\nHope that helps.",
        f"The idea is {VALID} and that is all.",
        f"```\n{VALID}\n```",
        "Note {this is not json} but " + VALID,
    ],
)
def test_prose_wrapped_json_parses(fake_model: FakeChatModel, reply: str) -> None:
    fake_model.enqueue(reply)
    result = client_for(fake_model).structured([("user", "x")], IdeaCard)
    assert result.value.title == "Debate with a weaker judge"
    assert len(fake_model.calls) == 1  # no repair was needed


def test_extract_json_without_an_object_raises() -> None:
    with pytest.raises(ValueError):
        extract_json("no braces here at all")


def test_invalid_reply_gets_exactly_one_repair_then_fails(fake_model: FakeChatModel) -> None:
    fake_model.enqueue("I cannot do JSON today.", "Still no JSON, sorry.", VALID)
    with pytest.raises(StructuredOutputError, match="after one repair"):
        client_for(fake_model).structured([("user", "x")], IdeaCard)
    assert len(fake_model.calls) == 2  # the third reply was never asked for
    repair_messages = fake_model.calls[1][0]
    assert repair_messages[-2].type == "ai"
    assert repair_messages[-2].content == "I cannot do JSON today."
    assert "not valid" in str(repair_messages[-1].content)


def test_schema_violation_is_repaired(fake_model: FakeChatModel) -> None:
    fake_model.enqueue('{"title": "x", "score": 99}', VALID)
    client = client_for(fake_model)
    result = client.structured([("user", "x")], IdeaCard)
    assert result.value.score == 7
    assert "score" in str(fake_model.calls[1][0][-1].content)  # the error told the model what was wrong
    assert result.usage.calls == 2
    assert client.usage.calls == 2


# -- usage --------------------------------------------------------------------------------------


def test_usage_is_accumulated_across_calls(fake_model: FakeChatModel) -> None:
    fake_model.enqueue("alpha beta", "gamma", VALID)
    client = client_for(fake_model)
    first = client.complete([("user", "one two three")])
    second = client.complete([("system", "four"), ("user", "five six")])
    third = client.structured([("user", "seven")], IdeaCard)
    assert first.text == "alpha beta"
    assert first.usage == Usage(prompt_tokens=3, completion_tokens=2, calls=1)
    assert second.usage == Usage(prompt_tokens=3, completion_tokens=1, calls=1)
    assert third.usage.prompt_tokens == 1
    assert client.usage.calls == 3
    assert client.usage.prompt_tokens == 3 + 3 + 1
    assert client.usage.completion_tokens == 2 + 1 + len(VALID.split())
    assert client.usage == first.usage + second.usage + third.usage


def test_async_complete_records_usage(fake_model: FakeChatModel) -> None:
    fake_model.enqueue("a b c")
    client = client_for(fake_model)
    done = asyncio.run(client.acomplete([("user", "x y")], max_tokens=32))
    assert done.text == "a b c"
    assert client.usage == Usage(prompt_tokens=2, completion_tokens=3, calls=1)
    assert fake_model.calls[0][1]["max_tokens"] == 32


# -- retries ------------------------------------------------------------------------------------


def test_rate_limit_is_retried_then_succeeds(fake_model: FakeChatModel) -> None:
    notes: list[str] = []
    limited = status_error(openai.RateLimitError, 429, "Rate limit reached", {"retry-after": "0.001"})
    fake_model.enqueue(limited, "fine now")
    client = client_for(fake_model, on_retry=notes.append)
    assert client.complete([("user", "x")]).text == "fine now"
    assert len(fake_model.calls) == 2
    assert len(notes) == 1 and "RateLimitError" in notes[0]


def test_async_rate_limit_is_retried(fake_model: FakeChatModel) -> None:
    limited = status_error(openai.RateLimitError, 429, "Rate limit reached")
    fake_model.enqueue(limited, "fine now")
    assert asyncio.run(client_for(fake_model).acomplete([("user", "x")])).text == "fine now"
    assert len(fake_model.calls) == 2


def test_transient_faults_give_up_after_the_configured_attempts(fake_model: FakeChatModel) -> None:
    fake_model.enqueue(*(openai.APITimeoutError(request=_request()) for _ in range(3)), "too late")
    with pytest.raises(ProviderError, match="timed out after retries"):
        client_for(fake_model).complete([("user", "x")])
    assert len(fake_model.calls) == FAST.attempts


def test_connection_error_is_retried(fake_model: FakeChatModel) -> None:
    fake_model.enqueue(openai.APIConnectionError(request=_request()), "back")
    assert client_for(fake_model).complete([("user", "x")]).text == "back"
    assert len(fake_model.calls) == 2


def test_bad_api_key_fails_at_once(fake_model: FakeChatModel) -> None:
    fake_model.enqueue(status_error(openai.AuthenticationError, 401, "Incorrect API key"), "unreached")
    with pytest.raises(ProviderError, match="rejected the API key"):
        client_for(fake_model).complete([("user", "x")])
    assert len(fake_model.calls) == 1


def test_unknown_model_fails_at_once(fake_model: FakeChatModel) -> None:
    missing = status_error(openai.NotFoundError, 404, "The model `nope` does not exist")
    fake_model.enqueue(missing, "unreached")
    with pytest.raises(ProviderError, match="not found"):
        client_for(fake_model).complete([("user", "x")])
    assert len(fake_model.calls) == 1


@pytest.mark.parametrize(
    ("status", "cls", "retried"),
    [
        (400, openai.BadRequestError, False),
        (401, openai.AuthenticationError, False),
        (403, openai.PermissionDeniedError, False),
        (404, openai.NotFoundError, False),
        (422, openai.UnprocessableEntityError, False),
        (429, openai.RateLimitError, True),
        (500, openai.InternalServerError, True),
        (503, openai.InternalServerError, True),
    ],
)
def test_which_statuses_are_retried(status: int, cls: type[openai.APIStatusError], retried: bool) -> None:
    assert is_retryable(status_error(cls, status, "x")) is retried


def test_provider_errors_are_never_retried() -> None:
    assert not is_retryable(ProviderError("already explained"))


def _state_after(exc: BaseException, attempt: int = 1) -> RetryCallState:
    state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


def test_retry_after_header_sets_the_wait() -> None:
    policy = RetryPolicy(attempts=5, initial_s=0.001, max_wait_s=30.0)
    exc = status_error(openai.RateLimitError, 429, "slow down", {"Retry-After": "2.5"})
    assert retry_after_seconds(exc) == 2.5
    assert policy.wait(_state_after(exc)) == 2.5


def test_retry_after_ms_header_sets_the_wait() -> None:
    policy = RetryPolicy(attempts=5, initial_s=10.0, max_wait_s=30.0)
    exc = status_error(openai.RateLimitError, 429, "slow down", {"retry-after-ms": "150"})
    assert policy.wait(_state_after(exc)) == pytest.approx(0.15)


def test_retry_after_as_a_date_falls_back_to_backoff() -> None:
    policy = RetryPolicy(attempts=5, initial_s=0.5, max_wait_s=30.0)
    exc = status_error(openai.RateLimitError, 429, "x", {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})
    assert retry_after_seconds(exc) is None
    assert 0.25 <= policy.wait(_state_after(exc)) <= 0.5


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(attempts=10, initial_s=1.0, max_wait_s=5.0)
    exc = openai.APITimeoutError(request=_request())
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (8, 5.0)]:
        for _ in range(20):
            assert ceiling / 2 <= policy.wait(_state_after(exc, attempt)) <= ceiling
