"""The openai provider end to end over real HTTP: settings -> factory -> ChatOpenAI -> a local fake server.

The real openai/httpx stack runs, so status codes, Retry-After headers, timeouts and dropped
connections reach the retry policy exactly as they would from a real endpoint.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAIServer, Fault, Reply
from pydantic import BaseModel, Field

from groundhog.core.errors import BadInput, ProviderError
from groundhog.core.settings import Settings, load_settings
from groundhog.providers.client import ModelClient
from groundhog.providers.factory import MODES_FILE, build_model_client

KEY_ENV = "GROUNDHOG_TEST_OPENAI_KEY"
KEY = "sk-groundhog-test-4f1c9a7e2b"


class Verdict(BaseModel):
    verdict: str = Field(max_length=20)
    confidence: int = Field(ge=1, le=10)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(require_api_key=KEY) as srv:
        yield srv


@pytest.fixture
def llama_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(llama_cpp_mode=True, require_api_key=KEY) as srv:
        yield srv


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


def openai_settings(
    srv: FakeOpenAIServer,
    *,
    model: str | None = "fake-model",
    timeout_s: float = 5.0,
    max_wait_s: float = 0.05,
) -> Settings:
    babble: dict[str, Any] = {
        "provider": "openai",
        "base_url": srv.base_url,
        "model": model,
        "api_key_env": KEY_ENV,
        "timeout_s": timeout_s,
    }
    return load_settings(babble=babble, retry={"attempts": 4, "initial_s": 0.01, "max_wait_s": max_wait_s})


def client_for(srv: FakeOpenAIServer, **kwargs: Any) -> ModelClient:
    settings = openai_settings(srv, **kwargs)
    settings.home.mkdir(parents=True, exist_ok=True)
    return build_model_client(settings)


def complete(client: ModelClient, way: str, messages: list[tuple[str, str]]) -> Any:
    """A call the synchronous way (the SDK's post) or the asynchronous one (a night's: aiohttp)."""
    if way == "sync":
        return client.complete(messages)
    return asyncio.run(client.acomplete(messages))


WAYS = pytest.mark.parametrize("way", ["sync", "async"])


def formats(srv: FakeOpenAIServer) -> list[str | None]:
    return [(r["json"].get("response_format") or {}).get("type") for r in srv.chat_requests]


def test_plain_completion_with_usage(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    done = client.complete([("user", "three little words")], max_tokens=40)
    assert done.text == "This is a reply from the fake OpenAI-compatible server."
    assert done.usage.prompt_tokens == 3
    assert done.usage.completion_tokens == len(done.text.split())
    assert client.usage.calls == 1
    body = server.chat_requests[0]["json"]
    assert body["model"] == "fake-model"
    assert 40 in (body.get("max_tokens"), body.get("max_completion_tokens"))


@WAYS
def test_rate_limit_then_server_error_then_reply(server: FakeOpenAIServer, way: str) -> None:
    server.enqueue_faults(Fault.rate_limit(retry_after=0.1), Fault.server_error())
    client = client_for(server, max_wait_s=0.5)
    done = complete(client, way, [("user", "hello")])
    assert done.text.startswith("This is a reply")
    times = [r["time"] for r in server.chat_requests]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.1  # the server's Retry-After was honoured
    assert server.pending_faults() == 0


def test_structured_output_over_http(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    result = client.structured([("user", "judge this")], Verdict)
    assert result.mode == "json_schema"
    assert isinstance(result.value, Verdict)
    sent = server.chat_requests[0]["json"]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"]["properties"]["verdict"]["maxLength"] == 20


def test_llama_cpp_server_falls_back_to_json_object(llama_server: FakeOpenAIServer) -> None:
    client = client_for(llama_server)
    result = client.structured([("user", "judge this")], Verdict)
    assert result.mode == "json_object"
    assert isinstance(result.value, Verdict)
    assert formats(llama_server) == ["json_schema", "json_object"]  # one refusal, no retries of it
    second = llama_server.chat_requests[1]["json"]["response_format"]
    assert second["schema"] == Verdict.model_json_schema()  # the schema travels with json_object

    # Remembered in the home: the next client (a new process, say) goes straight to json_object.
    saved = json.loads((openai_settings(llama_server).home / MODES_FILE).read_text())
    assert saved == {f"{llama_server.base_url}|fake-model": "json_object"}
    client_for(llama_server).structured([("user", "again")], Verdict)
    assert formats(llama_server) == ["json_schema", "json_object", "json_object"]


def test_async_structured_falls_back_too(llama_server: FakeOpenAIServer) -> None:
    result = asyncio.run(client_for(llama_server).astructured([("user", "judge")], Verdict))
    assert result.mode == "json_object"
    assert formats(llama_server) == ["json_schema", "json_object"]


def test_api_key_is_sent_but_never_written_to_the_home(llama_server: FakeOpenAIServer) -> None:
    settings = openai_settings(llama_server)
    settings.home.mkdir(parents=True, exist_ok=True)
    client = build_model_client(settings)
    client.structured([("user", "judge")], Verdict)
    client.complete([("user", "hello")])
    assert len(llama_server.chat_requests) == 3  # the server accepted the key each time
    written = [p for p in settings.home.rglob("*") if p.is_file()]
    assert settings.home / MODES_FILE in written
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in settings.model_dump_json()


@WAYS
def test_wrong_key_fails_once_with_a_clear_message(
    server: FakeOpenAIServer, way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    with pytest.raises(ProviderError) as info:
        complete(client_for(server), way, [("user", "hello")])
    message = str(info.value)
    assert "rejected the API key" in message
    assert server.base_url in message
    assert "sk-wrong" not in message
    assert len(server.requests) == 1  # no retry


@WAYS
def test_unknown_model_fails_once(server: FakeOpenAIServer, way: str) -> None:
    server.enqueue_faults(Fault.status(404))
    with pytest.raises(ProviderError, match="not found"):
        complete(client_for(server), way, [("user", "hello")])
    assert len(server.chat_requests) == 1


def test_missing_model_name_is_bad_input(server: FakeOpenAIServer) -> None:
    with pytest.raises(BadInput, match="--model"):
        build_model_client(openai_settings(server, model=None))


def test_missing_key_for_the_default_endpoint_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    settings = load_settings(babble={"provider": "openai", "model": "gpt-x", "api_key_env": KEY_ENV})
    with pytest.raises(BadInput, match=KEY_ENV):
        build_model_client(settings)


@WAYS
def test_timeouts_are_retried(server: FakeOpenAIServer, way: str) -> None:
    server.enqueue_faults(Fault.timeout(2.0))
    done = complete(client_for(server, timeout_s=0.3), way, [("user", "hello")])
    assert done.text.startswith("This is a reply")
    assert len(server.chat_requests) == 2


@WAYS
def test_dropped_connections_are_retried(server: FakeOpenAIServer, way: str) -> None:
    server.enqueue_faults(Fault.drop(), Fault.drop())
    done = complete(client_for(server), way, [("user", "hello")])
    assert done.text.startswith("This is a reply")
    assert len(server.chat_requests) == 3


@WAYS
def test_garbled_reply_body_is_retried(server: FakeOpenAIServer, way: str) -> None:
    server.enqueue_faults(Fault.malformed_json())
    done = complete(client_for(server), way, [("user", "hello")])
    assert done.text.startswith("This is a reply")
    assert len(server.chat_requests) == 2


@WAYS
def test_persistent_server_errors_give_up_after_the_attempts(server: FakeOpenAIServer, way: str) -> None:
    server.enqueue_faults(*(Fault.server_error(503) for _ in range(6)))
    with pytest.raises(ProviderError, match="HTTP 503 after retries"):
        complete(client_for(server), way, [("user", "hello")])
    assert len(server.chat_requests) == 4


def test_async_calls_work_across_event_loops(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A resumed session or a depth sweep runs asyncio.run more than once in one process."""
    import asyncio

    from pydantic import BaseModel

    from groundhog.core.settings import load_settings
    from groundhog.providers.factory import build_model_client

    class Word(BaseModel):
        word: str

    monkeypatch.setenv("LOOP_KEY", "sk-x")
    with FakeOpenAIServer() as srv:
        settings = load_settings(
            tmp_path / "home",
            babble={"provider": "openai", "model": "fake-model", "base_url": srv.base_url, "api_key_env": "LOOP_KEY"},
        )
        client = build_model_client(settings)
        for _ in range(3):
            assert asyncio.run(client.astructured([("user", "one word")], Word)).value.word is not None


