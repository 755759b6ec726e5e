"""Persona definitions: the file format users write, its checks, and the registry of installed personas.

A persona is data, not code, so a researcher can add their own by writing a small TOML or YAML file.
Every problem in such a file is reported with the file and field it sits in, because the user is the one
who has to fix it.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
)

from core.errors import BadInput

STANCE_AXES: tuple[str, ...] = (
    "p_doom",
    "prosaic_methods_work",
    "theory_first",
    "interpretability_promise",
    "oversight_scales",
    "control_over_alignment",
)
"""Axes a persona takes a stance on, each from -1 (strongly disagrees) to 1 (strongly agrees)."""

STANCE_LABELS: dict[str, str] = {
    "p_doom": "things go catastrophically wrong by default",
    "prosaic_methods_work": "today's training methods (RLHF, constitutions) scale into alignment",
    "theory_first": "a theory of agents and abstractions must come before trusting experiments",
    "interpretability_promise": "we can understand what a network computes from its internals",
    "oversight_scales": "human oversight can be amplified to supervise systems smarter than the overseer",
    "control_over_alignment": "safeguards that assume a misaligned model matter more than aligning it",
}
"""What agreeing with each axis means, in words a prompt or a listing can show."""

StanceAxis = Literal[
    "p_doom",
    "prosaic_methods_work",
    "theory_first",
    "interpretability_promise",
    "oversight_scales",
    "control_over_alignment",
]

PERSONA_SUFFIXES: tuple[str, ...] = (".toml", ".yaml", ".yml")
CORPUS_SUFFIXES: tuple[str, ...] = (".md", ".txt")
ID_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Stance = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]

_LIST_NOUNS = {"beliefs": "belief", "methods": "method", "skeptical_of": "thing it is skeptical of"}


class Persona(BaseModel):
    """A simulated researcher: who they are, what they believe, how they write, what they pursue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    name: Text
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=40, max_length=1500)]
    beliefs: list[Text] = Field(min_length=1)
    methods: list[Text] = Field(min_length=1)
    skeptical_of: list[Text] = Field(min_length=1)
    writing_style: Text
    stances: dict[StanceAxis, Stance] = Field(default_factory=dict)
    corpus: str | None = None
    focus: Text

    _source_path: Path | None = PrivateAttr(default=None)

    @field_validator("focus")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value:
            raise ValueError("must be a single line")
        return value

    @field_validator("description")
    @classmethod
    def _one_paragraph(cls, value: str) -> str:
        if re.search(r"\n\s*\n", value):
            raise ValueError("must be a single paragraph (no blank lines)")
        return value

    @field_validator("corpus")
    @classmethod
    def _corpus_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must name a folder, or be left out")
        return value

    @property
    def source_path(self) -> Path | None:
        """The file this persona was loaded from; relative corpus paths resolve against its folder."""
        return self._source_path

    def corpus_dir(self) -> Path | None:
        """The absolute corpus folder, or None when the persona has no grounding writings."""
        if self.corpus is None:
            return None
        folder = Path(self.corpus).expanduser()
        if not folder.is_absolute():
            base = self._source_path.parent if self._source_path else Path.cwd()
            folder = base / folder
        return folder.resolve()

    def stance(self, axis: str) -> float:
        """The stance on one axis; an axis the persona leaves out counts as neutral (0)."""
        return self.stances.get(axis, 0.0)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Installed:
    """What `PersonaRegistry.add` did: the persona, where it was written, and what it displaced."""

    persona: Persona
    path: Path
    replaced: bool  # an earlier user persona with this id was overwritten
    overrides_builtin: bool  # a built-in persona with this id is now hidden by the user's


# ---------------------------------------------------------------- stances


def stance_distance(a: Persona, b: Persona) -> float:
    """Euclidean distance between two personas' stances; a missing axis is neutral."""
    return math.sqrt(sum((a.stance(axis) - b.stance(axis)) ** 2 for axis in STANCE_AXES))


