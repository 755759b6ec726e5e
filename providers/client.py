"""`ModelClient`: the one place stages call a chat model.

It adds what every stage needs around a LangChain chat model: retries (providers.retry), token usage per
call, structured output into pydantic records with automatic fallback (json_schema, then json_object
with the schema, then plain prompting with parse and one repair), and a memory of which mode the
endpoint accepted.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from groundhog.core.errors import ProviderError, StructuredOutputError
from groundhog.core.files import write_atomic
from groundhog.core.records import Usage
from groundhog.core.settings import OutputLimits
from groundhog.providers.parsing import content_text, parse_reply, reply_text, schema_for
from groundhog.providers.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    acall_with_retries,
    call_with_retries,
    status_of,
)

T = TypeVar("T", bound=BaseModel)
EMBEDDED_LIMITS = OutputLimits()  # a client built without settings is taken to be grammar-bounded
Mode = Literal["json_schema", "json_object", "prompt"]
MODES: tuple[Mode, ...] = ("json_schema", "json_object", "prompt")
Message = tuple[str, str]  # (role, content), role in system|user|assistant


@dataclass
class Completion:
    text: str
    usage: Usage
    truncated: bool  # the token limit cut the reply short


@dataclass
class Structured(Generic[T]):
    value: T
    usage: Usage
    mode: Mode
    truncated: bool = False


class ModeMemory:
    """Which structured-output mode each endpoint accepted, kept in a small JSON file in the home."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._modes: dict[str, Mode] = {}
        if path and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self._modes = {k: v for k, v in data.items() if v in MODES}
            except (OSError, ValueError):
                self._modes = {}

    def get(self, key: str) -> Mode | None:
        return self._modes.get(key)

    def set(self, key: str, mode: Mode) -> None:
        with self._lock:
            if self._modes.get(key) == mode:
                return
            self._modes[key] = mode
            if self._path is None:
                return
            with contextlib.suppress(OSError):  # a cache only: losing it costs one extra probe next time
                write_atomic(self._path, json.dumps(self._modes, indent=1, sort_keys=True))


_FORMAT_REJECTION = re.compile(
    r"response_format|json_schema|json_object|'text' or|grammar|structured|schema", re.IGNORECASE
)


def is_format_rejection(exc: BaseException) -> bool:
    """An endpoint refusing a response_format (llama.cpp's server answers 500 for json_schema)."""
    status = status_of(exc)
    return status in (400, 422, 500, 501) and bool(_FORMAT_REJECTION.search(str(exc)))


def _to_messages(messages: Sequence[Message]) -> list[Any]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[role](content=content) for role, content in messages]


def _usage_of(message: Any) -> Usage:
    meta = getattr(message, "usage_metadata", None) or {}
    return Usage(
        prompt_tokens=int(meta.get("input_tokens", 0) or 0),
        completion_tokens=int(meta.get("output_tokens", 0) or 0),
        calls=1,
    )


def _truncated(message: Any) -> bool:
    meta = getattr(message, "response_metadata", None) or {}
    return meta.get("finish_reason") == "length"


async def _close_at_loop_end(http: Any) -> AsyncIterator[None]:
    """Stays suspended at its `yield` until the event loop shuts its async generators down (the last
    step of asyncio.run), then closes the HTTP client inside that loop, before the loop is gone."""
    try:
        yield
    finally:
        await http.aclose()


