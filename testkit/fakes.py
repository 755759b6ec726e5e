"""Fakes at the model boundary: a scripted LangChain chat model and a deterministic embedder."""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from groundhog.core.records import LogEntry
from testkit.requests import ChatRequest, UnknownSchema, chat_request

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
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
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


# -- a scripted researcher: valid replies for every schema the loop asks for ----------------------


JUDGING = ("CriticJudgment", "CriticJudgmentPriorArt")  # the critic's schemas that ask the manipulation question


class ScriptedResearcher:
    """A responder for FakeChatModel that plays every role of the loop with valid JSON.

    The role is the schema asked for (`testkit.requests`); a schema it has no reply for raises
    `UnknownSchema` naming it. What it answers with is read from the request's data: the persona of the
    frame, the idea under judgment. Ideas are numbered per persona so runs are deterministic whatever
    order personas interleave in. `scores(persona, n)` decides the critic's rubric; `idea_text(persona, n)`
    the idea's words.
    """

    def __init__(
        self,
        *,
        ideas_per_call: int = 2,
        scores: Callable[[str, int], int] | None = None,
        idea_text: Callable[[str, int], tuple[str, str]] | None = None,
        builds_on: Callable[[str, str], list[str]] | None = None,
        by_prompt: bool = False,
        already_done: Callable[[ChatRequest], str | None] | None = None,
        manipulative: Callable[[ChatRequest], bool] | None = None,
    ) -> None:
        self.ideas_per_call = ideas_per_call
        # a critic asked the manipulation question: its answer (by default: not manipulative)
        self.manipulative = manipulative or (lambda request: False)
        # a critic shown papers of the library: the paper it names as having done the idea, or None
        self.already_done = already_done or (lambda request: None)
        self.scores = scores or (lambda persona, n: 7)
        self.idea_text = idea_text or self._default_text
        self.builds_on = builds_on or (lambda persona, prompt: re.findall(r"\[(N\d+)\]", prompt)[:1])
        self.by_prompt = by_prompt  # number ideas by a hash of the prompt: identical across restarts
        self.counters: dict[str, int] = {}
        self.prompts: dict[str, list[str]] = {}  # persona -> babble prompts, in order
        self._lock = threading.Lock()
        self.replies: dict[str, Callable[[ChatRequest], dict[str, Any]]] = {
            "BabbleOutput": self._babble,
            "CriticOutput": self._critique,
            "CriticJudgment": self._critique,
            "CriticPriorArt": self._critique,
            "CriticJudgmentPriorArt": self._critique,
            "PairwiseOutput": self._compare,
            "NotebookOutput": self._notebook,
            "IdeaDraft": self._revise,
            "Probe": lambda request: {"word": "hello"},
        }

    @staticmethod
    def _default_text(persona: str, n: int) -> tuple[str, str]:
        topics = [
            "probing",
            "debate",
            "monitoring",
            "abstractions",
            "ablations",
            "honeypots",
            "oversight",
            "steering",
            "evaluations",
            "sandbagging",
            "circuits",
            "reward models",
        ]
        topic = topics[(n + len(persona)) % len(topics)]
        title = f"{persona} study {n} of {topic}"
        summary = (
            f"{persona} proposes experiment number {n} on {topic} with small transformer models, "
            f"measuring how {topic} changes under distribution shift {n * 7 % 13}."
        )
        return title, summary

    def __call__(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        request = chat_request(messages, kwargs)
        if request.schema is None:
            return "plain reply"
        reply = self.replies.get(request.schema)
        if reply is None:
            raise UnknownSchema("ScriptedResearcher", request.schema)
        return json.dumps(reply(request))

    def _babble(self, request: ChatRequest) -> dict[str, Any]:
        persona, prompt = request.persona or "someone", request.prompt
        with self._lock:
            self.prompts.setdefault(persona, []).append(prompt)
            ideas = []
            base = int(hashlib.sha256(prompt.encode()).hexdigest()[:6], 16) * 10 if self.by_prompt else None
            for k in range(self.ideas_per_call):
                if base is not None:
                    n = base + k
                else:
                    n = self.counters.get(persona, 0) + 1
                    self.counters[persona] = n
                title, summary = self.idea_text(persona, n)
                ideas.append(
                    {
                        "title": title,
                        "summary": summary,
                        "rationale": f"It tests a claim {persona} cares about.",
                        "builds_on": self.builds_on(persona, prompt),
                    }
                )
        return {"thinking": f"{persona} thinks about the notebook.", "ideas": ideas}

    def _critique(self, request: ChatRequest) -> dict[str, Any]:
        found = re.search(r"study (\d+)", request.title or "")
        s = self.scores(request.idea_author or "someone", int(found.group(1)) if found else 0)
        return {
            "reasoning": f"{request.persona or 'someone'} weighs it carefully.",
            "novelty": s,
            "feasibility": s,
            "relevance": s,
            "clarity": s,
            "weakest_point": "the sample is small",
            **self._prior_art(request),
            **({"manipulative": self.manipulative(request)} if request.schema in JUDGING else {}),
        }

    def _prior_art(self, request: ChatRequest) -> dict[str, Any]:
        if request.schema not in ("CriticPriorArt", "CriticJudgmentPriorArt"):
            return {}
        paper = self.already_done(request)
        return {"already_done": paper is not None, "prior_art_paper": paper or ""}

    def _compare(self, request: ChatRequest) -> dict[str, Any]:
        """A pairwise comparison (groundhog rank): the idea the critic scores higher."""
        studies = re.findall(r"Title: (\S+) study (\d+)", request.prompt)
        a, b = (self.scores(who, int(n)) for who, n in studies[:2]) if len(studies) >= 2 else (0, 0)
        return {"comparison": f"{request.persona or 'someone'} compares them.", "better": "B" if b > a else "A"}

    def _notebook(self, request: ChatRequest) -> dict[str, Any]:
        return {
            "tried": f"{request.persona or 'someone'} tried some ideas.",
            "failed": "some failed the critique.",
            "next": "try a sharper variant.",
        }

    def _revise(self, request: ChatRequest) -> dict[str, Any]:
        base = request.title or "idea"
        return {
            "title": f"{base} (revised)",
            "summary": f"A sharper version of {base} with controls.",
            "rationale": "answers the critique",
            "builds_on": [],
        }


def make_services(home: Any, model: BaseChatModel, embedder: Any = None, **flags: Any) -> Any:
    """Services wired with fakes at the model boundary and real stores in `home`."""
    from groundhog.compose.services import Services
    from groundhog.core.settings import load_settings

    settings = load_settings(home, **flags)
    return Services(settings, chat_model=model, embedder=embedder or HashEmbedder())


class _Msg:
    def __init__(self, content: str) -> None:
        self.content = content


def http_responder(script: ScriptedResearcher) -> Callable[[dict[str, Any]], str]:
    """Adapt a ScriptedResearcher to FakeOpenAIServer's responder (it receives the request body)."""

    def respond(body: dict[str, Any]) -> str:
        messages = [_Msg(str(m.get("content", ""))) for m in body.get("messages", [])]
        return script(messages, {"response_format": body.get("response_format")})  # type: ignore[arg-type]

    return respond


ENTRY_TIME = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def log_entry(
    entry_id: str, text: str, *, persona: str = "simplicia", kind: str = "notebook", hours: float = 0
) -> LogEntry:
    """A log entry of session s1, day 1, written `hours` after 09:00 on 2026-11-23; an idea has a title."""
    return LogEntry(
        id=entry_id,
        persona=persona,
        session="s1",
        day=1,
        kind=kind,  # type: ignore[arg-type]
        text=text,
        created_at=ENTRY_TIME + timedelta(hours=hours),
        meta={"title": text[:40]} if kind == "idea" else {},
    )
