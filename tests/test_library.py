"""The library: papers from every format, added idempotently, bad files named one line each, the CLI's
list/show/search/remove with --json, fetches from loopback OpenAlex and arXiv servers, and what the
personas and the critic do with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.library.sources import read_file, read_paths
from groundhog.library.store import Library
from groundhog.memory.store import open_persistent
from testkit.fakes import HashEmbedder
from testkit.literature_api import LiteratureAPI
from testkit.pdf import tiny_pdf

BIB = r"""
@comment{exported by a reference manager}
@article{irving2018debate,
  title = {{AI} Safety via Debate},
  author = {Irving, Geoffrey and Christiano, Paul and Amodei, Dario},
  year = 2018,
  eprint = {1805.00899},
  archivePrefix = {arXiv},
  abstract = "Agents argue, a human judges {which} is right."
}
@inproceedings{nobody, author = {Someone}, year = {2020}}
"""


def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "post.md").write_text(
        "---\ntitle: Reward hacking in the wild\nauthors: [A. Writer]\nyear: 2024\nurl: https://example.org/post\n"
        "---\n# Reward hacking in the wild\n\nAgents find loopholes in their reward.\n\nWe catalogue forty cases.\n"
    )
    (folder / "notes.txt").write_text("Scalable oversight notes\n\nA weak judge and a strong model.\n")
    (folder / "paper.pdf").write_bytes(
        tiny_pdf(["Honest probes for chat models", "We train linear probes."], "Honest probes")
    )
    (folder / "refs.bib").write_text(BIB)
    (folder / "openalex.json").write_text(
        json.dumps(
            {
                "meta": {},
                "results": [
                    {
                        "id": "https://openalex.org/W1",
                        "display_name": "Weak judges",
                        "publication_year": 2023,
                        "doi": "https://doi.org/10.1/WJ",
                        "authorships": [{"author": {"display_name": "B. Author"}}],
                        "abstract_inverted_index": {"judges": [1], "Weak": [0]},
                    }
                ],
            }
        )
    )
    (folder / "arxiv.jsonl").write_text(
        json.dumps(
            {
                "id": "2312.09390",
                "title": "Weak-to-strong generalization",
                "authors": "C. Burns, P. Izmailov",
                "abstract": "Strong students, weak teachers.",
                "update_date": "2023-12-14",
            }
        )
        + "\n"
    )
    return folder


def test_every_format_reads_with_its_facts(tmp_path: Path) -> None:
    read = read_paths([corpus(tmp_path)])
    by_title = {p.title: p for p in read.papers}
    assert read.errors == [f"{tmp_path / 'papers' / 'refs.bib'}: entry nobody: no title (or unbalanced braces)"]
    md = by_title["Reward hacking in the wild"]
    assert (md.year, md.authors, md.url) == (2024, ["A. Writer"], "https://example.org/post")
    assert "forty cases" in md.text
    assert "Scalable oversight notes" in by_title
    pdf = by_title["Honest probes"]
    assert "linear probes" in pdf.text
    bib = by_title["AI Safety via Debate"]
    assert (bib.id, bib.year, bib.authors[0]) == ("arxiv:1805.00899", 2018, "Irving, Geoffrey")
    assert bib.abstract == "Agents argue, a human judges which is right."
    oa = by_title["Weak judges"]
    assert (oa.id, oa.abstract, oa.authors, oa.year) == ("doi:10.1/wj", "Weak judges", ["B. Author"], 2023)
    ax = by_title["Weak-to-strong generalization"]
    assert (ax.id, ax.year, ax.authors) == ("arxiv:2312.09390", 2023, ["C. Burns", "P. Izmailov"])


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("broken.pdf", b"%PDF-1.4 not really", "not a readable PDF"),
        ("scan.pdf", tiny_pdf([]), "no text layer"),
        ("bad.json", b"{nope", "not JSON"),
        ("latin1.md", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("paper.docx", b"PK", "unknown format .docx"),
        ("empty.md", b"   \n", "no text"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, name: str, data: bytes, why: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    read = read_file(path)
    assert read.papers == []
    assert len(read.errors) == 1 and read.errors[0].startswith(f"{path}: ") and why in read.errors[0]


def test_adding_again_keeps_the_same_ids_and_a_shorter_paper_loses_its_tail(tmp_path: Path) -> None:
    lib = Library(open_persistent(tmp_path / "chroma"), HashEmbedder(), bar=0.9)
    long = tmp_path / "long.md"
    long.write_text("# A long post\n\n" + "\n\n".join(f"Paragraph {n} " + "word " * 150 for n in range(8)))
    papers = read_file(long).papers
    assert lib.add(papers)[1] > 3
    chunks = lib.count()
    lib.add(read_file(long).papers)
    assert lib.count() == chunks  # the same paper, the same ids
    long.write_text("# A long post\n\nNow it is short.")
    lib.add(read_file(long).papers)
    assert lib.count() == 1
    paper, passages = lib.get(papers[0].id) or (None, [])
    assert paper is not None and passages == ["Now it is short."]


def cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["library", *args, "--home", str(home)])


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())


def test_cli_adds_the_good_files_names_the_bad_and_exits_2(tmp_path: Path, hashed: None) -> None:
    home = tmp_path / "home"
    folder = corpus(tmp_path)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    done = cli(home, "add", str(folder), "--json")
    assert done.exit_code == 2
    assert f"{folder / 'broken.pdf'}: not a readable PDF" in done.stderr
    report = json.loads(done.stdout)
    assert report["added"] == 6 and len(report["errors"]) == 2
    listed = json.loads(cli(home, "list", "--json").stdout)
    assert len(listed) == 6
    again = cli(home, "add", str(folder / "refs.bib"), "--json")
    assert again.exit_code == 2  # its bad entry again; the good one replaced in place
    assert len(json.loads(cli(home, "list", "--json").stdout)) == 6
    shown = json.loads(cli(home, "show", "arxiv:1805.00899", "--json").stdout)
    assert shown["title"] == "AI Safety via Debate" and shown["url"] == "https://arxiv.org/abs/1805.00899"
    assert shown["chunks"] == 1 and "judges" in shown["passages"][0]
    found = json.loads(cli(home, "search", "Agents argue, a human judges which is right.", "--json").stdout)
    assert found[0]["id"] == "arxiv:1805.00899" and found[0]["similarity"] > 0.99
    assert cli(home, "remove", "arxiv:1805.00899", "--json").exit_code == 0
    missing = cli(home, "show", "arxiv:1805.00899")
    assert missing.exit_code == 2 and "no paper 'arxiv:1805.00899'" in missing.stderr
    assert len(json.loads(cli(home, "list", "--json").stdout)) == 5


def test_the_starter_library_is_shipped_and_loads(tmp_path: Path, hashed: None) -> None:
    home = tmp_path / "home"
    done = cli(home, "add", "--starter", "--json")
    assert done.exit_code == 0, done.output
    papers = json.loads(cli(home, "list", "--json").stdout)
    assert len(papers) >= 50
    assert all(p["title"] and p["year"] and p["authors"] and p["abstract"].count(". ") >= 1 for p in papers)
    assert cli(home, "add").exit_code == 2  # nothing to add


@pytest.mark.parametrize("source", ["openalex", "arxiv"])
def test_fetch_from_a_loopback_api_caches_and_honours_retry_after(
    tmp_path: Path, hashed: None, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    home = tmp_path / "home"
    with LiteratureAPI() as api:
        monkeypatch.setenv(f"GROUNDHOG_{source.upper()}_URL", api.base_url)
        monkeypatch.setenv("GROUNDHOG_FETCH_INTERVAL", "0")
        api.faults = [(429, "1"), (503, None)]
        done = cli(home, "fetch", f"--{source}", "honesty", "--json")
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["added"] == 2 and len(api.requests) == 3
        cached = cli(home, "fetch", f"--{source}", "honesty", "--json")
        assert json.loads(cached.stdout)["cached"] is True and len(api.requests) == 3
    titles = {p["title"]: p for p in json.loads(cli(home, "list", "--json").stdout)}
    honesty = titles["Measuring Honesty Under Pressure in Chat Models"]
    assert honesty["year"] == 2025 and honesty["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert "lying" in honesty["abstract"]


def test_fetch_offline_is_one_clear_line(tmp_path: Path, hashed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    monkeypatch.setenv("GROUNDHOG_OPENALEX_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setattr("groundhog.library.fetch.POLICY.initial_s", 0.01)
    done = cli(tmp_path / "home", "fetch", "--openalex", "honesty")
    assert done.exit_code == 1
    assert done.stderr.count("\n") == 1 and "cannot reach the openalex API" in done.stderr
    assert cli(tmp_path / "home", "fetch").exit_code == 2
