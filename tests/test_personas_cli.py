"""`groundhog personas list|show|check|add` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from testkit.fakes import HashEmbedder

GOOD = """
id = "mesa-hunter"
name = "Mesa Hunter"
description = "A researcher who looks for learned optimizers inside trained networks."
beliefs = ["Inner optimizers can emerge from outer training."]
methods = ["Toy models trained to search"]
skeptical_of = ["Behavioural evidence of alignment"]
writing_style = "Careful and hedged."
focus = "Detect mesa-optimization in small trained networks."
"""


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    return isolated_home


def test_list_and_show(home: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["personas", "list", "--json", "--home", str(home)])
    assert listed.exit_code == 0, listed.output
    ids = {p["id"] for p in json.loads(listed.stdout)}
    assert {"doomimir", "simplicia", "interp-empiricist", "oversight-researcher", "control-evaluator"} <= ids
    shown = runner.invoke(app, ["personas", "show", "Doomimir", "--json", "--home", str(home)])
    assert json.loads(shown.stdout)["id"] == "doomimir"
    missing = runner.invoke(app, ["personas", "show", "doomimr", "--home", str(home)])
    assert missing.exit_code == 2 and "did you mean 'doomimir'" in missing.stderr


def test_check_reports_every_problem_with_its_field(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "Bad Id"\nname = ""\nfavourite_colour = "red"\n[stances]\np_doom = 3\n')
    result = CliRunner().invoke(app, ["personas", "check", str(bad)])
    assert result.exit_code == 2
    problems = result.stderr.strip().splitlines()
    assert len(problems) >= 5
    for field in ("'id'", "'name'", "favourite_colour", "stances.p_doom", "'beliefs'"):
        assert any(field in line for line in problems), (field, problems)
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert CliRunner().invoke(app, ["personas", "check", str(good)]).exit_code == 0


def test_add_installs_and_ingests_the_corpus(home: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "writing"
    corpus.mkdir()
    (corpus / "post.md").write_text(
        "Gradient descent can find searchers.\n\nWe should look for them in toy models."
    )
    persona = tmp_path / "mesa.toml"
    persona.write_text(GOOD)
    runner = CliRunner()
    added = runner.invoke(
        app, ["personas", "add", str(persona), "--corpus", str(corpus), "--home", str(home)]
    )
    assert added.exit_code == 0, added.output
    assert "ingested 1 corpus chunks" in added.stdout
    listed = json.loads(runner.invoke(app, ["personas", "list", "--json", "--home", str(home)]).stdout)
    assert any(p["id"] == "mesa-hunter" and not p["builtin"] for p in listed)
    found = runner.invoke(
        app,
        [
            "log",
            "search",
            "searchers in toy models",
            "--persona",
            "mesa-hunter",
            "--kind",
            "corpus",
            "--json",
            "--home",
            str(home),
        ],
    )
    hits = json.loads(found.stdout)
    assert hits and hits[0]["persona"] == "mesa-hunter" and "searchers" in hits[0]["text"]
