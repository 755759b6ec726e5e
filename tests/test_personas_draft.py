"""`groundhog personas draft`: a persona drafted from a folder of writings by a fake model (on the loopback
endpoint and in-process), its quotes checked against the writings, the file validated, and `--add`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.researchers.quotes import QuoteFinder
from groundhog.researchers.writings import Writings, characteristic, read_writings
from testkit.drafter import PersonaDrafter, invented, near, verbatim
from testkit.fake_openai import FakeOpenAIServer
from testkit.fakes import FakeChatModel, HashEmbedder, make_services
from testkit.pdf import tiny_pdf

PATCHING = """# Notes on activation patching

Activation patching tells you which components matter for a behaviour, not what they compute.
I run every patch against a corrupted baseline, because a clean run alone shows nothing about cause.

A probe that reads a feature is a correlation until an intervention on that feature moves the output.
Most published probes never take that second step, and I do not trust their conclusions.
"""
FEATURES = """# Sparse features

Sparse autoencoders give us a dictionary of features, but the dictionary depends on its training run.
I check every feature I report against two seeds and a random-direction control before I name it.

Understanding a network from its internals is possible, one careful circuit at a time.
"""
PDF_LINES = ["Refusal in small chat models runs through a handful of features.", "We ablate them one by one."]


def writings(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "patching.md").write_text(PATCHING)
    (folder / "features.md").write_text(FEATURES)
    (folder / "refusal.pdf").write_bytes(tiny_pdf(PDF_LINES, "Refusal features"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    return folder


def all_text(folder: Path) -> str:
    return " ".join(" ".join((folder / n).read_text().split()) for n in ("patching.md", "features.md"))


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    return isolated_home


def test_draft_on_the_fake_endpoint_writes_a_valid_file_and_add_installs_it(home: Path, tmp_path: Path) -> None:
    folder = writings(tmp_path / "writings")
    target = tmp_path / "drafts" / "mesa.toml"
    target.parent.mkdir()
    drafter = PersonaDrafter()
    runner = CliRunner()
    with FakeOpenAIServer(drafter.http) as srv:
        args = ["personas", "draft", "mesa-hunter", "--writings", str(folder), "--out", str(target)]
        endpoint = ["--provider", "openai", "--model", "fake-model", "--base-url", srv.base_url]
        done = runner.invoke(app, [*args, *endpoint, "--name", "Mesa Hunter", "--add", "--home", str(home)])
        schemas = [
            r["json"].get("response_format", {}).get("type") for r in srv.requests if r["path"].endswith("completions")
        ]
    assert done.exit_code == 0, done.output
    assert schemas == ["json_schema"]  # constrained structured output, as every other call
    assert f"skipped {folder / 'broken.pdf'}: not a readable PDF" in done.stderr  # named and skipped
    assert "read 3 writings" in done.stderr and "asking fake-model" in done.stderr
    assert "a handful of features" in drafter.prompts[0]  # the PDF's text was read
    assert "stance oversight_scales: left out, its quote is not in the writings" in done.stderr

    checked = runner.invoke(app, ["personas", "check", str(target)])
    assert checked.exit_code == 0 and checked.stdout.strip() == f"{target}: ok"
    data = tomllib.loads(target.read_text())
    assert data["id"] == "mesa-hunter" and data["name"] == "Mesa Hunter"
    assert data["corpus"] == str(folder.resolve())
    assert set(data["stances"]) == {"p_doom", "interpretability_promise", "theory_first"}  # the invented one dropped
    evidence = [line for line in target.read_text().splitlines() if line.startswith("# evidence")]
    assert len(evidence) == 3
    text = all_text(folder) + " " + " ".join(PDF_LINES)
    for line in evidence:  # every quote kept stands in the writings, word for word
        assert line.rsplit(': "', 1)[1].rstrip('"') in text, line

    assert f"installed persona mesa-hunter (Mesa Hunter) at {home / 'personas' / 'mesa-hunter.toml'}" in done.stdout
    assert "corpus chunks" in done.stdout
    shown = json.loads(runner.invoke(app, ["personas", "show", "mesa-hunter", "--json", "--home", str(home)]).stdout)
    assert shown["corpus_dir"] == str(folder.resolve()) and shown["stances"]["p_doom"] == 0.4
    found = runner.invoke(
        app, ["log", "search", "handful of features", "--kind", "corpus", "--json", "--home", str(home)]
    )
    assert any("handful of features" in hit["text"] for hit in json.loads(found.stdout))  # the PDF is in its corpus


def draft_in_process(home: Path, folder: Path, drafter: PersonaDrafter, monkeypatch: pytest.MonkeyPatch, *args: str):
    from groundhog import commands

    model = FakeChatModel.with_responder(drafter)
    monkeypatch.setattr(commands.personas, "services", lambda h, **flags: make_services(h or home, model, **flags))
    monkeypatch.chdir(folder.parent)
    return CliRunner().invoke(app, ["personas", "draft", "interp-fan", "--writings", str(folder), *args])


def test_a_quote_not_in_the_writings_is_dropped_and_a_near_one_repaired(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = writings(tmp_path / "writings")
    drafter = PersonaDrafter(
        {"p_doom": (0.2, invented), "theory_first": (-0.5, near(1)), "oversight_scales": (0.1, verbatim(3))}
    )
    done = draft_in_process(home, folder, drafter, monkeypatch)
    assert done.exit_code == 0, done.output
    target = tmp_path / "interp-fan.toml"  # the default: <ID>.toml in the working folder
    data = tomllib.loads(target.read_text())
    assert set(data["stances"]) == {"theory_first", "oversight_scales"}
    assert "stance p_doom: left out" in done.stderr
    assert "stance theory_first -0.50: quote repaired to the writings' words" in done.stderr
    lines = target.read_text().splitlines()
    repaired = next(line for line in lines if "repaired from the draft's" in line)
    wrong, right = repaired.split("repaired from the draft's \"", 1)[1].split('"): "')
    assert wrong not in all_text(folder) and right.rstrip('"') in all_text(folder)
    assert any(line.startswith("# p_doom: left out") and "Quantum gravity" in line for line in lines)
    assert CliRunner().invoke(app, ["personas", "check", str(target)]).exit_code == 0
    assert not (home / "personas").exists()  # no --add: nothing installed

    again = draft_in_process(home, folder, PersonaDrafter(), monkeypatch)
    assert again.exit_code == 2 and f"--out: {target} exists (give --force to overwrite it)" in again.stderr
    assert draft_in_process(home, folder, PersonaDrafter(), monkeypatch, "--force").exit_code == 0


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing", [], "--writings: folder not found:"),
        ("empty", [], "has no .md, .markdown, .txt, .pdf files"),
        ("blank", [], "--writings: no readable writing in"),
        ("good", ["--out", "x.yaml"], "--out: x.yaml: a drafted persona is written as TOML"),
    ],
)
def test_bad_writings_and_options_are_one_line_and_exit_2(
    home: Path, tmp_path: Path, setup: str, args: list[str], message: str
) -> None:
    folder = tmp_path / "writings"
    if setup != "missing":
        folder.mkdir()
    if setup == "blank":
        (folder / "empty.md").write_text("   \n")
    if setup == "good":
        writings(folder)
    done = CliRunner().invoke(app, ["personas", "draft", "someone", "--writings", str(folder), *args])
    assert done.exit_code == 2 and message in done.stderr and "Traceback" not in done.output
    bad_id = CliRunner().invoke(app, ["personas", "draft", "Bad Id", "--writings", str(folder)])
    assert bad_id.exit_code == 2 and "ID: must be a slug" in bad_id.stderr


def test_quotes_are_found_whatever_their_case_punctuation_and_ellipses() -> None:
    finder = QuoteFinder([("a.md", PATCHING), ("b.md", FEATURES)])
    exact = finder.find("a probe that reads a feature is a correlation -- until an intervention on that feature")
    assert exact is not None and exact.status == "verbatim" and exact.source == "a.md"
    assert exact.text == "A probe that reads a feature is a correlation until an intervention on that feature"
    gapped = finder.find("Sparse autoencoders give us a dictionary of features ... against two seeds")
    assert gapped is not None and gapped.status == "verbatim" and " … " in gapped.text
    changed = finder.find("I check every single feature I report against two seeds and a random control")
    assert changed is not None and changed.status == "repaired" and changed.text.startswith("I check every feature")
    assert finder.find("one careful circuit") is None  # too short to be evidence of anything
    assert finder.find("Sparse autoencoders are useless and interpretability is doomed forever") is None
    out_of_order = finder.find("against two seeds ... Sparse autoencoders give us a dictionary")
    assert out_of_order is None or out_of_order.status == "repaired"


def test_the_most_characteristic_passages_come_first_and_fit_the_budget(tmp_path: Path) -> None:
    probes = " ".join(f"Linear probes on layer {n} read the refusal feature of the chat model." for n in range(6))
    patching = "Patching the refusal feature of the chat model on layer 3 moves its output; probes alone do not."
    aside = "My cat likes sunny windowsills in spring."
    (tmp_path / "main.md").write_text(f"{probes}\n\n{aside}\n\n{patching}\n\n{probes}\n")
    read: Writings = read_writings(tmp_path)
    pairs = [("main.md", p) for p in read.documents[0].text.split("\n\n") if p.strip()]
    picked = [p.text for p in characteristic(pairs, HashEmbedder(), budget_chars=10_000)]
    assert picked == [probes, patching, aside]  # central first, the aside last, the copy left out
    small = characteristic(pairs, HashEmbedder(), budget_chars=len(probes) + len(patching) - 10)
    assert [p.text for p in small] == [probes]  # what fits; under 200 characters left, the search stops


@pytest.mark.integration
def test_a_draft_on_the_embedded_model_is_a_valid_persona(isolated_home: Path, tmp_path: Path, minilm: Any) -> None:
    """The real SmolLM2 behind a grammar from the bounded draft schema (slow: minutes on a CPU)."""
    from groundhog.compose.services import Services
    from groundhog.core.settings import load_settings
    from groundhog.researchers.draft import draft_persona
    from groundhog.researchers.personas import PersonaRegistry

    folder = writings(tmp_path / "writings")
    svc = Services(load_settings(isolated_home, babble={"provider": "local", "max_tokens": 1000}), embedder=minilm)
    drafted = draft_persona(
        persona_id="smol-draft",
        name="Smol Draft",
        writings=read_writings(folder),
        model=svc.babble_model,
        embedder=minilm,
    )
    assert drafted.persona.id == "smol-draft" and drafted.persona.description
    finder_text = all_text(folder) + " " + " ".join(PDF_LINES)
    for e in drafted.evidence:
        assert e.quote.replace(" … ", " ") in finder_text or e.status == "repaired"
    assert PersonaRegistry(isolated_home).builtin_ids()  # the registry still loads beside it
