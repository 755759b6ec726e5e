"""The chat model for OpenAI-compatible endpoints: langchain-openai's `ChatOpenAI`, with each request
sent as the plain JSON body it builds. Imported only when an endpoint is used.

`ChatOpenAI` sends through the openai SDK's typed methods, which walk every request's parameters against
the SDK's TypedDicts (hashing Literal types of hundreds of model names on the way) and build a pydantic
model of the reply: about 3 ms of CPU a request. Here `ChatOpenAI` still builds the request (messages,
`max_completion_tokens`, `response_format`, `extra_body`) and still reads the reply (content, usage,
finish reason, reasoning); only the step between differs. A synchronous call posts the body with the
SDK's documented `client.post` (0.5-1 ms). An asynchronous one, a night's calls, posts it on the event
loop's own aiohttp session (`AioPost`, about 0.2 ms: the SDK wraps each request and reply in httpx
objects, parses the URL and merges headers again, on top of the same aiohttp); its failures are raised
as the SDK's own exceptions, built the SDK's way, so retries see the same statuses and errors either way.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx2
import openai
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models.base import _handle_openai_api_error, _handle_openai_bad_request
from pydantic import Field

PATH = "/chat/completions"
DEFAULT_BASE_URL = "https://api.openai.com/v1"


class AioPost:
    """POSTs JSON bodies to an endpoint on one aiohttp session: one event loop's, opened on its first
    request and closed with `aclose` (at the loop's end). Failures are the openai SDK's exceptions:
    `APITimeoutError`, `APIConnectionError`, and for an HTTP error status the one the SDK makes of it."""

    def __init__(self, base_url: str | None, api_key: str, *, timeout_s: float, tls: ssl.SSLContext) -> None:
        self.url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        # as the SDK's httpx timeout: each phase (connect, each read) gets the whole allowance
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout_s, sock_read=timeout_s)
        self._tls = tls
        self._proxy = env_proxy(self.url)  # looked up once: aiohttp's trust_env looks on every request
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def post(self, path: str, body: dict[str, Any], errors: openai.AsyncOpenAI) -> Any:
        """The reply's JSON. `errors`: the SDK client whose status errors these are."""
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._tls, limit=1000)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        url = self.url + path
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        try:
            async with self._session.post(url, data=data, headers=self._headers, proxy=self._proxy) as reply:
                status, headers, content = reply.status, list(reply.headers.items()), await reply.read()
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            raise openai.APITimeoutError(request=httpx2.Request("POST", url)) from exc
        except aiohttp.ClientError as exc:  # refused, reset, cut off mid-reply
            raise openai.APIConnectionError(request=httpx2.Request("POST", url)) from exc
        if status >= 400:
            response = httpx2.Response(status, headers=headers, content=content, request=httpx2.Request("POST", url))
            raise errors._make_status_error_from_response(response)
        return json.loads(content)  # a garbled body: a JSONDecodeError, retried as from the SDK

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY; NO_PROXY
    respected), as httpx finds it for the synchronous calls; None: connect directly."""
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(url)
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or (parts.hostname and proxy_bypass(parts.hostname)):
        return None
    return proxy


class ChatEndpoint(ChatOpenAI):
    """`ChatOpenAI` for the Chat Completions API, posting the request body as JSON."""

    poster: AioPost | None = Field(default=None, exclude=True)  # the async calls' session (one loop's)

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
            if self.poster is not None:
                reply = await self.poster.post(PATH, body, self.root_async_client)
            else:
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
