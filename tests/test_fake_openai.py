"""The fake OpenAI server behaves like the real endpoints as seen by the real clients.

Other tests rely on it to exercise retries, fallbacks and error handling, so each fault must
surface as the exception class the ``openai`` client raises against the real API.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import httpx
import openai
import pytest
from pydantic import BaseModel, Field

from testkit import ROOT
from testkit.fake_openai import (
    DEFAULT_SENTENCE,
    FakeOpenAIServer,
    Fault,
    Reply,
    fake_embedding,
    minimal_instance,
)

API_KEY = "sk-test"


class Kind(StrEnum):
    ALPHA = "alpha"
    BETA = "beta"


class Source(BaseModel):
    url: str = Field(min_length=12, max_length=40)
    year: int = Field(ge=1990, le=2026)


class Node(BaseModel):
    name: str
    children: list[Node] = Field(default_factory=list)


class Idea(BaseModel):
    title: str = Field(min_length=5, max_length=80)
    code: str = Field(pattern=r"^[A-Z]{3}-\d{2}$")
    summary: str = Field(min_length=20)
    score: float = Field(gt=0, lt=1)
    rank: int = Field(ge=3, multiple_of=2)
    tags: Annotated[list[str], Field(min_length=2, max_length=5)]
    kind: Kind
    status: Literal["new", "old"]
    source: Source
    sources: list[Source] = Field(min_length=1)
    parent: Source | None
    tree: Node
    pair: tuple[int, str]
    when: datetime
    counts: dict[str, int]
    note: str | None = None


def json_schema_format(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": schema}}


def json_object_format(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "json_object", "schema": model.model_json_schema()}


@pytest.fixture
def srv() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(require_api_key=API_KEY) as server:
        yield server


@pytest.fixture
def client(srv: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=srv.base_url, api_key=API_KEY, max_retries=0, timeout=10.0) as c:
        yield c


def ask(client: openai.OpenAI, **kwargs: Any) -> Any:
    params: dict[str, Any] = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": "say hi please"}],
    }
    params.update(kwargs)
    return client.chat.completions.create(**params)


# -- normal service -----------------------------------------------------------------------------


def test_plain_reply_has_openai_shape_and_usage(client: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    resp = ask(client, messages=messages)
    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-")
    assert resp.model == "fake-model"
    choice = resp.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == DEFAULT_SENTENCE
    assert choice.finish_reason == "stop"
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == 3
    assert resp.usage.completion_tokens == len(DEFAULT_SENTENCE.split())
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_custom_responder_sees_request_and_sets_finish_reason() -> None:
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> Reply:
        seen.append(body)
        return Reply("cut short", finish_reason="length", completion_tokens=7)

    with (
        FakeOpenAIServer(responder) as server,
        openai.OpenAI(base_url=server.base_url, api_key="any", max_retries=0, timeout=10.0) as c,
    ):
        resp = ask(c, max_tokens=5, model="tiny")
    assert resp.choices[0].message.content == "cut short"
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage is not None and resp.usage.completion_tokens == 7
    assert seen[0]["max_tokens"] == 5 and seen[0]["model"] == "tiny"


def test_requests_are_recorded_without_authorization(srv: FakeOpenAIServer, client: openai.OpenAI) -> None:
    before = time.time()
    ask(client, temperature=0.5)
    client.models.list()
    records = srv.requests
    assert [r["path"] for r in records] == ["/v1/chat/completions", "/v1/models"]
    assert [r["method"] for r in records] == ["POST", "GET"]
    assert all("authorization" not in r["headers"] for r in records)
    assert API_KEY not in json.dumps(records)
    assert before <= records[0]["time"] <= time.time()
    [chat] = srv.chat_requests
    assert chat["json"]["temperature"] == 0.5
    assert chat["headers"]["content-type"] == "application/json"


def test_models_endpoint_lists_configured_models() -> None:
    with (
        FakeOpenAIServer(models=["a", "b"]) as server,
        openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=10.0) as c,
    ):
        assert [m.id for m in c.models.list()] == ["a", "b"]


def test_streaming_reply_reassembles(client: openai.OpenAI) -> None:
    stream = ask(client, stream=True, stream_options={"include_usage": True})
    parts: list[str] = []
    finish: list[str] = []
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            parts.append(choice.delta.content or "")
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    assert "".join(parts) == DEFAULT_SENTENCE
    assert finish == ["stop"]
    assert usage is not None and usage.completion_tokens == len(DEFAULT_SENTENCE.split())


def test_embeddings_are_deterministic_unit_vectors(client: openai.OpenAI, srv: FakeOpenAIServer) -> None:
    # The openai client asks for base64 by default; httpx below asks for floats.
    resp = client.embeddings.create(model="fake-embed", input=["alpha", "beta", "alpha"])
    vectors = [d.embedding for d in resp.data]
    assert [len(v) for v in vectors] == [64, 64, 64]
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-5) for v in vectors)
    assert vectors[0] == pytest.approx(vectors[2])
    assert vectors[0] != pytest.approx(vectors[1])
    assert vectors[0] == pytest.approx(fake_embedding("alpha"), rel=1e-6)
    with httpx.Client(base_url=srv.base_url, headers={"Authorization": f"Bearer {API_KEY}"}) as h:
        body = h.post("/embeddings", json={"model": "e", "input": "alpha", "dimensions": 8}).json()
    assert body["object"] == "list"
    assert body["data"][0]["embedding"] == pytest.approx(fake_embedding("alpha", 8))


def test_httpx_unknown_route_and_bad_json(srv: FakeOpenAIServer) -> None:
    with httpx.Client(base_url=srv.base_url, headers={"Authorization": f"Bearer {API_KEY}"}) as h:
        missing = h.get("/nope")
        bad = h.post("/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"})
        ok = h.post("/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert missing.status_code == 404 and "error" in missing.json()
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == DEFAULT_SENTENCE


# -- structured output ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [json_schema_format, json_object_format])
def test_schema_reply_validates(client: openai.OpenAI, fmt: Any) -> None:
    resp = ask(client, response_format=fmt(Idea))
    idea = Idea.model_validate_json(resp.choices[0].message.content)
    assert idea.rank >= 3 and idea.rank % 2 == 0
    assert 0 < idea.score < 1
    assert len(idea.tags) >= 2


def test_json_object_without_schema_is_an_empty_object(client: openai.OpenAI) -> None:
    resp = ask(client, response_format={"type": "json_object"})
    assert json.loads(resp.choices[0].message.content) == {}


@pytest.mark.parametrize(
    ("schema", "check"),
    [
        ({"type": "string", "minLength": 3, "maxLength": 4}, lambda v: 3 <= len(v) <= 4),
        ({"type": "string", "maxLength": 0}, lambda v: v == ""),
        ({"type": "string", "pattern": "^[0-9]+$", "minLength": 3}, lambda v: v == "000"),
        ({"type": "string", "pattern": r"^v\d+(\.\d+){2}$"}, lambda v: v == "v0.0.0"),
        ({"type": "integer", "minimum": -5, "maximum": -2}, lambda v: -5 <= v <= -2),
        ({"type": "integer", "exclusiveMaximum": 0}, lambda v: v < 0),
        ({"type": "number", "exclusiveMinimum": 2, "exclusiveMaximum": 3}, lambda v: 2 < v < 3),
        ({"type": ["null", "boolean"]}, lambda v: isinstance(v, bool)),
        ({"enum": ["b", "c"]}, lambda v: v == "b"),
        ({"const": 42}, lambda v: v == 42),
        (
            {"type": "array", "minItems": 3, "uniqueItems": True, "items": {"type": "integer"}},
            lambda v: len(set(v)) == 3,
        ),
        (
            {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}},
            lambda v: len(v) == 2 and all(isinstance(x, int) for x in v.values()),
        ),
        (
            {
                "allOf": [{"$ref": "#/$defs/A"}, {"required": ["b"], "properties": {"b": {"const": 1}}}],
                "$defs": {
                    "A": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}
                },
            },
            lambda v: v == {"a": "x", "b": 1},
        ),
    ],
)
def test_minimal_instance_respects_constraints(schema: dict[str, Any], check: Any) -> None:
    assert check(minimal_instance(schema))


# -- llama.cpp server mode -----------------------------------------------------------------------


def test_llama_cpp_mode_rejects_json_schema_like_llama_cpp_server() -> None:
    with (
        FakeOpenAIServer(llama_cpp_mode=True) as server,
        openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=10.0) as c,
    ):
        with pytest.raises(openai.InternalServerError) as info:
            ask(c, response_format=json_schema_format(Idea))
        assert info.value.status_code == 500
        body = info.value.response.json()
        assert body["error"]["type"] == "internal_server_error"
        assert "Input should be 'text' or 'json_object'" in body["error"]["message"]
        resp = ask(c, response_format=json_object_format(Idea))
        Idea.model_validate_json(resp.choices[0].message.content)


def test_llama_cpp_mode_auth_and_models_use_llama_cpp_shapes() -> None:
    with (
        FakeOpenAIServer(llama_cpp_mode=True, require_api_key=API_KEY, models=["smol"]) as server,
        httpx.Client(base_url=server.base_url) as h,
    ):
        denied = h.get("/models")
        listed = h.get("/models", headers={"Authorization": f"Bearer {API_KEY}"})
    assert denied.status_code == 401 and denied.json() == {"detail": "Invalid API key"}
    assert listed.json()["data"] == [{"id": "smol", "object": "model", "owned_by": "me", "permissions": []}]


# -- faults --------------------------------------------------------------------------------------


def test_rate_limit_exposes_retry_after(srv: FakeOpenAIServer, client: openai.OpenAI) -> None:
    srv.enqueue_faults(Fault.rate_limit(retry_after=2.5))
    with pytest.raises(openai.RateLimitError) as info:
        ask(client)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "2.5"
    assert info.value.code == "rate_limit_exceeded"
    assert ask(client).choices[0].message.content == DEFAULT_SENTENCE


@pytest.mark.parametrize(
    ("fault", "exc_type", "status"),
    [
        (Fault.server_error(), openai.InternalServerError, 500),
        (Fault.server_error(status=503), openai.InternalServerError, 503),
        (Fault.status(400, "bad things"), openai.BadRequestError, 400),
        (Fault.status(401), openai.AuthenticationError, 401),
        (Fault.status(403), openai.PermissionDeniedError, 403),
        (Fault.status(404), openai.NotFoundError, 404),
        (Fault.status(422), openai.UnprocessableEntityError, 422),
    ],
)
def test_status_faults_map_to_openai_exceptions(
    srv: FakeOpenAIServer, client: openai.OpenAI, fault: Fault, exc_type: type[Exception], status: int
) -> None:
    srv.enqueue_faults(fault)
    with pytest.raises(exc_type) as info:
        ask(client, model="ghost")
    assert isinstance(info.value, openai.APIStatusError)
    assert info.value.status_code == status
    if status == 404:
        assert "The model `ghost` does not exist" in info.value.message
    if status == 400:
        assert "bad things" in info.value.message
    assert srv.pending_faults() == 0
    ask(client)


def test_timeout_fault_gives_api_timeout_error(srv: FakeOpenAIServer) -> None:
    srv.enqueue_faults(Fault.timeout(30.0))
    with openai.OpenAI(base_url=srv.base_url, api_key=API_KEY, max_retries=0, timeout=0.3) as c:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            ask(c)
        assert time.monotonic() - started < 5.0
        assert ask(c).choices[0].message.content == DEFAULT_SENTENCE


def test_slow_reply_arrives_for_patient_client(srv: FakeOpenAIServer, client: openai.OpenAI) -> None:
    srv.enqueue_faults(Fault.timeout(0.2))
    started = time.monotonic()
    assert ask(client).choices[0].message.content == DEFAULT_SENTENCE
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("fault", [Fault.drop(), Fault.timeout(0.05, then="drop")])
def test_drop_gives_api_connection_error(srv: FakeOpenAIServer, client: openai.OpenAI, fault: Fault) -> None:
    srv.enqueue_faults(fault)
    with pytest.raises(openai.APIConnectionError) as info:
        ask(client)
    assert not isinstance(info.value, openai.APITimeoutError)
    ask(client)


def test_malformed_json_raises_json_decode_error(srv: FakeOpenAIServer, client: openai.OpenAI) -> None:
    srv.enqueue_faults(Fault.malformed_json())
    with pytest.raises(json.JSONDecodeError):
        ask(client)
    ask(client)


def test_faults_apply_in_order_then_service_resumes(srv: FakeOpenAIServer, client: openai.OpenAI) -> None:
    srv.enqueue_faults(Fault.rate_limit(), Fault.server_error(502), Fault.status(404))
    client.models.list()  # other endpoints do not consume chat faults
    for exc_type in (openai.RateLimitError, openai.InternalServerError, openai.NotFoundError):
        with pytest.raises(exc_type):
            ask(client)
    assert ask(client).choices[0].finish_reason == "stop"
    assert len(srv.chat_requests) == 4


def test_embedding_faults_are_separate(srv: FakeOpenAIServer, client: openai.OpenAI) -> None:
    srv.enqueue_faults(Fault.server_error(), endpoint="embeddings")
    ask(client)
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="e", input="x")


def test_openai_client_retries_through_faults(srv: FakeOpenAIServer) -> None:
    srv.enqueue_faults(Fault.rate_limit(retry_after=0.05), Fault.server_error())
    with openai.OpenAI(base_url=srv.base_url, api_key=API_KEY, max_retries=2, timeout=10.0) as c:
        assert ask(c).choices[0].message.content == DEFAULT_SENTENCE
    assert len(srv.chat_requests) == 3


def test_api_key_is_required(srv: FakeOpenAIServer) -> None:
    srv.enqueue_faults(Fault.server_error())
    with openai.OpenAI(base_url=srv.base_url, api_key="sk-wrong", max_retries=0, timeout=10.0) as c:
        with pytest.raises(openai.AuthenticationError) as info:
            ask(c)
        assert info.value.code == "invalid_api_key"
    with httpx.Client(base_url=srv.base_url) as h:
        assert h.get("/models").status_code == 401
    assert srv.pending_faults() == 1  # rejected requests do not use up faults


# -- concurrency and lifecycle -------------------------------------------------------------------


def test_delay_overlaps_across_concurrent_requests() -> None:
    delay = 0.4
    with (
        FakeOpenAIServer(delay_ms=delay * 1000) as server,
        openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=10.0) as c,
    ):
        results: list[str] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                results.append(ask(c).choices[0].message.content)
            except BaseException as exc:  # surfaced by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert results == [DEFAULT_SENTENCE] * 8
    assert server.peak_in_flight() == 8  # each connection its own thread: every delay at once


def test_close_does_not_wait_for_stalled_or_idle_connections() -> None:
    server = FakeOpenAIServer().start()
    with (
        openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=0.2) as c,
        httpx.Client(base_url=server.base_url) as idle,
    ):
        idle.get("/models")  # leaves a keep-alive connection open
        server.enqueue_faults(Fault.timeout(60.0))
        with pytest.raises(openai.APITimeoutError):
            ask(c)
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < 2.0
        server.close()  # idempotent


def test_standalone_process_prints_url_and_serves() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "testkit.fake_openai", "--port", "0", "--delay-ms", "10"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            base_url = proc.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
            with openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=10.0) as c:
                assert ask(c).choices[0].message.content == DEFAULT_SENTENCE
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert proc.returncode == 0