def most_different(persona: Persona, others: Iterable[Persona]) -> Persona:
    """The persona whose stances differ most, so a cross-critic attacks from the far side.

    Ties go to the smallest id, so the choice is the same every run.
    """
    candidates = sorted((p for p in others if p.id != persona.id), key=lambda p: p.id)
    if not candidates:
        raise BadInput(f"no persona other than '{persona.id}' to critique it")
    return max(candidates, key=lambda p: stance_distance(persona, p))


# ---------------------------------------------------------------- reading and checking files


def _parse(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Read a persona file into a mapping, or say in one phrase why it cannot be read."""
    suffix = path.suffix.lower()
    if suffix not in PERSONA_SUFFIXES:
        return None, f"unsupported file type '{path.suffix or '(none)'}' (use .toml, .yaml or .yml)"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, "file not found"
    except IsADirectoryError:
        return None, "is a folder, not a persona file"
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if suffix == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            return None, f"TOML syntax error: {exc}"
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            return None, f"YAML syntax error{_yaml_where(exc)}: {_yaml_problem(exc)}"
    if data is None:
        return None, "is empty"
    if not isinstance(data, dict):
        return None, f"must hold a table of fields at the top level (got {type(data).__name__})"
    return data, None


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return ""
    return f" at line {mark.line + 1}, column {mark.column + 1}"


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    return str(problem) if problem else str(exc).splitlines()[0]


def _field_name(loc: Sequence[int | str]) -> str:
    """('stances', 'p_doom') -> 'stances.p_doom'; ('beliefs', 0) -> 'beliefs[0]'."""
    name = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: Any) -> str:
    """Turn one pydantic error into the words a persona author needs."""
    kind: str = error["type"]
    loc: tuple[int | str, ...] = tuple(error["loc"])
    field = _field_name(loc)
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"unknown field '{field}'"
    if kind == "missing":
        return f"field '{field}': is required"
    if kind == "literal_error" and loc[:1] == ("stances",):
        return f"field '{field}': unknown stance axis (known: {', '.join(STANCE_AXES)})"
    if kind in {"greater_than_equal", "less_than_equal"}:
        return f"field '{field}': must be between -1 and 1 (got {_short(value)})"
    if kind == "finite_number":
        return f"field '{field}': must be a finite number between -1 and 1"
    if kind in {"float_type", "float_parsing"}:
        return f"field '{field}': must be a number between -1 and 1 (got {_short(value)})"
    if kind == "too_short" and len(loc) == 1:
        noun = _LIST_NOUNS.get(str(loc[0]), "entry")
        return f"field '{field}': must list at least one {noun}"
    if kind == "string_too_short":
        if ctx.get("min_length", 1) <= 1:
            return f"field '{field}': must not be empty"
        return f"field '{field}': must be at least {ctx['min_length']} characters (got {len(value)})"
    if kind == "string_too_long":
        return f"field '{field}': must be at most {ctx['max_length']} characters (got {len(value)})"
    if kind == "string_pattern_mismatch" and field == "id":
        return (
            f"field 'id': must be a slug of 2-40 lowercase letters, digits and '-', "
            f"starting with a letter (got {_short(value)})"
        )
    if kind == "string_type":
        return f"field '{field}': must be text (got {type(value).__name__})"
    if kind == "list_type":
        return f"field '{field}': must be a list of text (got {type(value).__name__})"
    if kind == "dict_type":
        return f"field '{field}': must be a table of axis = number (got {type(value).__name__})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"field '{field}': {message[:1].lower()}{message[1:]}"


def _corpus_problem(folder: Path) -> str | None:
    if not folder.exists():
        return f"folder not found: {folder}"
    if not folder.is_dir():
        return f"is not a folder: {folder}"
    if not _corpus_paths(folder):
        return f"folder has no .md or .txt files: {folder}"
    return None


def _inspect(path: Path, corpus: Path | None = None) -> tuple[Persona | None, list[str]]:
    """Parse, validate and check the corpus of one file; the persona only when there is no problem.

    `corpus` stands in for the file's own corpus field (the `--corpus` option of `personas add`).
    """
    data, failure = _parse(path)
    if data is None:
        return None, [f"{path}: {failure}"]
    corpus_label = "field 'corpus'"
    if corpus is not None:
        data["corpus"] = str(corpus.expanduser().resolve())
        corpus_label = "option --corpus"
    problems: list[str] = []
    persona: Persona | None = None
    try:
        persona = Persona.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors(include_url=False)]
    corpus = data.get("corpus")
    if isinstance(corpus, str) and corpus.strip():
        folder = Path(corpus).expanduser()
        folder = folder if folder.is_absolute() else path.parent / folder
        trouble = _corpus_problem(folder.resolve())
        problems += [f"{corpus_label}: {trouble}"] if trouble else []
    if problems:
        return None, [f"{path}: {problem}" for problem in problems]
    assert persona is not None
    persona._source_path = path.resolve()
    return persona, []


def check_persona_file(path: Path | str) -> list[str]:
    """Every problem in a persona file, each naming the file and the field; empty when the file is fine."""
    return _inspect(Path(path))[1]


def load_persona_file(path: Path | str) -> Persona:
    """Load one persona file, failing with one line that names the file and its first problem."""
    persona, problems = _inspect(Path(path))
    if persona is None:
        more = f" (and {len(problems) - 1} more; see 'groundhog personas check')" if len(problems) > 1 else ""
        raise BadInput(problems[0] + more)
    return persona


# ---------------------------------------------------------------- writing TOML


def _toml_string(value: str) -> str:
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def persona_to_toml(persona: Persona, *, corpus: str | None = None) -> str:
    """Serialize a persona as TOML (the schema is flat: text, lists of text, one table of numbers).

    `corpus` replaces the stored corpus path, so an installed copy can point at an absolute folder.
    """
    data = persona.model_dump()
    data["corpus"] = corpus if corpus is not None else persona.corpus
    lines: list[str] = []
    for key, value in data.items():
        if key == "stances" or value is None:
            continue
        if isinstance(value, list):
            lines.append(f"{key} = [")
            lines += [f"    {_toml_string(item)}," for item in value]
            lines.append("]")
        else:
            lines.append(f"{key} = {_toml_string(value)}")
    lines += ["", "[stances]"]
    lines += [f"{axis} = {float(value)!r}" for axis, value in data["stances"].items()]
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, so a crash never leaves half a persona."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- registry


def builtin_dir() -> Path:
    """Where the built-in persona files ship, next to this module."""
    return Path(__file__).resolve().parent / "builtin"


class PersonaRegistry:
    """Built-in personas plus the user's from `<home>/personas/`; a user file wins on a shared id."""

    def __init__(self, home: Path | str, *, builtins: Path | None = None) -> None:
        self.home = Path(home)
        self.builtins = builtins if builtins is not None else builtin_dir()
        self._cache: dict[str, Persona] | None = None

    @property
    def user_dir(self) -> Path:
        return self.home / "personas"

    def _load(self) -> dict[str, Persona]:
        if self._cache is None:
            found: dict[str, Persona] = {}
            for folder in (self.builtins, self.user_dir):
                for file in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
                    persona = load_persona_file(file)
                    found[persona.id] = persona
            self._cache = found
        return self._cache

    def builtin_ids(self) -> set[str]:
        """Ids shipped with groundhog, whether or not a user persona hides them."""
        files = sorted(self.builtins.glob("*.toml")) if self.builtins.is_dir() else []
        return {load_persona_file(file).id for file in files}

    def all(self) -> list[Persona]:
        """Every available persona, sorted by id."""
        return sorted(self._load().values(), key=lambda p: p.id)

    def get(self, name: str) -> Persona:
        """Find a persona by id or display name, ignoring case; a miss suggests the nearest name."""
        wanted = name.strip().casefold()
        personas = self.all()
        for persona in personas:
            if wanted in (persona.id.casefold(), persona.name.casefold()):
                return persona
        raise BadInput(_unknown_message(name, personas))

    def add(self, path: Path | str, *, corpus: Path | str | None = None) -> Installed:
        """Validate a persona file and install it as `<home>/personas/<id>.toml`.

        `corpus` (a folder) replaces the file's own corpus. The installed copy stores the corpus as an
        absolute path, so it still resolves after the copy moves away from the original file.
        """
        source = Path(path)
        persona, problems = _inspect(source, Path(corpus) if corpus is not None else None)
        if persona is None:
            raise BadInput("; ".join(problems))
        folder = persona.corpus_dir()
        target = self.user_dir / f"{persona.id}.toml"
        replaced = target.exists()
        overrides_builtin = persona.id in self.builtin_ids()
        _write_atomic(target, persona_to_toml(persona, corpus=str(folder) if folder else None))
        self._cache = None
        return Installed(
            persona=load_persona_file(target),
            path=target,
            replaced=replaced,
            overrides_builtin=overrides_builtin,
        )


def _unknown_message(name: str, personas: Sequence[Persona]) -> str:
    known = ", ".join(p.id for p in personas) or "none"
    by_key: dict[str, str] = {}
    for persona in personas:
        by_key.setdefault(persona.id.casefold(), persona.id)
        by_key.setdefault(persona.name.casefold(), persona.id)
    close = difflib.get_close_matches(name.strip().casefold(), list(by_key), n=1, cutoff=0.6)
    hint = f"; did you mean '{by_key[close[0]]}'?" if close else ""
    return f"unknown persona '{name}' (known: {known}){hint}"


# ---------------------------------------------------------------- grounding corpus


def _corpus_paths(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in CORPUS_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def corpus_files(persona: Persona) -> list[Path]:
    """The persona's grounding writings (.md and .txt under its corpus folder), in a stable order."""
    folder = persona.corpus_dir()
    if folder is None:
        return []
    if not folder.is_dir():
        raise BadInput(f"persona '{persona.id}': corpus folder not found: {folder}")
    return _corpus_paths(folder)


def _split_long(paragraph: str, max_chars: int) -> Iterator[str]:
    """Break a paragraph that is too long at sentence ends, then between words."""
    for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
        if len(sentence) <= max_chars:
            yield sentence
            continue
        line = ""
        for word in sentence.split():
            while len(word) > max_chars:  # a single word longer than a chunk: the one forced cut
                if line:
                    yield line
                    line = ""
                yield word[:max_chars]
                word = word[max_chars:]
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= max_chars:
                line += " " + word
            else:
                yield line
                line = word
        if line:
            yield line


def _pieces(text: str, max_chars: int) -> Iterator[tuple[str, str]]:
    """(separator, piece) pairs: paragraphs, or parts of a paragraph too long to be one chunk."""
    for raw in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        paragraph = raw.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            yield "\n\n", paragraph
            continue
        for index, part in enumerate(_split_long(paragraph, max_chars)):
            yield ("\n\n" if index == 0 else " "), part


def _tail(text: str, limit: int) -> str:
    """The last words of `text` that fit in `limit` characters, cut only between words."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text.strip()
    start = len(text) - limit
    if not text[start - 1].isspace():
        match = re.search(r"\s", text[start:])
        if match is None:
            return ""
        start += match.start()
    return text[start:].strip()


def chunk_text(text: str, max_chars: int = 1200, overlap: int = 150) -> list[str]:
    """Split writing into chunks of at most `max_chars` for embedding, on paragraph breaks where possible.

    Each chunk after the first starts with up to `overlap` characters from the end of the previous one, so
    an idea that straddles a boundary is still retrievable. Cuts fall between words, except inside a single
    word longer than `max_chars`.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    if not 0 <= overlap < max_chars:
        raise ValueError("overlap must be at least 0 and less than max_chars")
    chunks: list[str] = []
    current = ""
    for separator, piece in _pieces(text, max_chars):
        if not current:
            current = piece
        elif len(current) + len(separator) + len(piece) <= max_chars:
            current += separator + piece
        else:
            chunks.append(current)
            tail = _tail(current, min(overlap, max_chars - len(piece) - len(separator)))
            current = tail + separator + piece if tail else piece
    if current:
        chunks.append(current)
    return chunks
