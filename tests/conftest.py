"""Shared fixtures: every test gets its own groundhog home; fakes sit at the model boundary."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeChatModel, HashEmbedder


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point GROUNDHOG_HOME at a temporary folder and clear other GROUNDHOG_* variables."""
    for name in list(os.environ):
        if name.startswith("GROUNDHOG_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("GROUNDHOG_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture
def fake_model() -> FakeChatModel:
    return FakeChatModel()


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
def minilm():
    """The real bundled MiniLM embedder, loaded once for the whole run."""
    from groundhog.memory.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()
