"""`groundhog queue ...` and `groundhog review` through the real CLI, on a queue filled by a real session
(scripted fake model, real SQLite and Chroma in a temporary home)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.records import stable_id
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services

PRESENT = date(2026, 11, 23)
NOTE = "not convincing"
HOSTILE_TITLE = "<script>x</script> study {n} [x](javascript:alert(1)) [/bold] [link=https://evil.test]go[/link]"


def night(
    home: Path, personas: list[str], *, depth: int = 1, script: ScriptedResearcher | None = None
) -> None:
    """Fill the queue: odd-numbered ideas score 9, even ones 5, so the critic's ranking is known."""
    script = script or ScriptedResearcher(scores=lambda persona, n: 9 if n % 2 else 5)
    svc = make_services(home, FakeChatModel.with_responder(script), loop={"depth": depth, "ideas_per_day": 2})
    try:
        config = new_config(svc.settings, personas, session="s1", present=PRESENT)
        SessionStore(svc.db).create(config)
        outcome = run_session(make_runner(svc, config), handle_signals=False)
        assert outcome.status == "completed", outcome.reason
    finally:
        svc.close()


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI builds its embedder through the one factory: make it the fake the session used."""
    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    return isolated_home


@pytest.fixture
def queued(home: Path) -> Path:
    night(home, ["doomimir", "simplicia"])
    return home


def cli(home: Path, *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, [*args, "--home", str(home)], input=input)


def listed(home: Path, *args: str) -> list[dict[str, Any]]:
    result = cli(home, "queue", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def feedback(home: Path) -> dict[str, str]:
    """idea id -> feedback text, read from the log."""
    svc = make_services(home, FakeChatModel())
    try:
        return {str(e.meta["idea_id"]): e.text for e in svc.log.entries(kind="feedback")}
    finally:
        svc.close()


def test_list_is_best_first_and_filters(queued: Path) -> None:
    items = listed(queued)
    assert len(items) == 4
    ranks = [i["rank_score"] for i in items]
    assert ranks == sorted(ranks, reverse=True)
    assert {i["status"] for i in items} == {"pending"}
    assert [i["critique"]["scores"]["novelty"] for i in items] == [9, 9, 5, 5]
    assert {i["idea"]["persona"] for i in listed(queued, "--persona", "Doomimir")} == {"doomimir"}
    assert len(listed(queued, "--session", "s1", "--limit", "3")) == 3
    assert listed(queued, "--session", "nope") == []
    table = cli(queued, "queue", "list")
    assert table.exit_code == 0 and items[0]["id"] in table.stdout


def test_show_by_prefix(queued: Path) -> None:
    top = listed(queued)[0]
    shown = cli(queued, "queue", "show", top["id"][:5])
    assert shown.exit_code == 0, shown.output
    assert top["idea"]["title"] in shown.stdout and "weakest" in shown.stdout.lower()
    as_json = cli(queued, "queue", "show", top["id"], "--json")
    assert json.loads(as_json.stdout)["id"] == top["id"]


def test_decide_then_list_by_status(queued: Path) -> None:
    target = listed(queued)[1]["id"]
    done = cli(queued, "queue", "decide", target, "reject", "--note", NOTE)
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("rejected " + target)
    rejected = listed(queued, "--status", "rejected")
    assert [(i["id"], i["note"]) for i in rejected] == [(target, NOTE)]
    assert rejected[0]["decided_at"] is not None
    assert len(listed(queued, "--status", "pending")) == 3
    assert listed(queued, "--status", "accepted") == []
    assert NOTE in feedback(queued)[target]


def test_bad_input_is_one_line_and_exit_2(queued: Path) -> None:
    target = listed(queued)[0]["id"]
    for args, words in (
        (("queue", "decide", target, "maybe"), "unknown decision"),
        (("queue", "decide", "ffffffffffff", "accept"), "no queued idea"),
        (("queue", "show", "nope1234"), "no queued idea"),
        (("queue", "list", "--status", "done"), "--status"),
        (("queue", "export", "--format", "pdf"), "--format"),
    ):
        result = cli(queued, *args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("groundhog: error:") and words in lines[0], args
        assert "Traceback" not in result.output
    assert {i["status"] for i in listed(queued)} == {"pending"}
    assert feedback(queued) == {}


def test_export_formats(queued: Path, tmp_path: Path) -> None:
    ids = [i["id"] for i in listed(queued)]
    as_json = cli(queued, "queue", "export", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert [r["id"] for r in json.loads(as_json.stdout)] == ids
    lines = cli(queued, "queue", "export", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ids
    target = tmp_path / "report.md"
    written = cli(queued, "queue", "export", "-o", str(target))
    assert written.exit_code == 0, written.output
    assert written.stdout == ""
    report = target.read_text()
    assert report.startswith("# groundhog: ideas for review") and "## doomimir (2)" in report
    assert not list(tmp_path.glob(".report.md.*"))  # no temporary file left behind
    cli(queued, "queue", "decide", ids[0], "accept")
    only = cli(queued, "queue", "export", "--format", "jsonl", "--status", "accepted").stdout.splitlines()
    assert [json.loads(line)["id"] for line in only] == [ids[0]]
    missing = cli(queued, "queue", "export", "-o", str(tmp_path / "no" / "such" / "dir.md"))
    assert missing.exit_code == 2


def test_model_text_is_escaped_in_the_markdown_and_the_terminal(home: Path) -> None:
    def hostile(persona: str, n: int) -> tuple[str, str]:
        return HOSTILE_TITLE.format(n=n), f"{persona} would probe circuit {n} <img src=x onerror=alert(1)>."

    night(home, ["doomimir"], script=ScriptedResearcher(scores=lambda p, n: 8, idea_text=hostile))
    items = listed(home)
    assert items and "<script>" in items[0]["idea"]["title"]  # the raw text is kept in the data
    report = cli(home, "queue", "export", "--format", "md").stdout
    assert "<script>" not in report and "<img" not in report and "&lt;script&gt;" in report
    assert "[x](javascript:alert(1))" not in report and "\\[x\\](javascript:alert(1))" in report
    # Rich markup in model text is shown, not obeyed (an unescaped "[/bold]" would even crash rich).
    for args in (("queue", "list"), ("queue", "show", items[0]["id"])):
        shown = cli(home, *args)
        assert shown.exit_code == 0, shown.output
        assert "[link=https://evil.test]" in shown.stdout.replace("\n", "")


def test_stats_with_known_agreement(queued: Path) -> None:
    before = cli(queued, "queue", "stats")
    assert before.exit_code == 0 and "n/a (no decided pairs yet)" in before.stdout
    items = listed(queued)
    best, worst = items[0], items[-1]
    cli(queued, "queue", "decide", best["id"], "accept")
    cli(queued, "queue", "decide", worst["id"], "reject", "--note", "weak")
    stats = json.loads(cli(queued, "queue", "stats", "--json").stdout)
    overall = stats["overall"]
    assert overall["counts"] == {"queued": 4, "pending": 2, "accepted": 1, "rejected": 1, "deferred": 0}
    assert overall["accepted_scores"]["mean"] == 9.0 and overall["rejected_scores"]["mean"] == 5.0
    assert overall["agreement"] == {
        "pairs": 1, "concordant": 1, "discordant": 0, "ties": 0, "agreement": 1.0, "tau": 1.0
    }
    assert set(stats["personas"]) == {"doomimir", "simplicia"}
    # Now disagree with the critic: accept the lower-ranked of a pair and reject the higher.
    cli(queued, "queue", "decide", items[1]["id"], "reject")
    cli(queued, "queue", "decide", items[2]["id"], "accept")
    overall = json.loads(cli(queued, "queue", "stats", "--json").stdout)["overall"]
    accepted, rejected = (items[0], items[2]), (items[1], items[3])
    wins = [1.0 if a["rank_score"] > r["rank_score"] else 0.5 if a["rank_score"] == r["rank_score"] else 0.0
            for a in accepted for r in rejected]
    expected = sum(wins) / 4
    assert wins[2] == 0.0  # items[2] (scored 5) below items[1] (scored 9): the critic disagrees there
    assert overall["agreement"]["pairs"] == 4 and overall["agreement"]["agreement"] == pytest.approx(expected)
    text = cli(queued, "queue", "stats").stdout
    assert f"{expected:.2f} over 4 pairs" in text


def test_review_screen_accept_reject_with_note_quit(queued: Path) -> None:
    order = [i["id"] for i in listed(queued)]
    result = cli(queued, "review", input=f"a\nn\n{NOTE}\nr\nq\n")
    assert result.exit_code == 0, result.output
    assert "1 of 4 · 4 left" in result.stdout and "2 of 4 · 3 left" in result.stdout
    assert "3 of 4" in result.stdout  # shown, then quit
    assert "2 not reached" in result.stdout
    after = {i["id"]: i for i in listed(queued)}
    assert (after[order[0]]["status"], after[order[0]]["note"]) == ("accepted", "")
    assert (after[order[1]]["status"], after[order[1]]["note"]) == ("rejected", NOTE)
    assert [after[i]["status"] for i in order[2:]] == ["pending", "pending"]
    said = feedback(queued)
    assert set(said) == {order[0], order[1]}
    assert "ACCEPTED" in said[order[0]] and f"because: {NOTE}" in said[order[1]]


def test_review_inline_notes_skip_defer_and_deferred_come_last(queued: Path) -> None:
    order = [i["id"] for i in listed(queued)]
    result = cli(queued, "review", input="s\nd later maybe\nxyz\nr too vague\n")
    assert result.exit_code == 0, result.output
    assert "Unknown key" in result.stdout
    after = {i["id"]: i for i in listed(queued)}
    assert after[order[0]]["status"] == "pending"
    assert (after[order[1]]["status"], after[order[1]]["note"]) == ("deferred", "later maybe")
    assert (after[order[2]]["status"], after[order[2]]["note"]) == ("rejected", "too vague")
    # Next sitting: pending ones first, then the deferred one; its note stays unless replaced.
    again = cli(queued, "review", input="s\ns\na\n")
    assert again.exit_code == 0, again.output
    deferred = listed(queued, "--status", "accepted")
    assert [(i["id"], i["note"]) for i in deferred] == [(order[1], "later maybe")]


def test_review_filters_and_provenance(home: Path) -> None:
    night(home, ["doomimir", "simplicia"], depth=2)
    doom = listed(home, "--persona", "doomimir")
    cited = [i for i in doom if i["idea"]["builds_on"]]
    assert cited, "day-2 ideas cite the day-1 notebook"
    position = [i["id"] for i in doom].index(cited[0]["id"])
    keys = "s\n" * position + "p\nq\n"
    result = cli(home, "review", "--persona", "Doomimir", "--session", "s1", input=keys)
    assert result.exit_code == 0, result.output
    assert f"1 of {len(doom)} · {len(doom)} left" in result.stdout
    assert "simplicia" not in result.stdout.lower()
    notebook = cited[0]["idea"]["builds_on"][0]
    assert f"notebook {notebook}" in result.stdout
    assert "Doomimir tried some ideas" in result.stdout  # the notebook's own text
    other = cli(home, "review", "--session", "s0", input="q\n")
    assert "Nothing to review." in other.stdout


def test_review_without_input_exits_cleanly(queued: Path) -> None:
    result = cli(queued, "review", input="")
    assert result.exit_code == 0, result.output
    assert "Saved: no decisions." in result.stdout
    assert {i["status"] for i in listed(queued)} == {"pending"}


def test_review_of_an_empty_queue(home: Path) -> None:
    result = cli(home, "review")
    assert result.exit_code == 0, result.output
    assert "Nothing to review." in result.stdout


def test_feedback_ids_are_per_idea(queued: Path) -> None:
    target = listed(queued)[0]["id"]
    cli(queued, "queue", "decide", target, "accept")
    cli(queued, "queue", "decide", target, "defer", "--note", "wait for the results")
    said = feedback(queued)
    assert list(said) == [target] and "DEFERRED" in said[target]
    svc = make_services(queued, FakeChatModel())
    try:
        assert svc.log.get(stable_id(target, "feedback")) is not None
    finally:
        svc.close()
