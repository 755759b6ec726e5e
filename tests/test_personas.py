"""Persona files, their checks, the registry, stance geometry and corpus chunking."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import pytest

from groundhog.core.errors import BadInput
from groundhog.researchers.personas import (
    STANCE_AXES,
    Persona,
    PersonaRegistry,
    builtin_dir,
    check_persona_file,
    chunk_text,
    corpus_files,
    load_persona_file,
    most_different,
    persona_to_toml,
    stance_distance,
)

GOOD_TOML = """\
id = "tester"
name = "Tess Ter"
description = "A careful researcher who writes tests before theories and trusts only what fails loudly."
beliefs = ["Tests that cannot fail prove nothing."]
methods = ["Property-based testing"]
skeptical_of = ["Green dashboards"]
writing_style = "Short, dry sentences."
focus = "Find alignment claims that can be turned into failing tests."
corpus = "writing"

[stances]
p_doom = 0.2
theory_first = -0.4
"""


@pytest.fixture
def registry(tmp_path: Path) -> PersonaRegistry:
    return PersonaRegistry(tmp_path / "home")


def write_persona(folder: Path, text: str = GOOD_TOML, name: str = "tester.toml") -> Path:
    (folder / "writing").mkdir(exist_ok=True)
    (folder / "writing" / "one.md").write_text("I test, therefore I am.\n", encoding="utf-8")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- built-ins


def test_builtins_load_with_unique_ids(registry: PersonaRegistry) -> None:
    personas = registry.all()
    ids = [p.id for p in personas]
    assert len(personas) >= 6
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for required in (
        "doomimir",
        "simplicia",
        "abstractions-theorist",
        "interp-empiricist",
        "oversight-researcher",
        "control-evaluator",
    ):
        assert required in ids


def test_builtin_files_are_clean_and_named_by_id() -> None:
    files = sorted(builtin_dir().glob("*.toml"))
    assert len(files) >= 6
    for file in files:
        assert check_persona_file(file) == []
        persona = load_persona_file(file)
        assert persona.id == file.stem
        assert set(persona.stances) == set(STANCE_AXES), persona.id
        assert "\n" not in persona.focus


def test_every_builtin_has_a_grounding_corpus(registry: PersonaRegistry) -> None:
    for persona in registry.all():
        files = corpus_files(persona)
        assert 2 <= len(files) <= 3, persona.id
        words = sum(len(f.read_text(encoding="utf-8").split()) for f in files)
        assert 400 <= words <= 700, (persona.id, words)


def test_builtin_corpora_use_distinct_vocabulary(registry: PersonaRegistry) -> None:
    """A cheap stand-in for the embedding score: each corpus shares most words with itself."""

    def words(persona: Persona) -> set[str]:
        text = " ".join(f.read_text(encoding="utf-8") for f in corpus_files(persona)).lower()
        return {w.strip(".,:;!?()\"'*-") for w in text.split() if len(w) > 5}

    vocab = {p.id: words(p) for p in registry.all()}
    for a, b in itertools.combinations(vocab, 2):
        jaccard = len(vocab[a] & vocab[b]) / len(vocab[a] | vocab[b])
        assert jaccard < 0.2, (a, b, jaccard)


# ---------------------------------------------------------------- checking files


def test_good_file_has_no_problems(tmp_path: Path) -> None:
    path = write_persona(tmp_path)
    assert check_persona_file(path) == []
    persona = load_persona_file(path)
    assert persona.corpus_dir() == (tmp_path / "writing").resolve()
    assert [f.name for f in corpus_files(persona)] == ["one.md"]


def test_check_reports_every_problem_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "persona.toml"
    path.write_text(
        """\
id = "Bad Id!"
name = ""
description = "too short"
beliefs = []
methods = ["ok"]
skeptical_of = "not a list"
favorite_colour = "green"
corpus = "missing-folder"

[stances]
p_doom = 3
vibes = 0.1
""",
        encoding="utf-8",
    )
    problems = check_persona_file(path)
    joined = "\n".join(problems)
    assert all(p.startswith(f"{path}: ") for p in problems)
    assert f"{path}: field 'beliefs': must list at least one belief" in problems
    assert f"{path}: field 'stances.p_doom': must be between -1 and 1 (got 3)" in problems
    assert f"{path}: unknown field 'favorite_colour'" in problems
    for field in ("id", "name", "description", "skeptical_of", "writing_style", "focus", "stances.vibes"):
        assert f"field '{field}'" in joined, field
    assert "field 'corpus': folder not found" in joined
    assert "field 'methods'" not in joined
    with pytest.raises(BadInput) as caught:
        load_persona_file(path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")


def test_check_reports_every_problem_in_yaml(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    path = tmp_path / "persona.yaml"
    path.write_text(
        """\
