"""The real parts, offline: the embedded SmolLM2 model, the bundled MiniLM embedder, Chroma and doctor.

Slow (the model and the embedder load once per run), so marked `integration`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.records import LogEntry
from groundhog.core.settings import load_settings
from groundhog.memory.embeddings import MiniLMEmbedder
from groundhog.memory.store import LogStore, open_chroma
from groundhog.providers.factory import build_model_client

pytestmark = pytest.mark.integration


class Topic(BaseModel):
    """Small on purpose: the 135M model stays coherent only for a few dozen tokens."""

    topic: str = Field(max_length=30)
    score: int = Field(ge=1, le=5)


def test_smollm2_fills_a_small_record() -> None:
    settings = load_settings(babble={"seed": 7, "temperature": 0.2})
    settings.home.mkdir(parents=True, exist_ok=True)
    client = build_model_client(settings)
    result = client.structured(
        [("user", "Name one topic in AI safety research and rate its importance from 1 to 5, as JSON.")],
        Topic,
        max_tokens=48,
    )
    assert isinstance(result.value, Topic)
    assert result.value.topic.strip()
    assert result.mode == "json_schema"  # the local model takes the schema as a grammar
    assert 0 < result.usage.completion_tokens <= 48
    assert result.usage.prompt_tokens > 0
    assert client.usage == result.usage


@pytest.fixture
def minilm_store(tmp_path: Path, minilm: MiniLMEmbedder) -> Iterator[LogStore]:
    client = open_chroma(tmp_path)
    yield LogStore(client, minilm)
    client.close()


def test_minilm_puts_similar_sentences_nearer(minilm: MiniLMEmbedder, minilm_store: LogStore) -> None:
    honest, truthful, bread = minilm.embed(
        [
            "How can we check whether a language model is being honest?",
            "Testing if an AI system tells the truth about what it knows.",
            "Knead the sourdough and let it rise overnight before baking.",
        ]
    )
    assert len(honest) == 384

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(honest, truthful) > cos(honest, bread) + 0.2

    texts: dict[str, str] = {
        "elk": "Eliciting latent knowledge: getting a model to report what it believes is true.",
        "bread": "Knead the sourdough and let it rise overnight before baking.",
        "football": "The match ended in a draw after extra time.",
    }
    minilm_store.add([LogEntry(id=k, persona="p", kind="notebook", text=v) for k, v in texts.items()])
    hits = minilm_store.search("detecting whether an AI is lying", k=3)
    assert hits[0][0].id == "elk"
    assert hits[0][1] > hits[1][1]


def test_doctor_with_the_real_parts(isolated_home: Path) -> None:
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["ok"] is True
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) >= {"home", "babble model", "embedder", "vector store", "queue database"}
    assert all(c["ok"] for c in checks.values()), [c for c in checks.values() if not c["ok"]]
    assert checks["embedder"]["info"]["dim"] == 384
    assert checks["babble model"]["info"]["provider"] == "local"
    if os.environ.get("GROUNDHOG_DATABASE_URL"):  # the suite on PostgreSQL: the queue is there, not in a file
        assert checks["queue database"]["info"]["journal"] == "postgresql"
    else:
        assert (isolated_home / "groundhog.db").is_file()
