"""Shared fixtures: every test gets its own groundhog home; fakes sit at the model boundary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testkit.fakes import FakeChatModel, HashEmbedder
from testkit.pg_server import PgServer, shared_server


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the run (the exported ONNX embedder, embedded exemplar banks): built once,
    never in the user's own cache."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_cache: Path) -> Path:
    """Point GROUNDHOG_HOME at a temporary folder and clear other GROUNDHOG_* variables."""
    for name in list(os.environ):
        if name.startswith("GROUNDHOG_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("GROUNDHOG_HOME", str(home))
    monkeypatch.setenv("GROUNDHOG_CACHE", str(shared_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if os.environ.get("TEST_DATABASE") == "postgres":  # the whole suite on PostgreSQL: a fresh database each
        monkeypatch.setenv("GROUNDHOG_DATABASE_URL", shared_server().new_database())
    return home


@pytest.fixture
def fake_model() -> FakeChatModel:
    return FakeChatModel()


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
def minilm(shared_cache: Path):
    """The real bundled MiniLM embedder as the tool runs it (onnxruntime), loaded once for the whole run."""
    os.environ.setdefault("GROUNDHOG_CACHE", str(shared_cache))
    from groundhog.memory.onnx_embedder import OnnxMiniLMEmbedder

    embedder = OnnxMiniLMEmbedder()
    embedder.embed(["warm up"])  # export and load now, while GROUNDHOG_CACHE points at the run's cache
    return embedder


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """A real PostgreSQL for the run (testkit/pg_server.py); skipped, loudly, only when it is not installed."""
    return shared_server()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on the run's server."""
    return pg_server.new_database()
