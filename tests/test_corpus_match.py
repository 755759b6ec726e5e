"""`groundhog personas check` without a file: each persona's ideas against its own writings and the others'."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.records import LogEntry
from groundhog.loop.start import ingest_corpus
from groundhog.researchers.personas import PersonaRegistry, corpus_files
from groundhog.researchers.spawn import spawn
from testkit.fakes import FakeChatModel, HashEmbedder, make_services


def sentences(persona_id: str) -> list[str]:
    """Sentences of a built-in persona's writings, as ideas in its words."""
    out = []
    for path in corpus_files(PersonaRegistry("/nonexistent").get(persona_id)):
        text = " ".join(line for line in path.read_text().splitlines() if not line.startswith("#"))
        out += [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if len(s.split()) >= 12]
    return out


def idea(persona: str, n: int, text: str, session: str = "s1") -> LogEntry:
    return LogEntry(id=f"{persona}-{session}-{n}", persona=persona, session=session, day=1, kind="idea", text=text)


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Ideas in the log: doomimir and simplicia in their own words, a variant of doomimir (sharing its
    corpus) in doomimir's, and a variant of simplicia in doomimir's words too."""
    from groundhog import commands

    registry = PersonaRegistry(isolated_home)
    registry.install(spawn(registry.get("doomimir"), 1, seed=1, group="dooms"))
    registry.install(spawn(registry.get("simplicia"), 1, seed=1, group="turned"))
    svc = make_services(isolated_home, FakeChatModel(), HashEmbedder())
    ingest_corpus(svc.log, registry.get("doomimir"), registry.get("simplicia"))  # the rest: read from their files
    doom, simp = sentences("doomimir"), sentences("simplicia")
    entries = [idea("doomimir", n, s) for n, s in enumerate(doom[:6])]
    entries += [idea("simplicia", n, s) for n, s in enumerate(simp[:6])]
    entries += [idea("doomimir-v1", n, s) for n, s in enumerate(doom[6:12])]
    entries += [idea("simplicia-v1", n, s, session="s2") for n, s in enumerate(doom[:6])]
    svc.log.add(entries)
    svc.close()
    monkeypatch.setattr(
        commands.personas,
        "services",
        lambda h, **flags: make_services(h or isolated_home, FakeChatModel(), HashEmbedder()),
    )
    return isolated_home


def test_each_persona_is_scored_against_its_own_corpus_and_the_others(home: Path) -> None:
    done = CliRunner().invoke(app, ["personas", "check", "--json"])
    assert done.exit_code == 0, done.output
    rows = {r["persona"]: r for r in json.loads(done.stdout)}
    assert set(rows) == {"doomimir", "simplicia", "doomimir-v1", "simplicia-v1"}
    for pid in ("doomimir", "simplicia", "doomimir-v1"):
        r = rows[pid]
        assert r["score"] > 0 and r["own"] > r["other"], r
        assert r["nearest_own"] > r["chance"] > 0, r
        assert r["corpus_chunks"] > 0 and r["ideas"] == 6
    assert rows["doomimir-v1"]["nearest_other"] != "doomimir"  # its parent's corpus is its own, not another's
    turned = rows["simplicia-v1"]
    assert turned["score"] < 0 and turned["nearest_other"] == "doomimir", turned
    assert rows["doomimir"]["chance"] == pytest.approx(1 / 6, abs=1e-3)  # six corpora: the variants share theirs

    only = json.loads(CliRunner().invoke(app, ["personas", "check", "--json", "--session", "s2"]).stdout)
    assert [r["persona"] for r in only] == ["simplicia-v1"]
    one = json.loads(CliRunner().invoke(app, ["personas", "check", "--json", "-p", "simplicia"]).stdout)
    assert [r["persona"] for r in one] == ["simplicia"]
    mixed = CliRunner().invoke(app, ["personas", "check", "x.toml", "--session", "s2"])
    assert mixed.exit_code == 2 and "--session: only without FILE" in mixed.stderr
    table = CliRunner().invoke(app, ["personas", "check"])
    assert table.exit_code == 0 and "3 of 4 personas sound more like their own writings" in table.stdout


def test_no_ideas_yet_and_a_persona_without_writings(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from groundhog import commands

    monkeypatch.setattr(
        commands.personas,
        "services",
        lambda h, **flags: make_services(h or isolated_home, FakeChatModel(), HashEmbedder()),
    )
    empty = CliRunner().invoke(app, ["personas", "check"])
    assert empty.exit_code == 0 and "No ideas in the log to score yet" in empty.stdout
    svc = make_services(isolated_home, FakeChatModel(), HashEmbedder())
    svc.log.add([idea("ghost", 0, "An idea by a persona that is gone and had no writings.")])
    svc.close()
    (row,) = json.loads(CliRunner().invoke(app, ["personas", "check", "--json"]).stdout)
    assert row["persona"] == "ghost" and row["score"] is None and "no corpus" in row["note"]
