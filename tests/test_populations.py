"""Populations: many persona files at once, spawned variants with their lineage, and babble by group."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.errors import BadInput
from groundhog.researchers.personas import Persona, PersonaRegistry, check_persona_file, load_persona_file
from groundhog.researchers.spawn import spawn, varied_fields
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services
from testkit.population import persona_toml

PARENT = Persona(
    id="tester",
    name="Tess Ter",
    description="A careful researcher who writes tests before theories and trusts only what fails loudly.",
    beliefs=["Tests that cannot fail prove nothing.", "Loud failures teach.", "Green is not evidence."],
    methods=["Property-based testing", "Fuzzing", "Mutation testing"],
    skeptical_of=["Green dashboards", "Vibes"],
    writing_style="Short, dry sentences.",
    stances={"p_doom": 0.2, "theory_first": -0.4},
    focus="Find alignment claims that can be tested; write the failing test, and publish it.",
)


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    return isolated_home


def _listed(runner: CliRunner, home: Path) -> list[dict]:
    result = runner.invoke(app, ["personas", "list", "--json", "--home", str(home)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ---------------------------------------------------------------- add, many at once


def test_add_a_folder_and_files_names_each_bad_one_and_adds_the_rest(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "crowd"
    folder.mkdir()
    for n in range(200):
        (folder / f"p{n:03d}.toml").write_text(persona_toml(f"gen-{n:03d}", n))
    (folder / "broken.toml").write_text('id = "broken"\nname = [unclosed\n')
    (folder / "nameless.toml").write_text(persona_toml("nameless", 0).replace('name = "Researcher 0"\n', ""))
    (folder / "notes.md").write_text("not a persona; a folder stands for its .toml files")
    single = tmp_path / "single.toml"
    single.write_text(persona_toml("lone-one", 999).replace("Researcher 999", "Lone \\u001b[31mOne"))
    runner = CliRunner()
    added = runner.invoke(app, ["personas", "add", str(folder), str(single), "--home", str(home)])
    assert added.exit_code == 2, added.output
    errors = added.stderr.strip().splitlines()
    assert len(errors) == 2
    assert any("broken.toml" in line and "TOML syntax error" in line for line in errors), errors
    assert any("nameless.toml" in line and "field 'name': is required" in line for line in errors), errors
    assert "added 201 personas; 2 files refused" in added.stdout
    listed = [line for line in added.stdout.splitlines() if line.startswith("installed persona ")]
    assert len(listed) == 20 and "... and 181 more personas installed in" in added.stdout  # not 201 lines
    ids = {p["id"] for p in _listed(runner, home)}
    assert {f"gen-{n:03d}" for n in range(200)} | {"lone-one"} <= ids
    assert not {"broken", "nameless"} & ids
    again = runner.invoke(app, ["personas", "add", str(single), "--home", str(home)])
    assert again.exit_code == 0 and "(replacing an earlier install)" in again.stdout
    assert "lone-one (Lone" in again.stdout and "\x1b" not in again.stdout  # a file's text is shown, not obeyed
    assert "added" not in again.stdout  # one file, one line, as before


def test_add_a_folder_without_persona_files_is_bad_input(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["personas", "add", str(empty), "--home", str(home)])
    assert result.exit_code == 2
    assert f"{empty}: folder has no .toml persona files" in result.stderr
    assert "added 0 personas; 1 file refused" in result.stdout


# ---------------------------------------------------------------- spawn


@pytest.mark.parametrize("vary", ["stances", "agenda", "both"])
def test_spawned_variants_differ_from_the_parent_and_each_other(vary: str) -> None:
    variants = spawn(PARENT, 8, vary=vary, seed=3)  # type: ignore[arg-type]
    keys = [varied_fields(v, vary) for v in variants]  # type: ignore[arg-type]
    assert varied_fields(PARENT, vary) not in keys  # type: ignore[arg-type]
    for a, b in itertools.combinations(keys, 2):
        assert a != b
    assert [v.id for v in variants] == [f"tester-v{n}" for n in range(1, 9)]
    for v in variants:
        assert v.parent == "tester" and v.group == "tester-spawn"
        assert v.description == PARENT.description and v.writing_style == PARENT.writing_style
        assert set(v.beliefs) <= set(PARENT.beliefs) and set(v.methods) <= set(PARENT.methods)
        assert all(-1.0 <= v.stance(axis) <= 1.0 for axis in v.stances)
        if vary == "stances":
            assert v.focus == PARENT.focus
        if vary == "agenda":
            assert (v.beliefs, v.stances) == (PARENT.beliefs, PARENT.stances)


def test_spawn_is_deterministic_for_a_seed_and_never_reuses_an_id() -> None:
    first = spawn(PARENT, 4, seed=7)
    assert first == spawn(PARENT, 4, seed=7)
    assert [varied_fields(v, "both") for v in first] != [varied_fields(v, "both") for v in spawn(PARENT, 4, seed=8)]
    later = spawn(PARENT, 2, seed=7, group="second-wave", taken={"tester-v1", "tester-v2", "tester-v3"})
    assert [v.id for v in later] == ["tester-v4", "tester-v5"]
    assert {v.group for v in later} == {"second-wave"}
    long = PARENT.model_copy(update={"id": "a" * 40})
    assert all(len(v.id) <= 40 and v.id.endswith(f"-v{n}") for n, v in enumerate(spawn(long, 2), 1))


def test_spawn_says_when_a_persona_has_too_little_material() -> None:
    thin = PARENT.model_copy(update={"focus": "One thing only.", "methods": ["Reading"]})
    with pytest.raises(BadInput, match=r"only 1 distinct variant of 'tester' with --vary agenda"):
        spawn(thin, 5, vary="agenda")


def test_lineage_survives_the_toml_file(tmp_path: Path) -> None:
    registry = PersonaRegistry(tmp_path / "home")
    registry.install(spawn(PARENT, 2, seed=1))
    loaded = load_persona_file(registry.user_dir / "tester-v2.toml")
    assert (loaded.parent, loaded.group) == ("tester", "tester-spawn")
    bad = tmp_path / "bad.toml"
    bad.write_text(persona_toml("kid", 1) + 'parent = "../../etc"\n')
    assert any("field 'parent': must be a slug" in p for p in check_persona_file(bad))


def test_spawn_through_the_cli_installs_variants_with_their_lineage(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    args = ["personas", "spawn", "--from", "simplicia", "--home", str(home)]
    made = runner.invoke(app, [*args, "--count", "7", "--seed", "5"])
    assert made.exit_code == 0, made.output
    assert "spawned 7 variants of simplicia into group simplicia-spawn (seed 5)" in made.stdout
    more = runner.invoke(app, [*args, "--count", "2", "--vary", "agenda", "--group", "wave-two"])
    assert more.exit_code == 0, more.output
    listed = {p["id"]: p for p in _listed(runner, home)}
    assert [listed[f"simplicia-v{n}"]["group"] for n in range(1, 10)] == ["simplicia-spawn"] * 7 + ["wave-two"] * 2
    assert all(listed[f"simplicia-v{n}"]["parent"] == "simplicia" for n in range(1, 10))
    assert listed["simplicia"]["parent"] is None and listed["simplicia"]["group"] is None
    monkeypatch.setenv("COLUMNS", "250")
    table = runner.invoke(app, ["personas", "list", "--home", str(home)]).stdout
    assert "from simplicia / group wave-two" in table
    assert "simplicia-v5 " in table and "simplicia-v6 " not in table  # a large group: the first 5 and a count
    assert "2 more" in table and "group simplicia-spawn" in table
    for bad, words in (
        (["--count", "2", "--vary", "mood"], "--vary: must be one of stances, agenda, both"),
        (["--count", "2", "--group", "Bad Group"], "--group: must be a slug"),
    ):
        refused = runner.invoke(app, [*args, *bad])
        assert refused.exit_code == 2 and words in refused.stderr, refused.output
    unknown = runner.invoke(app, ["personas", "spawn", "--from", "nobody", "--count", "1", "--home", str(home)])
    assert unknown.exit_code == 2 and "unknown persona 'nobody'" in unknown.stderr


# ---------------------------------------------------------------- babble by group


def test_babble_runs_a_persona_group(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from groundhog.commands import babble as babble_cmd
    from groundhog.commands import common
    from groundhog.compose import services as services_mod

    model = FakeChatModel.with_responder(ScriptedResearcher(ideas_per_call=1))
    real = services_mod.Services
    monkeypatch.setattr(
        services_mod, "Services", lambda settings, **_: real(settings, chat_model=model, embedder=HashEmbedder())
    )
    make = lambda home, **flags: make_services(home, model, **flags)  # noqa: E731
    monkeypatch.setattr(babble_cmd, "services", make)
    monkeypatch.setattr(common, "services", make)
    svc = make_services(isolated_home, model)
    svc.personas.install(spawn(PARENT, 2, seed=1, group="crew"))
    svc.close()
    runner = CliRunner()
    args = ["babble", "--depth", "1", "--ideas-per-day", "1", "--present", "2026-11-23", "--json"]
    done = runner.invoke(app, [*args, "--persona-group", "crew", "-p", "doomimir", "--session", "g1"])
    assert done.exit_code == 0, done.output
    svc = make_services(isolated_home, model)
    assert SessionStore(svc.db).get("g1").config.personas == ["doomimir", "tester-v1", "tester-v2"]
    svc.close()
    unknown = runner.invoke(app, [*args, "--persona-group", "nobody", "--session", "g2"])
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == "groundhog: error: --persona-group: unknown group 'nobody' (known: crew)"


# ---------------------------------------------------------------- a night of a large population


def test_a_night_of_500_spawned_personas_at_concurrency_128_has_no_failed_day(home: Path) -> None:
    """`personas spawn --count 500`, then all of them for one day (one idea, no revision) on the loopback
    endpoint: every persona-day is done, with many model calls in flight at once."""
    from testkit.fake_openai import FakeOpenAIServer
    from testkit.strong_model import StrongModel

    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "personas",
            "spawn",
            "--from",
            "simplicia",
            "--count",
            "500",
            "--seed",
            "2",
            "--group",
            "crowd",
            "--home",
            str(home),
        ],
    )
    assert made.exit_code == 0, made.output
    model = StrongModel("plain", summary_chars=300, angles=True)
    with FakeOpenAIServer(model, delay_ms=200, record=False) as srv:  # a remote model: calls overlap
        args = ["babble", "--persona-group", "crowd", "--depth", "1", "--ideas-per-day", "1", "--revisions", "0"]
        args += ["--concurrency", "128", "--present", "2026-11-23", "--session", "crowd", "--json"]
        args += ["--provider", "openai", "--model", "strong", "--base-url", srv.base_url, "--home", str(home)]
        done = runner.invoke(app, args)
        peak = srv.peak_in_flight()
    assert done.exit_code == 0, done.output[-2000:]
    svc = make_services(home, FakeChatModel())
    days = SessionStore(svc.db).days("crowd")
    svc.close()
    assert len(days) == 500 and {d.status for d in days} == {"done"}
    assert len({d.persona for d in days}) == 500 and all(d.generated == 1 for d in days)
    assert peak >= 64, f"only {peak} calls in flight at once"
