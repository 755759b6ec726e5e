"""One typed settings object. Precedence, lowest to highest: defaults, `groundhog.toml` in the home,
`GROUNDHOG_*` environment variables, command-line flags."""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from groundhog.core.errors import BadInput

CONFIG_FILE = "groundhog.toml"
ProviderName = Literal["local", "openai"]


def default_home() -> Path:
    """A per-user data directory (e.g. ~/.local/share/groundhog)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("groundhog", appauthor=False))


class OutputLimits(BaseModel):
    """Hard length limits (characters) on a model's structured replies. They bound a grammar-constrained
    decoder (the embedded model would otherwise ramble until its token limit); endpoint models get none
    by default: their prompt asks for a length and whatever they write is kept whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: int = Field(default=100, ge=20)
    summary: int = Field(default=420, ge=50)
    rationale: int = Field(default=300, ge=20)
    thinking: int = Field(default=500, ge=20)
    note: int = Field(default=300, ge=20)
    reasoning: int = Field(default=700, ge=50)
    weakest_point: int = Field(default=250, ge=20)


DEFAULT_CONTEXT_TOKENS = {"local": None, "openai": 32768}  # local: n_ctx; an endpoint: set context_tokens
DEFAULT_MAX_TOKENS = {"local": 512, "openai": 4096}


class ModelSettings(BaseModel):
    """Which chat model a stage uses. The babble model and the critic model are set separately."""

    model_config = ConfigDict(extra="forbid")

    provider: ProviderName = "local"
    model: str | None = None  # local: path to a GGUF (default: the bundled SmolLM2); openai: model name
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"  # the *name* of the variable holding the key; the key is never stored
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=16, le=131072)  # per reply; default per provider
    timeout_s: float = Field(default=120.0, gt=0)
    n_ctx: int = Field(default=4096, ge=512)  # local only: context window
    context_tokens: int | None = Field(default=None, ge=512)  # the model's window; default per provider
    bounded: bool | None = None  # hard length limits on replies; default: local only
    limits: OutputLimits = Field(default_factory=OutputLimits)
    seed: int | None = None

    @property
    def reply_tokens(self) -> int:
        return self.max_tokens or DEFAULT_MAX_TOKENS[self.provider]

    @property
    def window_tokens(self) -> int:
        """The context window the wake-up is fitted to: the local model's n_ctx, or the endpoint's."""
        return self.context_tokens or DEFAULT_CONTEXT_TOKENS[self.provider] or self.n_ctx

    @property
    def output_limits(self) -> OutputLimits | None:
        """The limits in force: the embedded model's grammar needs them; endpoint models get none."""
        bounded = self.provider == "local" if self.bounded is None else self.bounded
        return self.limits if bounded else None

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v


class RetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(default=5, ge=1, le=20)
    initial_s: float = Field(default=1.0, gt=0)
    max_wait_s: float = Field(default=30.0, gt=0)


class EmbeddingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: ProviderName = "local"
    backend: Literal["onnx", "torch"] = "onnx"  # local: onnxruntime (fast) or sentence-transformers on torch
    model: str | None = None  # openai: embedding model name
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"


class RetrievalSettings(BaseModel):
    """Weights of the memory-stream score (relevance, recency, importance), as in Generative Agents."""

    model_config = ConfigDict(extra="forbid")

    relevance_weight: float = Field(default=1.0, ge=0)
    recency_weight: float = Field(default=1.0, ge=0)
    importance_weight: float = Field(default=1.0, ge=0)
    recency_decay: float = Field(default=0.9, gt=0, le=1)  # per step back in time
    candidates: int = Field(default=40, ge=1, le=1000)


class CritiqueOptions(BaseModel):
    """The critique options a session saves with itself (`SessionConfig` inherits them)."""

    model_config = ConfigDict(extra="forbid")

    revisions: int = Field(default=1, ge=0, le=5, description="Revision rounds for an idea the critic fails.")
    cross_critic: str | None = Field(
        default=None, description="Second critic in another persona's voice: a persona id, or 'auto'."
    )
    duplicate_threshold: float = Field(
        default=0.8, gt=0, le=1, description="Cosine similarity at which an idea counts as a duplicate."
    )


class CritiqueSettings(CritiqueOptions):
    """Screens and critic. Thresholds left unset are calibrated per provider (see `thresholds_for`)."""

    # The critic as a third manipulation layer; None: on for endpoint models, off for the embedded one.
    critic_judges_manipulation: bool | None = None
    min_mean: float | None = Field(default=None, ge=1, le=10)
    min_each: int | None = Field(default=None, ge=1, le=10)
    min_relevance: int | None = Field(default=None, ge=1, le=10)
    # The share of the ideas the critic rejected (screens' flags aside) queued anyway as audit items, so
    # the reviewer's decisions on them estimate how often the critic is wrong to reject.
    audit_fraction: float = Field(default=0.1, ge=0, le=1)


# The embedded 135M model scores erratically and rarely above the middle of the scale; a strong model's
# scores spread out. These defaults let the first offline run queue something to review, while a
# strong model must earn a pass.
CALIBRATED_THRESHOLDS: dict[str, dict[str, float]] = {
    "local": {"min_mean": 3.5, "min_each": 1, "min_relevance": 2},
    "openai": {"min_mean": 6.0, "min_each": 3, "min_relevance": 5},
}


SharedKind = Literal["feedback", "corpus", "notebook", "idea", "critique"]


