"""Settings in, model clients out (embedders are built in `memory.embeddings`). Nothing is built at
import time."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundhog.core.errors import BadInput
from groundhog.core.settings import ModelSettings, Settings, read_api_key
from groundhog.providers.client import ModelClient, ModeMemory
from groundhog.providers.retry import RetryPolicy

if TYPE_CHECKING:
    import ssl

MODES_FILE = "structured_modes.json"


def build_chat_model(ms: ModelSettings) -> Any:
    """A LangChain chat model for the settings (not yet loaded: the local model loads on first call)."""
    if ms.provider == "local":
        from groundhog.core.extras import require_model

        require_model(ms)
        from groundhog.providers.local import ChatLlamaCpp, bundled_model_path

        path = Path(ms.model).expanduser() if ms.model else bundled_model_path()
        if not path.is_file():
            raise BadInput(f"--model: no GGUF file at {path} (the local provider runs a GGUF file in-process)")
        return ChatLlamaCpp(
            model_path=str(path),
            n_ctx=ms.n_ctx,
            temperature=ms.temperature,
            max_tokens=ms.reply_tokens,
            seed=ms.seed if ms.seed is not None else 0,
        )
    if ms.provider == "openai":
        if not ms.model:
            raise BadInput("--model: the openai provider needs a model name (e.g. --model gpt-4o-mini)")
        from groundhog.providers.endpoint import chat_endpoint

        key = read_api_key(ms.api_key_env, required=ms.base_url is None)
        return chat_endpoint(
            model=ms.model,
            base_url=ms.base_url,
            api_key=key or "not-needed",  # local servers (vLLM, llama.cpp, Ollama) often take no key
            temperature=ms.temperature,
            reply_tokens=ms.reply_tokens,
            timeout_s=ms.timeout_s,
            seed=ms.seed,
            tls=tls_context(),  # one per process: building one reads the CA bundle, ~0.1 s of CPU
        )
    raise BadInput(f"--provider: unknown provider '{ms.provider}' (choose local or openai)")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS context the endpoint clients verify servers with: the SDK's default (certifi's bundle,
    or SSL_CERT_FILE / SSL_CERT_DIR), built once."""
    import httpx2

    return httpx2.create_ssl_context()


def model_label(ms: ModelSettings) -> str:
    if ms.provider == "local":
        from groundhog.providers.local import BUNDLED_MODEL_NAME

        return Path(ms.model).name if ms.model else BUNDLED_MODEL_NAME
    return ms.model or "?"


def build_model_client(settings: Settings, role: str = "babble", chat_model: Any = None) -> ModelClient:
    """The client for a stage ("babble" or "critic"). Tests pass `chat_model` to inject a fake."""
    ms = settings.babble if role == "babble" else settings.critic_model
    model = chat_model if chat_model is not None else build_chat_model(ms)
    r = settings.retry
    return ModelClient(
        model,
        name=model_label(ms),
        base_url=ms.base_url if ms.provider == "openai" else None,
        max_tokens=ms.reply_tokens,
        policy=RetryPolicy(r.attempts, r.initial_s, r.max_wait_s),
        modes=ModeMemory(settings.home / MODES_FILE),
        context_window=ms.window_tokens,
        limits=ms.output_limits,
        legacy_max_tokens=ms.provider == "openai" and ms.base_url is not None,
        async_model_factory=(
            (lambda: build_chat_model(ms)) if chat_model is None and ms.provider == "openai" else None
        ),
    )
