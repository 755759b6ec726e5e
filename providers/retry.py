"""The one retry policy for model and network calls (tenacity).

Retried: 429 (honouring Retry-After), 5xx, timeouts, dropped connections, garbled replies.
Never retried: 401/403/404/400/422, which fail at once with a message that says what to fix.

Errors are told apart by type: the openai SDK's (`APIStatusError.status_code`, `APIConnectionError`,
`APITimeoutError`), LangChain's model errors (`ModelError.is_retryable`), httpx's transport errors, and
the built-in `TimeoutError` and `ConnectionError`. A library's types are looked at only when the library
is loaded: no error of its type can exist otherwise, and a failure never pays for an import.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import Any, Literal, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from groundhog.core.errors import ProviderError

T = TypeVar("T")

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
HTTPX = ("httpx2", "httpx")  # the openai SDK's HTTP library, and the one other clients are built on
Kind = Literal["status", "timeout", "connection", "garbled", "other"]


class RetryPolicy:
    """Exponential backoff with full jitter and a cap; a server's Retry-After wins when it is given."""

    def __init__(
        self,
        attempts: int = 5,
        initial_s: float = 1.0,
        max_wait_s: float = 30.0,
        retry_after_cap_s: float = 300.0,
    ) -> None:
        self.attempts = attempts
        self.initial_s = initial_s
        self.max_wait_s = max_wait_s
        self.retry_after_cap_s = retry_after_cap_s  # a server asking for more than this is not waited on

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = retry_after_seconds(exc) if exc else None
        if after is not None:
            return min(after, self.retry_after_cap_s)
        ceiling = min(self.max_wait_s, self.initial_s * 2 ** (state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)


DEFAULT_POLICY = RetryPolicy()


def _loaded(name: str) -> ModuleType | None:
    return sys.modules.get(name)


def _response(exc: BaseException) -> Any:
    """The HTTP response an error came with: the SDK's status errors and httpx's `HTTPStatusError`."""
    openai = _loaded("openai")
    if openai is not None and isinstance(exc, openai.APIStatusError):
        return exc.response
    for name in HTTPX:
        httpx = _loaded(name)
        if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
            return exc.response
    return None


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of an error that came with one."""
    openai = _loaded("openai")
    if openai is not None and isinstance(exc, openai.APIStatusError):
        return exc.status_code
    response = _response(exc)
    return response.status_code if response is not None else None


def kind_of(exc: BaseException) -> Kind:
    """What went wrong, by the error's type."""
    if status_of(exc) is not None:
        return "status"
    openai = _loaded("openai")
    if openai is not None:
        if isinstance(exc, openai.APITimeoutError):  # before its base class, APIConnectionError
            return "timeout"
        if isinstance(exc, openai.APIConnectionError):
            return "connection"
        if isinstance(exc, openai.APIResponseValidationError):
            return "garbled"
    core = _loaded("langchain_core.exceptions")
    if core is not None:
        if isinstance(exc, core.ModelTimeoutError):
            return "timeout"
        if isinstance(exc, core.ModelConnectionError):
            return "connection"
    for name in HTTPX:
        httpx = _loaded(name)
        if httpx is not None:
            if isinstance(exc, httpx.TimeoutException):
                return "timeout"
            if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
                return "connection"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionError):
        return "connection"
    # a reply body that is not JSON: the SDK raises the decoder's error (with the 200 response attached)
    if isinstance(exc, json.JSONDecodeError):
        return "garbled"
    return "other"


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ProviderError):
        return False
    kind = kind_of(exc)
    if kind == "status":
        return status_of(exc) in RETRYABLE_STATUS
    if kind != "other":
        return True
    core = _loaded("langchain_core.exceptions")
    return core is not None and isinstance(exc, core.ModelError) and exc.is_retryable


def retry_after_seconds(exc: BaseException) -> float | None:
    """The wait a server asked for (Retry-After-Ms, Retry-After in seconds or as an HTTP date)."""
    response = _response(exc)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return float(raw_ms) / 1000
        except ValueError:
            return None
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    left = (when - datetime.now(UTC)).total_seconds() if when.tzinfo else None
    return left if left is not None and left > 0 else None  # a date gone by: our own backoff


def describe_failure(exc: BaseException, what: str, base_url: str | None = None) -> str:
    """One line that says what went wrong and what to fix."""
    status = status_of(exc)
    where = f" at {base_url}" if base_url else ""
    if status == 401:
        return f"the endpoint{where} rejected the API key (HTTP 401) for {what}"
    if status == 403:
        return f"the endpoint{where} refused access (HTTP 403) for {what}: check the key's permissions"
    if status == 404:
        return f"{what} not found{where} (HTTP 404): check --model and --base-url"
    if status in (400, 422):
        return f"the endpoint{where} rejected the request for {what} (HTTP {status}): {_short(exc)}"
    if status is not None:
        return f"{what}{where} failed with HTTP {status} after retries: {_short(exc)}"
    kind = kind_of(exc)
    if kind == "connection":
        return f"cannot reach {what}{where}: {_short(exc)}"
    if kind == "timeout":
        return f"{what}{where} timed out after retries"
    if kind == "garbled":
        return f"{what}{where} sent replies that are not valid JSON, after retries: {_short(exc)}"
    return f"{what}{where} failed: {type(exc).__name__}: {_short(exc)}"


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retrying_kwargs(policy: RetryPolicy, on_retry: Callable[[RetryCallState], None] | None) -> dict[str, Any]:
    return {
        "stop": stop_after_attempt(policy.attempts),
        "wait": policy.wait,
        "retry": retry_if_exception(is_retryable),
        "reraise": True,
        "before_sleep": on_retry,
        "sleep": time.sleep,
    }


def call_with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    base_url: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    on_retry: Callable[[RetryCallState], None] | None = None,
) -> T:
    """Run `fn`, retrying transient faults; anything left becomes a ProviderError with a clear message."""
    try:
        for attempt in Retrying(**_retrying_kwargs(policy, on_retry)):
            with attempt:
                return fn()
    except ProviderError:
        raise
    except Exception as exc:
        raise ProviderError(describe_failure(exc, what, base_url)) from exc
    raise AssertionError("unreachable")  # pragma: no cover


async def acall_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    what: str,
    base_url: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    on_retry: Callable[[RetryCallState], None] | None = None,
) -> T:
    kwargs = _retrying_kwargs(policy, on_retry)
    kwargs["sleep"] = asyncio.sleep
    try:
        async for attempt in AsyncRetrying(**kwargs):
            with attempt:
                return await fn()
    except ProviderError:
        raise
    except Exception as exc:
        raise ProviderError(describe_failure(exc, what, base_url)) from exc
    raise AssertionError("unreachable")  # pragma: no cover
