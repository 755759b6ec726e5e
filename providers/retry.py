"""The one retry policy for model and network calls (tenacity).

Retried: 429 (honouring Retry-After), 5xx, timeouts, dropped connections, garbled replies.
Never retried: 401/403/404/400/422, which fail at once with a message that says what to fix.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

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


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_seconds(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    for name in ("retry-after-ms", "retry-after"):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            return None  # an HTTP date: fall back to our own backoff
        return value / 1000 if name.endswith("-ms") else value
    return None


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ProviderError):
        return False
    # A garbled reply body (not JSON) surfaces as a decode error from the client: transient. Checked
    # before the status, because the client attaches the (200) response to the decode error.
    if isinstance(exc, json.JSONDecodeError):
        return True
    status = status_of(exc)
    if status is not None:
        return status in RETRYABLE_STATUS
    name = type(exc).__name__
    transient = ("Timeout", "Connection", "RemoteProtocol", "ReadError", "APIResponseValidation")
    return any(t in name for t in transient)


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
    if "Connection" in type(exc).__name__:
        return f"cannot reach {what}{where}: {_short(exc)}"
    if "Timeout" in type(exc).__name__:
        return f"{what}{where} timed out after retries"
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