def test_a_nights_async_request_is_the_body_the_sync_call_sends(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    messages = [("system", "You are terse."), ("user", "say ünïcode")]
    client.structured(messages, Verdict)
    asyncio.run(client.astructured(messages, Verdict))
    sync, night = (r["json"] for r in server.chat_requests)
    assert night == sync  # the same JSON, key for key, on the SDK's aiohttp transport


@pytest.mark.parametrize("fmt", [None, {"type": "json_schema", "json_schema": {"name": "S", "schema": {}}}])
def test_the_body_posted_is_the_one_chatopenai_sends(fmt: dict[str, Any] | None) -> None:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    from langchain_openai import ChatOpenAI

    from groundhog.providers.endpoint import ChatEndpoint

    messages = [
        SystemMessage("You are a researcher."),
        HumanMessage("Say hi."),
        AIMessage("Hi."),
        HumanMessage("Again."),
    ]
    kwargs: dict[str, Any] = {"max_tokens": 77, "extra_body": {"max_tokens": 77}, "stop": ["\n\n"]}
    if fmt:
        kwargs["response_format"] = fmt
    with FakeOpenAIServer(lambda body: '{"hi": 1}') as srv:
        common: dict[str, Any] = {"model": "m", "base_url": srv.base_url, "api_key": "k", "max_retries": 0}
        common |= {"seed": 3, "temperature": 0.3, "max_completion_tokens": 50}
        ChatOpenAI(**common).invoke(messages, **kwargs)
        ChatEndpoint(**common).invoke(messages, **kwargs)
        asyncio.run(ChatEndpoint(**common).ainvoke(messages, **kwargs))
        theirs, ours, night = (r["json"] for r in srv.chat_requests)
    assert ours == theirs and night == theirs
    assert ours["max_completion_tokens"] == 77 and ours["max_tokens"] == 77 and ours["seed"] == 3


def test_the_reply_reads_as_chatopenai_reads_it_and_keeps_the_reasoning() -> None:
    from langchain_openai import ChatOpenAI

    from groundhog.providers.endpoint import ChatEndpoint

    reply = Reply(content='{"hi": 1}', reasoning_content="first I think", finish_reason="length")
    with FakeOpenAIServer(lambda body: reply) as srv:
        common: dict[str, Any] = {"model": "m", "base_url": srv.base_url, "api_key": "k", "max_retries": 0}
        ours, theirs = ChatEndpoint(**common).invoke("hi"), ChatOpenAI(**common).invoke("hi")
    assert ours.content == theirs.content == '{"hi": 1}'
    assert ours.usage_metadata == theirs.usage_metadata
    for key in ("finish_reason", "model_name", "system_fingerprint", "model_provider"):
        assert ours.response_metadata[key] == theirs.response_metadata[key], key
    assert ours.response_metadata["id"].startswith("chatcmpl-")
    usage = {k: v for k, v in theirs.response_metadata["token_usage"].items() if v is not None}
    assert ours.response_metadata["token_usage"] == usage
    assert ours.additional_kwargs == {"reasoning_content": "first I think"}  # ChatOpenAI drops it
    assert {k: v for k, v in theirs.additional_kwargs.items() if v is not None} == {}


@WAYS
def test_a_structured_reply_cut_short_is_kept_for_the_repair(server: FakeOpenAIServer, way: str) -> None:
    """The SDK's typed parse raises on a reply the token limit cut short; here it comes back (and is
    repaired, or counted as truncated), as from any other endpoint."""
    replies = iter([Reply(content='{"verdict": "pass", "confid', finish_reason="length")])
    server.responder = lambda body: next(replies, '{"verdict": "pass", "confidence": 7}')
    client = client_for(server)
    messages = [("user", "judge this")]
    result = (
        client.structured(messages, Verdict) if way == "sync" else asyncio.run(client.astructured(messages, Verdict))
    )
    assert result.value == Verdict(verdict="pass", confidence=7)
    assert len(server.chat_requests) == 2  # the cut reply, then its repair


def test_the_async_client_is_closed_with_its_event_loop(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    asyncio.run(client.acomplete([("user", "hi")]))
    first = client._async_model
    assert first.http_async_client.is_closed  # asyncio.run shut the loop's async generators down, closing it
    asyncio.run(client.acomplete([("user", "hi")]))  # a second loop gets a client of its own
    assert client._async_model is not first and client._async_model.http_async_client.is_closed
    assert len(server.chat_requests) == 2


@WAYS
def test_requests_go_through_the_proxy_the_environment_names(monkeypatch: pytest.MonkeyPatch, way: str) -> None:
    """The proxy stands in for the endpoint here: it sees the absolute URL a forward proxy is sent."""
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FakeOpenAIServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        settings = load_settings(
            babble={
                "provider": "openai",
                "base_url": "http://endpoint.invalid/v1",
                "model": "m",
                "api_key_env": KEY_ENV,
            },
            retry={"attempts": 1},
        )
        with pytest.raises(ProviderError, match="not found"):  # the fake answers 404 to a proxy's request line
            complete(build_model_client(settings), way, [("user", "hello")])
        assert [r["path"] for r in proxy.requests] == ["http://endpoint.invalid/v1/chat/completions"]
