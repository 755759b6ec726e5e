"""`groundhog doctor`: check each part and run one tiny generation and one embedding."""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

from pydantic import BaseModel, Field

from groundhog.compose.services import Services
from groundhog.core.errors import GroundhogError


class Check(BaseModel):
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    info: dict[str, Any] = Field(default_factory=dict)


class Probe(BaseModel):
    """The tiny structured generation doctor asks for."""

    word: str = Field(max_length=40)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _run(name: str, fn: Callable[[], tuple[str, dict[str, Any]]]) -> Check:
    start = time.perf_counter()
    try:
        detail, info = fn()
        return Check(name=name, ok=True, detail=detail, info=info, seconds=time.perf_counter() - start)
    except GroundhogError as exc:
        return Check(name=name, ok=False, detail=str(exc), seconds=time.perf_counter() - start)
    except Exception as exc:
        detail = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        return Check(name=name, ok=False, detail=detail, seconds=time.perf_counter() - start)


def run_checks(services: Services, cluster: Callable[[], tuple[str, dict[str, Any]]] | None = None) -> list[Check]:
    """Every part's check; with `cluster` (the command's `--ray` check) also the Ray cluster and its workers."""
    s = services.settings

    def home() -> tuple[str, dict[str, Any]]:
        services.ensure_home()
        return str(s.home), {"path": str(s.home)}

    def chat(role: str) -> Callable[[], tuple[str, dict[str, Any]]]:
        def check() -> tuple[str, dict[str, Any]]:
            client = services.babble_model if role == "babble" else services.critic_model
            ms = s.babble if role == "babble" else s.critic_model
            info: dict[str, Any] = {"provider": ms.provider, "model": client.name}
            if ms.provider == "local":
                info["path"] = getattr(client.chat_model, "model_path", None)
                info["llama_cpp_python"] = _version("llama-cpp-python")
            else:
                info["base_url"] = ms.base_url or "https://api.openai.com/v1"
                info["api_key_env"] = ms.api_key_env
            reply = client.structured(
                [("user", 'Reply with a JSON object {"word": ...} holding one English word.')],
                Probe,
                max_tokens=24,
            )
            info.update(mode=reply.mode, tokens=reply.usage.total_tokens)
            return f"{client.name}: replied {reply.value.word!r} ({reply.mode})", info

        return check

    def embedder() -> tuple[str, dict[str, Any]]:
        emb = services.embedder
        vec = emb.embed(["a tiny test sentence"])[0]
        info = {"name": emb.name, "dim": len(vec), "path": str(getattr(emb, "path", "")) or None}
        info["sentence_transformers"] = _version("sentence-transformers")
        return f"{emb.name}: {len(vec)} dimensions", info

    def chroma() -> tuple[str, dict[str, Any]]:
        where = str(s.home / "chroma")
        if s.chroma_url:  # its heartbeat first: one line naming chroma_url when it does not answer
            from groundhog.memory.chroma_server import check_chroma_server

            where = check_chroma_server(s.chroma_url)
        n = services.log.count()
        return f"{where}: {n} entries", {"entries": n, "chromadb": _version("chromadb"), "where": where}

    def sqlite() -> tuple[str, dict[str, Any]]:
        found = services.db.describe()  # PostgreSQL: `where` is database_url, password redacted
        counts = services.queue.counts()
        line = f"{found['where']}: schema revision {found['schema']}, {found['journal']}"
        return line, {"schema": found["schema"], "journal": found["journal"], "queue": counts}

    checks = [_run("home", home)]
    if not checks[0].ok:
        return checks
    checks.append(_run("babble model", chat("babble")))
    if s.critic is not None:
        checks.append(_run("critic model", chat("critic")))
    checks += [_run("embedder", embedder), _run("vector store", chroma), _run("queue database", sqlite)]
    if cluster is not None:
        checks.append(_run("ray cluster", cluster))
    return checks
