"""The chat model for OpenAI-compatible endpoints: langchain-openai's `ChatOpenAI`, with each request
sent as the plain JSON body it builds. Imported only when an endpoint is used.

`ChatOpenAI` sends through the openai SDK's typed methods, which walk every request's parameters against
the SDK's TypedDicts (hashing Literal types of hundreds of model names on the way) and build a pydantic
model of the reply: about 3 ms of CPU a request, against 1 ms for the same body posted on the same
client (bench/concurrency.py). With dozens of personas on a fast endpoint that was the largest cost of a
session. Here `ChatOpenAI` still builds the request (messages, `max_completion_tokens`, `response_format`,
`extra_body`) and still reads the reply (content, usage, finish reason, reasoning); only the step between
is the SDK's documented `client.post`, so errors are the SDK's own and retries see the same statuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models.base import _handle_openai_api_error, _handle_openai_bad_request

PATH = "/chat/completions"


class ChatEndpoint(ChatOpenAI):
    """`ChatOpenAI` for the Chat Completions API, posting the request body as JSON."""

    def _body(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        payload = self._get_request_payload(messages, stop=stop, **kwargs)
        extra = payload.pop("extra_body", None) or {}
        return {**payload, "stream": False, **extra}  # the SDK merges `extra_body` into the JSON like this

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        body = self._body(messages, stop, **kwargs)
        with _as_chatopenai_raises():
            reply = self.root_client.post(PATH, body=body, cast_to=object)
        return self._create_chat_result(reply)

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        body = self._body(messages, stop, **kwargs)
        with _as_chatopenai_raises():
            reply = await self.root_async_client.post(PATH, body=body, cast_to=object)
        return self._create_chat_result(reply)


@contextmanager
def _as_chatopenai_raises() -> Iterator[None]:
    """The SDK's errors turned into the ones `ChatOpenAI` raises for them (same statuses and bodies)."""
    try:
        yield
    except openai.BadRequestError as exc:
        _handle_openai_bad_request(exc)
        raise
    except openai.APIError as exc:
        _handle_openai_api_error(exc)
        raise