class ModelClient:
    """A chat model plus retries, usage accounting and structured output."""

    def __init__(
        self,
        chat_model: Any,
        *,
        name: str,
        base_url: str | None = None,
        max_tokens: int = 512,
        policy: RetryPolicy = DEFAULT_POLICY,
        modes: ModeMemory | None = None,
        on_retry: Callable[[str], None] | None = None,
        context_window: int = 4096,
        limits: OutputLimits | None = EMBEDDED_LIMITS,
        legacy_max_tokens: bool = False,
        async_model_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.chat_model = chat_model
        # Servers such as llama.cpp's read `max_tokens` and ignore the newer `max_completion_tokens`
        # that the OpenAI client sends; for them the limit also goes in the body under the old name.
        self.legacy_max_tokens = legacy_max_tokens
        # Models whose async client binds to an event loop are rebuilt for each new loop.
        self._async_model_factory = async_model_factory
        self._async_model: Any = None
        self._async_loop: Any = None
        self._closers: list[Any] = []  # held: each stays suspended until its loop ends
        self.name = name
        self.base_url = base_url
        self.max_tokens = max_tokens
        self.policy = policy
        self.modes = modes or ModeMemory()
        self.on_retry = on_retry
        self.context_window = context_window
        self.limits = limits  # hard reply-length limits (a grammar-bounded model), or None
        self.usage = Usage()
        self.model_seconds = 0.0  # wall time spent inside model calls (summed over concurrent calls)
        self._usage_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def mode_key(self) -> str:
        return f"{self.base_url or 'local'}|{self.name}"

    def _record(self, usage: Usage) -> None:
        with self._usage_lock:
            self.usage = self.usage + usage

    def _timed(self, start: float) -> None:
        with self._usage_lock:
            self.model_seconds += time.perf_counter() - start

    def _retry_hook(self, state: Any) -> None:
        if self.on_retry and state.outcome is not None:
            exc = state.outcome.exception()
            self.on_retry(f"{self.name}: {type(exc).__name__} (attempt {state.attempt_number}), retrying")

    def _refused(self, exc: BaseException, kwargs: dict[str, Any]) -> ProviderError | None:
        """A response_format refusal is deterministic: fail at once (no retries) so the caller falls back."""
        fmt = kwargs.get("response_format")
        if not fmt or not is_format_rejection(exc):
            return None
        return ProviderError(f"model {self.name} does not take response_format {fmt.get('type')}: {exc}")

    def _limits(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.legacy_max_tokens and "max_tokens" in kwargs:
            return {**kwargs, "extra_body": {"max_tokens": kwargs["max_tokens"]}}
        return kwargs

    async def _model_for_running_loop(self) -> Any:
        if self._async_model_factory is None:
            return self.chat_model
        import asyncio

        loop = asyncio.get_running_loop()
        if self._async_loop is not loop:
            self._async_model, self._async_loop = self._async_model_factory(), loop
            owned = [getattr(self._async_model, name, None) for name in ("http_async_client",)]
            self._closers = []
            for http in filter(None, owned):  # closed in this loop when the loop ends (asyncio.run, a Runner)
                closer = _close_at_loop_end(http)
                await closer.__anext__()
                self._closers.append(closer)
        return self._async_model

    @contextmanager
    def _guard(self, kwargs: dict[str, Any]) -> Iterator[None]:
        """Around one attempt: time it, and turn a response_format refusal into a no-retry error."""
        start = time.perf_counter()
        try:
            yield
        except Exception as exc:
            refused = self._refused(exc, kwargs)
            if refused is not None:
                raise refused from exc
            raise
        finally:
            self._timed(start)

    def _invoke(self, messages: Sequence[Message], **kwargs: Any) -> Any:
        lc_messages = _to_messages(messages)
        kwargs = self._limits(kwargs)

        def call() -> Any:
            with self._guard(kwargs):
                return self.chat_model.invoke(lc_messages, **kwargs)

        return call_with_retries(
            call,
            what=f"model {self.name}",
            base_url=self.base_url,
            policy=self.policy,
            on_retry=self._retry_hook,
        )

    async def _ainvoke(self, messages: Sequence[Message], **kwargs: Any) -> Any:
        lc_messages = _to_messages(messages)
        kwargs = self._limits(kwargs)

        model = await self._model_for_running_loop()

        async def call() -> Any:
            with self._guard(kwargs):
                return await model.ainvoke(lc_messages, **kwargs)

        return await acall_with_retries(
            call,
            what=f"model {self.name}",
            base_url=self.base_url,
            policy=self.policy,
            on_retry=self._retry_hook,
        )

    # -- plain text -----------------------------------------------------------------------------

    def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> Completion:
        reply = self._invoke(messages, max_tokens=max_tokens or self.max_tokens)
        usage = _usage_of(reply)
        self._record(usage)
        return Completion(text=reply_text(reply), usage=usage, truncated=_truncated(reply))

    async def acomplete(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> Completion:
        reply = await self._ainvoke(messages, max_tokens=max_tokens or self.max_tokens)
        usage = _usage_of(reply)
        self._record(usage)
        return Completion(text=reply_text(reply), usage=usage, truncated=_truncated(reply))

    # -- structured -----------------------------------------------------------------------------

    def _modes_to_try(self) -> list[Mode]:
        known = self.modes.get(self.mode_key)
        return list(MODES[MODES.index(known) :]) if known else list(MODES)

    @staticmethod
    def _format(mode: Mode, schema: type[BaseModel]) -> dict[str, Any] | None:
        if mode == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema_for(schema), "strict": False},
            }
        if mode == "json_object":
            return {"type": "json_object", "schema": schema_for(schema)}
        return None

    @staticmethod
    def _prompted(messages: Sequence[Message], schema: type[BaseModel]) -> list[Message]:
        instruction = (
            "Reply with one JSON object only, no prose and no code fence, matching this JSON schema:\n"
            + json.dumps(schema_for(schema))
        )
        return [*messages, ("user", instruction)]

    @staticmethod
    def _repair(messages: Sequence[Message], bad: str, error: str) -> list[Message]:
        return [
            *messages,
            ("assistant", bad[:4000]),
            (
                "user",
                f"That reply was not valid: {error[:600]}. Reply again with the corrected JSON object only.",
            ),
        ]

    def _structured_steps(
        self, messages: Sequence[Message], schema: type[T], limit: int
    ) -> Generator[tuple[list[Message], dict[str, Any]], Any, Structured[T]]:
        """The fallback logic once, for both drivers: yields requests, receives replies or errors."""
        total = Usage()
        last_error: Exception | None = None
        for mode in self._modes_to_try():
            fmt = self._format(mode, schema)
            prompt = self._prompted(messages, schema) if mode == "prompt" else list(messages)
            kwargs: dict[str, Any] = {"max_tokens": limit}
            if fmt:
                kwargs["response_format"] = fmt
            try:
                reply = yield prompt, kwargs
            except ProviderError as exc:
                if mode != "prompt" and exc.__cause__ is not None and is_format_rejection(exc.__cause__):
                    last_error = exc
                    continue  # this endpoint does not take this mode: fall back
                raise
            self.modes.set(self.mode_key, mode)  # the mode was accepted, whatever the content
            usage = _usage_of(reply)
            total = total + usage
            self._record(usage)
            try:
                value = parse_reply(content_text(reply), schema)
            except (ValueError, ValidationError) as exc:
                reply = yield self._repair(prompt, reply_text(reply), str(exc)), kwargs
                usage = _usage_of(reply)
                total = total + usage
                self._record(usage)
                try:
                    value = parse_reply(content_text(reply), schema)
                except (ValueError, ValidationError) as exc2:
                    raise StructuredOutputError(
                        f"model {self.name} gave no valid {schema.__name__} after one repair: "
                        + " ".join(str(exc2).split())[:300],
                        usage=total,
                    ) from exc2
            return Structured(value, total, mode, _truncated(reply))
        raise ProviderError(f"model {self.name} accepted no structured-output mode: {last_error}")

    def structured(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Structured[T]:
        steps = self._structured_steps(messages, schema, max_tokens or self.max_tokens)
        request = next(steps)
        while True:
            try:
                try:
                    reply = self._invoke(request[0], **request[1])
                except ProviderError as exc:
                    request = steps.throw(exc)
                    continue
                request = steps.send(reply)
            except StopIteration as done:
                return done.value

    async def astructured(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Structured[T]:
        steps = self._structured_steps(messages, schema, max_tokens or self.max_tokens)
        request = next(steps)
        while True:
            try:
                try:
                    reply = await self._ainvoke(request[0], **request[1])
                except ProviderError as exc:
                    request = steps.throw(exc)
                    continue
                request = steps.send(reply)
            except StopIteration as done:
                return done.value