class LoopOptions(BaseModel):
    """The loop's options and budgets, declared once: a session saves them (`SessionConfig` inherits
    them) and the `babble` flags take their help, default and bounds from these fields."""

    model_config = ConfigDict(extra="forbid")

    depth: int = Field(default=3, ge=1, le=1000, description="Days each persona lives (loop depth).")
    ideas_per_day: int = Field(default=3, ge=1, le=10, description="Ideas babbled per day.")
    drift_days: int = Field(default=0, ge=0, le=365, description="Days the present moves forward per loop day.")
    review_every: int | None = Field(
        default=None, ge=1, description="Pause for human review every N days (status awaiting-review)."
    )
    max_selection_bits: float | None = Field(
        default=None, gt=0, description="Stop for review when log2(generated/surviving) reaches B bits."
    )
    hours: float | None = Field(default=None, gt=0, description="Wall-clock budget in hours.")
    max_tokens: int | None = Field(default=None, ge=1, description="Token budget (prompt + completion, all calls).")
    max_ideas: int | None = Field(default=None, ge=1, description="Stop after this many surviving ideas.")
    concurrency: int = Field(default=4, ge=1, le=256, description="Model calls in flight at once.")
    shared_kinds: list[SharedKind] = Field(
        default_factory=list, description="Kinds of log entry every persona reads, not only its own."
    )
    seminar_every: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="After every N days, each persona reads the night's best ideas of the other personas "
        "and may combine or refine them (0: no seminar).",
    )


class LoopSettings(LoopOptions):
    """The groundhog-day loop and the overnight session's budgets; what is checked only when a session
    starts (not saved with it) is added here."""

    allow_far_future: bool = Field(default=False, description="Allow a present more than a year past today.")


class Settings(BaseSettings):
    """Everything configurable. Nested values read from env with `__`, e.g. GROUNDHOG_BABBLE__MODEL."""

    model_config = SettingsConfigDict(
        env_prefix="GROUNDHOG_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    home: Path = Field(default_factory=default_home)
    babble: ModelSettings = Field(default_factory=ModelSettings)
    critic: ModelSettings | None = None  # None: the babble model critiques too
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    critique: CritiqueSettings = Field(default_factory=CritiqueSettings)
    loop: LoopSettings = Field(default_factory=LoopSettings)
    chroma_url: str | None = None  # a Chroma server; default is a PersistentClient in the home
    # Where a babble night's store in the home runs: "auto", in Chroma's own server (`chroma run`, a child
    # of the night) when more than one persona runs at once, so its writes leave the night's interpreter
    # free; "on", always; "off", never (the embedded PersistentClient, in the night's process).
    chroma_process: Literal["auto", "on", "off"] = "auto"
    database_url: str | None = None  # postgresql://...; default is the SQLite file in the home

    @property
    def critic_model(self) -> ModelSettings:
        return self.critic or self.babble

    def critic_judges_manipulation(self) -> bool:
        """Whether the critic is asked the manipulation question: as set, else for endpoint models only."""
        judges = self.critique.critic_judges_manipulation
        return self.critic_model.provider == "openai" if judges is None else judges

    def thresholds(self) -> dict[str, float]:
        """Critic thresholds: explicit settings win, else the calibration for the critic's provider;
        with the share of the critic's rejections queued as audit items (`critique.audit_fraction`)."""
        base = dict(CALIBRATED_THRESHOLDS[self.critic_model.provider])
        for key in base:
            value = getattr(self.critique, key)
            if value is not None:
                base[key] = value
        return {**base, "audit_fraction": self.critique.audit_fraction}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First source wins: flags (init kwargs), then GROUNDHOG_* env, then groundhog.toml in the home.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _CONFIG_PATH.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


_CONFIG_PATH: ContextVar[Path | None] = ContextVar("groundhog_config_path", default=None)


def read_config_file(home: Path) -> dict[str, Any]:
    path = home / CONFIG_FILE
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from exc


def resolve_home(home: Path | str | None = None) -> Path:
    """The home: the flag, else GROUNDHOG_HOME, else a per-user data directory."""
    raw = home or os.environ.get("GROUNDHOG_HOME") or default_home()
    return Path(raw).expanduser()


def load_settings(home: Path | str | None = None, **flags: Any) -> Settings:
    """Build the settings: file < env < flags. `flags` use the nested shape, e.g. babble={"model": "x"}.

    Flags whose value is None are ignored, so the CLI can pass every option through unchanged.
    """
    home_path = resolve_home(home)
    values = read_config_file(home_path)  # parsed here first so a syntax error names the file
    if "home" in values:
        raise BadInput(f"{home_path / CONFIG_FILE}: 'home' cannot be set inside the home's own config file")
    token = _CONFIG_PATH.set(home_path / CONFIG_FILE if values else None)
    try:
        return Settings(**_drop_none(flags), home=home_path)
    except ValidationError as exc:
        raise BadInput(_describe_validation(exc, home_path)) from exc
    finally:
        _CONFIG_PATH.reset(token)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            sub = _drop_none(v)
            if sub:
                out[k] = sub
        elif v is not None:
            out[k] = v
    return out


def _describe_validation(exc: ValidationError, home: Path) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    where = f"{home / CONFIG_FILE}, env GROUNDHOG_* or flags"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"setting '{field}': {err['msg']} (from {where}){more}"


def read_api_key(env_name: str, *, required: bool) -> str | None:
    """Read the key from the named variable at call time; it is never stored anywhere."""
    key = os.environ.get(env_name) or None
    if required and not key:
        raise BadInput(f"the openai provider needs an API key: set the environment variable {env_name}")
    return key
