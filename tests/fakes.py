"""Fakes at the model boundary: a scripted LangChain chat model and a deterministic embedder."""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

Responder = Callable[[list[BaseMessage], dict[str, Any]], str]


class FakeChatModel(BaseChatModel):
    """Replies from a queue (`enqueue`) or, when the queue is empty, from a responder function.

    Every call is recorded (messages and keyword arguments such as response_format) for assertions.
    """

    _queue: deque[str | BaseException] = PrivateAttr(default_factory=deque)
    _responder: Responder | None = PrivateAttr(default=None)
    _calls: list[tuple[list[BaseMessage], dict[str, Any]]] = PrivateAttr(default_factory=list)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def with_responder(cls, responder: Responder) -> FakeChatModel:
        model = cls()
        model._responder = responder
        return model

    def enqueue(self, *replies: str | BaseException) -> FakeChatModel:
        self._queue.extend(replies)
        return self

    @property
    def calls(self) -> list[tuple[list[BaseMessage], dict[str, Any]]]:
        return self._calls

    @property
    def _llm_type(self) -> str:
        return "fake"

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        with self._lock:
            self._calls.append((list(messages), dict(kwargs)))
            if self._queue:
                reply = self._queue.popleft()
            elif self._responder is not None:
                reply = self._responder(messages, kwargs)
            else:
                raise AssertionError("FakeChatModel has no reply queued")
        if isinstance(reply, BaseException):
            raise reply
        prompt_words = sum(len(str(m.content).split()) for m in messages)
        out_words = len(reply.split())
        message = AIMessage(
            content=reply,
            usage_metadata=UsageMetadata(
                input_tokens=prompt_words, output_tokens=out_words, total_tokens=prompt_words + out_words
            ),
            response_metadata={"finish_reason": "stop"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


_WORD = re.compile(r"[a-z0-9]+")


class HashEmbedder:
    """Deterministic bag-of-words vectors: texts sharing words are close, unrelated texts are not."""

    name = "hash-embedder"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
            v[h % self.dim] += 1.0 if (h >> 63) else -1.0
        norm = math.sqrt(sum(x * x for x in v))
        if norm == 0:
            v[0] = 1.0
            return v
        return [x / norm for x in v]