id: yamler
name: Yam Ler
description: A researcher whose description is long enough to pass the forty character minimum.
beliefs: [""]
methods: []
skeptical_of: [hype]
writing_style: plain
focus: "one\\ntwo"
corpus: empty
stances:
  oversight_scales: -1.5
  theory_first: lots
""",
        encoding="utf-8",
    )
    problems = check_persona_file(path)
    assert f"{path}: field 'beliefs[0]': must not be empty" in problems
    assert f"{path}: field 'methods': must list at least one method" in problems
    assert f"{path}: field 'stances.oversight_scales': must be between -1 and 1 (got -1.5)" in problems
    assert any("field 'stances.theory_first': must be a number" in p for p in problems)
    assert any("field 'focus': must be a single line" in p for p in problems)
    assert any("field 'corpus': folder has no .md, .markdown, .txt, .pdf files" in p for p in problems)
    assert len(problems) == 6


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("broken.toml", 'id = "x"\nname = \n', "line 2"),
        ("broken.yaml", "id: x\nbeliefs: [unclosed\nname: y\n", "line "),
    ],
)
def test_syntax_error_names_file_and_line(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    problems = check_persona_file(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: ")
    assert "syntax error" in problems[0]
    assert expected in problems[0]
    with pytest.raises(BadInput, match="syntax error"):
        load_persona_file(path)


def test_unreadable_inputs_are_named(tmp_path: Path) -> None:
    assert check_persona_file(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}: file not found"]
    other = tmp_path / "persona.json"
    other.write_text("{}", encoding="utf-8")
    assert "unsupported file type '.json'" in check_persona_file(other)[0]
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n", encoding="utf-8")
    assert "table of fields" in check_persona_file(listy)[0]


# ---------------------------------------------------------------- registry


def test_add_installs_and_get_finds_it(tmp_path: Path, registry: PersonaRegistry) -> None:
    source = write_persona(tmp_path)
    installed = registry.add(source)
    assert installed.path == registry.home / "personas" / "tester.toml"
    assert not installed.replaced and not installed.overrides_builtin
    assert registry.get("tester").id == "tester"
    assert registry.get("  TESS ter ").id == "tester"

    stored = tomllib.loads(installed.path.read_text(encoding="utf-8"))
    assert Path(stored["corpus"]).is_absolute()
    source.unlink()
    moved = PersonaRegistry(registry.home).get("tester")
    assert [f.name for f in corpus_files(moved)] == ["one.md"]

    again = registry.add(installed.path)
    assert again.replaced


def test_add_converts_yaml_and_round_trips(tmp_path: Path, registry: PersonaRegistry) -> None:
    data = tomllib.loads(GOOD_TOML)
    data["description"] = 'Quotes " and backslashes \\ and tabs\tsurvive the trip to TOML and back again.'
    lines = [f"{key}: {value!r}" for key, value in data.items() if key != "stances"]
    lines += ["stances:", "  p_doom: 0.2", "  theory_first: -0.4"]
    source = write_persona(tmp_path, "\n".join(lines) + "\n", name="tester.yml")
    original = load_persona_file(source)
    installed = registry.add(source)
    assert installed.path.suffix == ".toml"
    copy = registry.get("tester")
    assert copy.model_dump(exclude={"corpus"}) == original.model_dump(exclude={"corpus"})
    assert copy.corpus_dir() == original.corpus_dir()


def test_add_refuses_bad_file_with_every_problem(tmp_path: Path, registry: PersonaRegistry) -> None:
    bad = GOOD_TOML.replace('beliefs = ["Tests that cannot fail prove nothing."]', "colour = 1\nbeliefs = []")
    path = write_persona(tmp_path, bad)
    with pytest.raises(BadInput) as caught:
        registry.add(path)
    message = str(caught.value)
    assert "field 'beliefs'" in message and "unknown field 'colour'" in message and "; " in message
    assert not (registry.home / "personas" / "tester.toml").exists()


def test_add_with_corpus_option_overrides_the_file(tmp_path: Path, registry: PersonaRegistry) -> None:
    path = write_persona(tmp_path, GOOD_TOML.replace('corpus = "writing"', 'corpus = "gone"'))
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("Another note.\n", encoding="utf-8")
    persona = registry.add(path, corpus=other).persona
    assert [f.name for f in corpus_files(persona)] == ["note.txt"]
    with pytest.raises(BadInput, match="option --corpus: folder not found"):
        registry.add(path, corpus=tmp_path / "absent")


def test_user_persona_overrides_builtin(tmp_path: Path, registry: PersonaRegistry) -> None:
    path = write_persona(tmp_path, GOOD_TOML.replace('id = "tester"', 'id = "doomimir"'))
    installed = registry.add(path)
    assert installed.overrides_builtin
    assert registry.get("doomimir").name == "Tess Ter"
    assert [p.id for p in registry.all()].count("doomimir") == 1


def test_unknown_name_suggests_close_match(registry: PersonaRegistry) -> None:
    with pytest.raises(BadInput) as caught:
        registry.get("doomimr")
    message = str(caught.value)
    assert message.startswith("unknown persona 'doomimr' (known: abstractions-theorist, ")
    assert "did you mean 'doomimir'?" in message
    with pytest.raises(BadInput) as far:
        registry.get("zzzzzz")
    assert "did you mean" not in str(far.value)


def test_get_matches_display_name(registry: PersonaRegistry) -> None:
    for persona in registry.all():
        assert registry.get(persona.name.upper()).id == persona.id


# ---------------------------------------------------------------- stances


def test_doomimir_and_simplicia_are_farthest_apart(registry: PersonaRegistry) -> None:
    personas = registry.all()
    doomimir, simplicia = registry.get("doomimir"), registry.get("simplicia")
    assert most_different(doomimir, personas).id == "simplicia"
    assert most_different(simplicia, personas).id == "doomimir"
    far = stance_distance(doomimir, simplicia)
    for a, b in itertools.combinations(personas, 2):
        assert stance_distance(a, b) <= far + 1e-9, (a.id, b.id)


def test_stance_distance_treats_missing_axes_as_neutral(tmp_path: Path) -> None:
    base = tomllib.loads(GOOD_TOML)
    a = Persona.model_validate({**base, "corpus": None, "stances": {"p_doom": 1.0}})
    b = Persona.model_validate({**base, "corpus": None, "id": "other", "stances": {"theory_first": -1.0}})
    assert stance_distance(a, b) == pytest.approx(2**0.5)
    assert stance_distance(a, a) == 0
    with pytest.raises(BadInput):
        most_different(a, [a])


def test_toml_writer_output_parses_back() -> None:
    persona = Persona.model_validate(
        {**tomllib.loads(GOOD_TOML), "name": 'Q"uote\\ \u0001 ünï', "corpus": None}
    )
    text = persona_to_toml(persona)
    assert Persona.model_validate(tomllib.loads(text)) == persona
    assert "corpus" not in tomllib.loads(text)


# ---------------------------------------------------------------- chunking


SAMPLE = "\n\n".join(
    " ".join(f"para{p}word{w}" + ("." if w % 9 == 8 else "") for w in range(40 + 37 * p)) for p in range(8)
)


@pytest.mark.parametrize(("max_chars", "overlap"), [(1200, 150), (300, 60), (120, 0), (50, 20)])
def test_chunks_respect_size_and_word_boundaries(max_chars: int, overlap: int) -> None:
    chunks = chunk_text(SAMPLE, max_chars=max_chars, overlap=overlap)
    words = SAMPLE.split()
    assert chunks and all(0 < len(c) <= max_chars for c in chunks)
    assert all(c.strip() == c for c in chunks)
    chunk_words = [w for c in chunks for w in c.split()]
    assert set(chunk_words) == set(words)  # never mid-word, no word lost
    if overlap == 0:
        assert chunk_words == words


def test_chunks_keep_paragraphs_whole_when_they_fit() -> None:
    text = "First paragraph here.\n\n\n   \nSecond one.\r\n\r\nThird and last."
    assert chunk_text(text, max_chars=1200) == ["First paragraph here.\n\nSecond one.\n\nThird and last."]
    assert chunk_text(text, max_chars=25, overlap=0) == [
        "First paragraph here.",
        "Second one.",
        "Third and last.",
    ]
    assert chunk_text("  \n\n \n") == []


def test_chunks_overlap_carries_the_previous_tail() -> None:
    chunks = chunk_text(SAMPLE, max_chars=300, overlap=60)
    for before, after in itertools.pairwise(chunks):
        first_word = after.split()[0]
        assert first_word in before.split()[-12:]


def test_chunk_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        chunk_text("x", max_chars=0)
    with pytest.raises(ValueError):
        chunk_text("x", max_chars=10, overlap=10)
    assert chunk_text("a" * 25, max_chars=10, overlap=0) == ["a" * 10, "a" * 10, "a" * 5]
    assert chunk_text("ab cd " + "x" * 25, max_chars=10, overlap=4) == ["ab cd", "x" * 10, "x" * 10, "x" * 5]
