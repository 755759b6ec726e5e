"""The loop end to end on the real embedded model (SmolLM2 via llama.cpp), MiniLM, Chroma and SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundhog.cli import app

pytestmark = pytest.mark.integration


def test_one_persona_two_days_on_the_embedded_model(isolated_home: Path) -> None:
    runner = CliRunner()
    babble = runner.invoke(
        app,
        [
            "babble",
            "--persona",
            "simplicia",
            "--depth",
            "2",
            "--ideas-per-day",
            "2",
            "--session",
            "real",
            "--present",
            "2026-11-23",
            "--revisions",
            "0",
            "--home",
            str(isolated_home),
            "--json",
        ],
    )
    assert babble.exit_code == 0, babble.output
    events = [json.loads(line) for line in babble.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["type"] == "session_finished" and events[-1]["data"]["status"] == "completed"

    show = runner.invoke(app, ["sessions", "show", "real", "--json", "--home", str(isolated_home)])
    assert show.exit_code == 0, show.output
    report = json.loads(show.stdout)
    days = report["personas"][0]["days"]
    assert [d["day"] for d in days] == [1, 2]
    assert all(d["status"] == "done" for d in days), [d["error"] for d in days]
    assert all(len(d["ideas"]) == 2 for d in days)
    assert days[0]["notebook_id"] in days[1]["context_ids"]  # day 2 read day 1's note
    assert report["totals"]["tokens"] > 0

    search = runner.invoke(
        app, ["log", "search", "research idea", "--kind", "idea", "--json", "--home", str(isolated_home)]
    )
    ideas = json.loads(search.stdout)
    assert len(ideas) == 4  # two per day, no revision rounds
    assert {i["persona"] for i in ideas} == {"simplicia"}

    # `groundhog tune` on the same real session: measures, recommends, and plots.
    target = isolated_home / "tune-real.png"
    tuned = runner.invoke(
        app, ["tune", "--session", "real", "--json", "--plot", str(target), "--home", str(isolated_home)]
    )
    assert tuned.exit_code == 0, tuned.output
    data = json.loads(tuned.stdout)
    assert data["embedder"] == "all-MiniLM-L6-v2" and data["days_analysed"] == 2
    tune_days = data["personas"][0]["days"]
    assert tune_days[0]["tokens"] > 0 and tune_days[0]["in_character"] is not None
    assert tune_days[1]["novelty"] is not None
    assert data["recommendation"]["depth"] in (0, 1, 2) and data["recommendation"]["reason"]
    png = target.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_the_first_run_gives_the_user_something_to_review(isolated_home: Path) -> None:
    """The README's first babble (two personas, depth 2, three ideas a day, default settings) on the
    embedded model queues at least one idea, and the screens still keep degenerate text out."""
    runner = CliRunner()
    babble = runner.invoke(
        app,
        ["babble", "--persona", "doomimir", "--persona", "simplicia", "--depth", "2", "--ideas-per-day", "3",
         "--session", "first", "--present", "2026-11-23", "--home", str(isolated_home), "--json"],
    )
    assert babble.exit_code == 0, babble.output
    queued = runner.invoke(app, ["queue", "list", "--json", "--home", str(isolated_home)])
    items = json.loads(queued.stdout)
    survivors = [i for i in items if i["origin"] == "survivor"]
    assert len(survivors) >= 1
    for item in survivors:
        assert item["critique"]["verdict"] == "pass" and item["critique"]["flags"] == []
    for item in items:  # audit items (a share of the critic's rejections) are never screened-out text
        assert item["origin"] in ("survivor", "audit") and item["critique"]["flags"] == []
