"""The chat model for OpenAI-compatible endpoints: langchain-openai's `ChatOpenAI`, sending the Chat
Completions body as JSON on the openai SDK's clients. Imported only when an endpoint is used.

`ChatOpenAI` keeps its settings, its clients and its interface. Only its two documented hooks for a chat
model's work (`_generate`, `_agenerate`) are its own here: the typed methods of the SDK walk every
request's parameters against the SDK's TypedDicts and build a pydantic model of the reply, about 2 ms of
CPU a request more than the same JSON posted with the SDK's documented `post` (bench/concurrency.py),
and with a response format they refuse a reply cut short by the token limit instead of returning it
for the parse and repair here. The body is the one `ChatOpenAI` sends, key for key, and the reply
reads as it reads one (tests/test_throughput.py compares both); errors are the SDK's own.
"""

from __future__ import annotations

import ssl
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_openai import ChatOpenAI
from openai import DefaultAioHttpClient, DefaultHttpxClient
from pydantic import SecretStr

PATH = "/chat/completions"


class ChatEndpoint(ChatOpenAI):
    """`ChatOpenAI` for the Chat Completions API, posting the request body as JSON."""

    def request_body(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        """The JSON `ChatOpenAI` sends for these messages and call options."""
        options = dict(kwargs)
        extra = options.pop("extra_body", None) or {}
        if "max_tokens" in options:  # the call's limit, under the name the API takes now
            options["max_completion_tokens"] = options.pop("max_tokens")
        body: dict[str, Any] = {"model": self.model_name, "stream": False}
        fields = {"temperature": self.temperature, "max_completion_tokens": self.max_tokens, "seed": self.seed}
        body.update({name: value for name, value in fields.items() if value is not None})
        body.update(self.model_kwargs)
        if stop or self.stop:
            body["stop"] = stop or self.stop
        body.update(options)
        body["messages"] = convert_to_openai_messages(messages)
        return {**body, **(self.extra_body or {}), **extra}  # as the SDK merges `extra_body` into the JSON

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        body = self.request_body(messages, stop, **kwargs)
        return chat_result(self.root_client.post(PATH, body=body, cast_to=object), self.model_name)

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        body = self.request_body(messages, stop, **kwargs)
        return chat_result(await self.root_async_client.post(PATH, body=body, cast_to=object), self.model_name)


def chat_result(reply: Any, model: str) -> ChatResult:
    """A Chat Completions reply as `ChatOpenAI` reads it: content, usage, finish reason; a reasoning
    model's separate reasoning (`reasoning_content`, as vLLM and DeepSeek send it) is kept beside it."""
    if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list) or not reply["choices"]:
        raise ValueError(f"the endpoint's reply has no choices: {str(reply)[:200]}")
    choice = reply["choices"][0]
    message = choice.get("message") or {}
    extra = {"reasoning_content": message["reasoning_content"]} if message.get("reasoning_content") else {}
    finish = choice.get("finish_reason")
    meta = {
        "token_usage": reply.get("usage"),
        "model_provider": "openai",
        "model_name": reply.get("model", model),
        "system_fingerprint": reply.get("system_fingerprint", ""),
        "finish_reason": finish,
    }
    if "id" in reply:
        meta["id"] = reply["id"]
    ai = AIMessage(
        content=message.get("content") or "",
        additional_kwargs=extra,
        response_metadata=meta,
        usage_metadata=usage_metadata(reply.get("usage")),
    )
    return ChatResult(generations=[ChatGeneration(message=ai, generation_info={"finish_reason": finish})])


def usage_metadata(usage: Any) -> UsageMetadata | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    return UsageMetadata(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=int(usage.get("total_tokens") or prompt + completion),
        input_token_details=InputTokenDetails(cache_read=cached) if cached is not None else InputTokenDetails(),
        output_token_details=OutputTokenDetails(reasoning=reasoning) if reasoning is not None else OutputTokenDetails(),
    )


def chat_endpoint(
    *,
    model: str,
    base_url: str | None,
    api_key: str,
    temperature: float,
    reply_tokens: int,
    timeout_s: float,
    seed: int | None,
    tls: ssl.SSLContext,
) -> ChatEndpoint:
    """The chat model with HTTP clients of its own: httpx for synchronous calls, the SDK's aiohttp
    transport for asynchronous ones (one event loop's: its caller closes it with that loop). Both verify
    servers with `tls` and take a proxy from the environment (HTTPS_PROXY, NO_PROXY...)."""
    return ChatEndpoint(
        model=model,
        base_url=base_url,
        api_key=SecretStr(api_key),
        temperature=temperature,
        max_completion_tokens=reply_tokens,
        timeout=timeout_s,
        max_retries=0,  # retries live in providers.retry, in one place
        seed=seed,  # a field of its own (in model_kwargs it warns)
        http_client=DefaultHttpxClient(timeout=timeout_s, verify=tls),
        http_async_client=DefaultAioHttpClient(timeout=timeout_s, verify=tls),
    )
