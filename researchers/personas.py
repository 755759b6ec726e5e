"""Persona definitions: the file format users write, its checks, and the registry of installed personas.

A persona is data, not code, so a researcher can add their own by writing a small TOML or YAML file.
Every problem in such a file is reported with the file and field it sits in, because the user is the one
who has to fix it.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from groundhog.core.errors import BadInput
from groundhog.core.files import write_atomic
from groundhog.researchers.corpus import chunk_text, corpus_chunks, corpus_files, corpus_paths
from groundhog.researchers.model import (
    CORPUS_SUFFIXES,
    ID_PATTERN,
    PERSONA_SUFFIXES,
    SLUG_RULE,
    STANCE_AXES,
    STANCE_LABELS,
    Installed,
    Persona,
    StanceAxis,
    check_slug,
    most_different,
    stance_distance,
)

_LIST_NOUNS = {"beliefs": "belief", "methods": "method", "skeptical_of": "thing it is skeptical of"}

__all__ = [
    "CORPUS_SUFFIXES",
    "ID_PATTERN",
    "PERSONA_SUFFIXES",
    "STANCE_AXES",
    "STANCE_LABELS",
    "Installed",
    "Persona",
    "PersonaRegistry",
    "StanceAxis",
    "builtin_dir",
    "check_persona_file",
    "check_slug",
    "chunk_text",
    "corpus_chunks",
    "corpus_files",
    "expand_persona_paths",
    "load_persona_file",
    "most_different",
    "persona_to_toml",
    "stance_distance",
]

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


def describe_problem(error: Any) -> str:
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
    if kind == "string_pattern_mismatch" and field in ("id", "parent", "group"):
        return f"field '{field}': must be {SLUG_RULE} (got {_short(value)})"
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
    if not corpus_paths(folder):
        return f"folder has no {', '.join(CORPUS_SUFFIXES)} files: {folder}"
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
        problems = [describe_problem(error) for error in exc.errors(include_url=False)]
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
        installed, problems = self.add_many([Path(path)], corpus=corpus)
        if problems:
            raise BadInput("; ".join(problems))
        return installed[0]

    def add_many(
        self, paths: Sequence[Path | str], *, corpus: Path | str | None = None
    ) -> tuple[list[Installed], list[str]]:
        """Install every good persona file among `paths` (a folder stands for its `*.toml` files, sorted).

        Returns what was installed and one line per refused file (naming it); a bad file never stops the
        others. The built-in ids are read once for the whole batch.
        """
        override = Path(corpus) if corpus is not None else None
        personas: list[Persona] = []
        problems: list[str] = []
        for file in expand_persona_paths(paths, problems):
            persona, trouble = _inspect(file, override)
            if persona is None:
                problems.append("; ".join(trouble))
            else:
                personas.append(persona)
        return self.install(personas), problems

    def install(self, personas: Sequence[Persona]) -> list[Installed]:
        """Write valid personas into `<home>/personas/`, each as `<id>.toml` (an id already there is replaced)."""
        builtin = self.builtin_ids() if personas else set()
        self.user_dir.mkdir(parents=True, exist_ok=True)
        out: list[Installed] = []
        for persona in personas:
            folder = persona.corpus_dir()
            target = self.user_dir / f"{persona.id}.toml"
            replaced = target.exists()
            write_atomic(target, persona_to_toml(persona, corpus=str(folder) if folder else None))
            stored = persona.model_copy(update={"corpus": str(folder) if folder else None})
            stored._source_path = target
            out.append(
                Installed(persona=stored, path=target, replaced=replaced, overrides_builtin=persona.id in builtin)
            )
        self._cache = None
        return out

    def in_group(self, group: str) -> list[Persona]:
        """Every available persona of one group, sorted by id; an unknown group names the known ones."""
        people = self.all()
        found = [p for p in people if p.group == group.strip()]
        if not found:
            known = ", ".join(sorted({p.group for p in people if p.group})) or "none"
            raise BadInput(f"--persona-group: unknown group '{group}' (known: {known})")
        return found


def expand_persona_paths(paths: Sequence[Path | str], problems: list[str]) -> list[Path]:
    """Files as given, folders as their `*.toml` files in name order; an empty folder is a problem."""
    files: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            inside = sorted(f for f in given.glob("*.toml") if f.is_file())
            if not inside:
                problems.append(f"{given}: folder has no .toml persona files")
            files += inside
        else:
            files.append(given)
    return files


def _unknown_message(name: str, personas: Sequence[Persona]) -> str:
    known = ", ".join(p.id for p in personas) or "none"
    by_key: dict[str, str] = {}
    for persona in personas:
        by_key.setdefault(persona.id.casefold(), persona.id)
        by_key.setdefault(persona.name.casefold(), persona.id)
    close = difflib.get_close_matches(name.strip().casefold(), list(by_key), n=1, cutoff=0.6)
    hint = f"; did you mean '{by_key[close[0]]}'?" if close else ""
    return f"unknown persona '{name}' (known: {known}){hint}"
