"""Reviewers who can disagree, through the real CLI on a real home (SQLite, or PostgreSQL under
TEST_DATABASE=postgres): every decision names its reviewer (flag, env, login), each reviewer's own
decision is kept beside the others', a second opinion is blind to the first, undo takes back only the
sitting's reviewer's decision, and `queue stats` measures reviewer against reviewer."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.errors import BadInput
from groundhog.core.records import CritiqueResult, Idea, QueueItem, Scores
from groundhog.core.reviewer import check_reviewer, login_name, resolve_reviewer
from groundhog.review.undo import DecisionJournal
from testkit.fakes import FakeChatModel, HashEmbedder, make_services

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
FIRST_NOTE = "zebra-marmalade: the first reviewer's private reason"


def queued_item(n: int, *, origin: str = "survivor") -> QueueItem:
    """Idea n, ranked below idea n - 1, so the review order is 0, 1, 2, ..."""
    idea_id = f"idea{n:04d}"
    return QueueItem(
        idea=Idea(id=idea_id, title=f"Idea number {n}", summary="A summary.", persona="doomimir", session="s1", day=1),
        critique=CritiqueResult(
            idea_id=idea_id,
            verdict="pass" if origin == "survivor" else "fail",
            scores=Scores(novelty=6, feasibility=6, relevance=6, clarity=6),
            reasoning="The critic's reasoning.",
        ),
        rank_score=1.0 - n / 1000,
        origin=origin,  # type: ignore[arg-type]
        queued_at=T0,
    )


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with `count` queued ideas (set per test with `fill`); the CLI's embedder is the fake."""
    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    monkeypatch.setattr("getpass.getuser", lambda: "login-lee")
    return isolated_home


def fill(home: Path, count: int, *, audit: tuple[int, ...] = ()) -> list[str]:
    svc = make_services(home, FakeChatModel())
    try:
        for n in range(count):
            svc.queue.add(queued_item(n, origin="audit" if n in audit else "survivor"))
    finally:
        svc.close()
    return [f"idea{n:04d}" for n in range(count)]


def cli(home: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, [*args, "--home", str(home)], input=input, env=env)


def shown(home: Path, idea_id: str) -> dict[str, Any]:
    result = cli(home, "queue", "show", idea_id, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def made(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(d["reviewer"], d["status"], d["note"]) for d in record["decisions"]]


# --- who decided ---------------------------------------------------------------------------------------


def test_a_reviewer_name_is_one_line_of_visible_text(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_reviewer("  Ada Lovelace ") == "Ada Lovelace"
    assert check_reviewer("bea.k-2@lab") == "bea.k-2@lab"
    for bad, said in [
        ("", "is empty"),
        ("   ", "is empty"),
        ("a\x1b[2Jb", "U+001B"),
        ("two\nlines", "U+000A"),
        ("evil\u202eeman", "U+202E"),
        ("zero\u200bwidth", "U+200B"),
        ("x" * 65, "at most 64"),
    ]:
        with pytest.raises(BadInput, match=re.escape(said)) as info:
            check_reviewer(bad, "--reviewer")
        assert str(info.value).startswith("--reviewer: ") and "\n" not in str(info.value)
        assert "\x1b" not in str(info.value)
    assert resolve_reviewer(None, {"GROUNDHOG_REVIEWER": "bea"}) == "bea"
    assert resolve_reviewer("cyd", {"GROUNDHOG_REVIEWER": "bea"}) == "cyd"
    with pytest.raises(BadInput, match=r"^GROUNDHOG_REVIEWER: the reviewer name is empty"):
        resolve_reviewer(None, {"GROUNDHOG_REVIEWER": ""})
    monkeypatch.setattr("getpass.getuser", lambda: "dee")
    assert resolve_reviewer(None, {}) == "dee"

    def no_user() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert login_name() == "reviewer"
    monkeypatch.setattr("getpass.getuser", lambda: "bad\x07name")
    assert login_name() == "reviewer"


def test_the_reviewer_comes_from_the_flag_else_the_env_else_the_login(home: Path) -> None:
    ids = fill(home, 4)
    assert cli(home, "queue", "decide", ids[0], "accept", "--reviewer", "ada").exit_code == 0
    assert cli(home, "queue", "decide", ids[1], "reject", env={"GROUNDHOG_REVIEWER": "bea"}).exit_code == 0
    done = cli(home, "queue", "decide", ids[2], "defer", "--note", "later")
    assert done.exit_code == 0 and "by login-lee" in done.stdout
    flag_wins = cli(home, "queue", "decide", ids[3], "accept", "--reviewer", "cyd", env={"GROUNDHOG_REVIEWER": "bea"})
    assert flag_wins.exit_code == 0
    for idea_id, who in zip(ids, ("ada", "bea", "login-lee", "cyd"), strict=True):
        record = shown(home, idea_id)
        assert record["reviewer"] == who and [d["reviewer"] for d in record["decisions"]] == [who]
    listing = json.loads(cli(home, "queue", "list", "--json").stdout)
    assert [i["reviewer"] for i in listing] == ["ada", "bea", "login-lee", "cyd"]
    text = cli(home, "queue", "show", ids[2]).stdout
    assert "by login-lee" in text and "note: later" in text


def test_a_bad_reviewer_name_is_one_line_exit_2_and_nothing_is_stored(home: Path) -> None:
    (idea_id,) = fill(home, 1)
    for args, env, named in [
        (["--reviewer", ""], None, "--reviewer: "),
        (["--reviewer", "a\x1b]52;c;x\x07b"], None, "--reviewer: "),
        ([], {"GROUNDHOG_REVIEWER": "  "}, "GROUNDHOG_REVIEWER: "),
    ]:
        result = cli(home, "queue", "decide", idea_id, "accept", *args, env=env)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"groundhog: error: {named}") and "\x1b" not in lines[0]
    assert cli(home, "review", "--reviewer", "\t").exit_code == 2
    assert cli(home, "review", "--web", "--second-opinion").exit_code == 2
    record = shown(home, idea_id)
    assert (record["status"], record["decisions"], record["reviewer"]) == ("pending", [], None)


def test_each_reviewer_keeps_their_own_decision_and_the_queue_shows_the_latest(home: Path) -> None:
    ids = fill(home, 1)
    cli(home, "queue", "decide", ids[0], "accept", "--reviewer", "ada", "--note", "promising")
    cli(home, "queue", "decide", ids[0], "reject", "--reviewer", "bea", "--note", "done before")
    cli(home, "queue", "decide", ids[0], "defer", "--reviewer", "ada", "--note", "on reflection")
    record = shown(home, ids[0])
    assert made(record) == [("bea", "rejected", "done before"), ("ada", "deferred", "on reflection")]
    assert (record["status"], record["note"], record["reviewer"]) == ("deferred", "on reflection", "ada")
    assert json.loads(cli(home, "queue", "list", "--status", "deferred", "--json").stdout)[0]["id"] == ids[0]
    text = cli(home, "queue", "show", ids[0]).stdout
    assert "bea rejected" in text and "ada deferred" in text
    report = cli(home, "queue", "export", "--format", "md").stdout
    assert "by ada" in report and "**Decision of bea:** rejected" in report and "done before" in report
    (exported,) = json.loads(cli(home, "queue", "export", "--format", "json").stdout)
    assert made(exported) == made(record)


def test_undo_takes_back_only_this_reviewers_decision(home: Path) -> None:
    (idea_id,) = fill(home, 1)
    svc = make_services(home, FakeChatModel())
    try:
        ada, bea = DecisionJournal(svc.queue, svc.log, "ada"), DecisionJournal(svc.queue, svc.log, "bea")
        ada.decide(idea_id, "accept", "keep")
        bea.decide(idea_id, "reject", "no")
        assert svc.queue.get(idea_id).reviewer == "bea"
        bea.undo()  # the row is ada's decision again, bea's own is gone, and so is bea's feedback
        item = svc.queue.get(idea_id)
        assert (item.status, item.note, item.reviewer) == ("accepted", "keep", "ada")
        assert [(d.reviewer, d.status) for d in item.decisions] == [("ada", "accepted")]
        entries = svc.log.entries(kind="feedback")
        assert [(e.meta["reviewer"], e.meta["decision"]) for e in entries] == [("ada", "accepted")]
        ada.decide(idea_id, "defer", "wait")  # a changed mind: undo restores ada's earlier decision
        ada.undo()
        item = svc.queue.get(idea_id)
        assert [(d.reviewer, d.status, d.note) for d in item.decisions] == [("ada", "accepted", "keep")]
        assert (item.status, item.note) == ("accepted", "keep")
        bea.decide(idea_id, "reject", "no")
        with pytest.raises(BadInput, match="decided again elsewhere"):
            ada.undo()  # bea's decision is newer: ada's is not taken back from under it
    finally:
        svc.close()
    record = shown(home, idea_id)
    assert made(record) == [("ada", "accepted", "keep"), ("bea", "rejected", "no")]
    assert (record["status"], record["reviewer"]) == ("rejected", "bea")


# --- second opinions -----------------------------------------------------------------------------------


def test_a_second_opinion_is_blind_to_the_first_decision(home: Path) -> None:
    ids = fill(home, 3, audit=(0,))
    cli(home, "queue", "decide", ids[0], "reject", "--reviewer", "ada", "--note", FIRST_NOTE)
    cli(home, "queue", "decide", ids[1], "accept", "--reviewer", "ada", "--note", FIRST_NOTE)
    looked = cli(home, "review", "--second-opinion", "--reviewer", "bea", input="n\n\nq\n")
    assert looked.exit_code == 0, looked.output
    out = looked.stdout
    assert "Second opinions as bea: 2 ideas" in out and "Idea number 0" in out and "Idea number 2" not in out
    for leak in (FIRST_NOTE, "zebra", "ada", "rejected", "accepted", "audit item", "decided 2"):
        assert leak not in out, leak
    assert "status pending" in out and "Current note" not in out
    done = cli(home, "review", "--second-opinion", "--reviewer", "bea", input="a\nr\n")
    assert done.exit_code == 0, done.output
    assert FIRST_NOTE not in done.stdout and "ada" not in done.stdout
    first, second = shown(home, ids[0]), shown(home, ids[1])
    assert made(first) == [("ada", "rejected", FIRST_NOTE), ("bea", "accepted", "")]  # bea's own, no note carried
    assert made(second) == [("ada", "accepted", FIRST_NOTE), ("bea", "rejected", "")]
    assert shown(home, ids[2])["decisions"] == []  # pending: nobody's to second
    again = cli(home, "review", "--second-opinion", "--reviewer", "bea")
    assert "Second opinions as bea: 0 ideas" in again.stdout and "Nothing to review." in again.stdout
    mine = cli(home, "review", "--second-opinion", "--reviewer", "ada")
    assert "0 ideas" in mine.stdout  # everything ada decided has bea's opinion; none is offered back to ada
    cyd = cli(home, "review", "--second-opinion", "--reviewer", "cyd", input="q\n")
    assert "2 ideas" in cyd.stdout


# --- agreement -----------------------------------------------------------------------------------------

# Two reviewers over the same 40 ideas: ada's decision (rows) against bea's (columns).
CONFUSION = {
    "accepted": {"accepted": 12, "rejected": 3, "deferred": 1},
    "rejected": {"accepted": 2, "rejected": 14, "deferred": 2},
    "deferred": {"accepted": 1, "rejected": 1, "deferred": 4},
}
KEY = {"accepted": "a", "rejected": "r", "deferred": "d"}


def test_kappa_of_two_reviewers_over_40_ideas_is_the_hand_computed_one(home: Path) -> None:
    pairs = [(a, b) for a, row in CONFUSION.items() for b, n in row.items() for _ in range(n)]
    assert len(pairs) == 40
    ids = fill(home, 40)
    first = cli(home, "review", "--reviewer", "ada", input="".join(KEY[a] + "\n" for a, _ in pairs))
    assert first.exit_code == 0 and "Saved: " in first.stdout, first.output
    second = cli(
        home, "review", "--second-opinion", "--reviewer", "bea", input="".join(KEY[b] + "\n" for _, b in pairs)
    )
    assert second.exit_code == 0 and "40 ideas decided by someone else" in second.stdout, second.output
    listing = {i["id"]: i for i in json.loads(cli(home, "queue", "list", "--json").stdout)}
    for idea_id, (a, b) in zip(ids, pairs, strict=True):  # each idea got the decisions meant for it
        assert {d["reviewer"]: d["status"] for d in listing[idea_id]["decisions"]} == {"ada": a, "bea": b}

    # By hand: N = 40; observed agreement p_o = (12 + 14 + 4) / 40 = 0.75. Ada's row totals are
    # 16, 18, 6 and bea's column totals 15, 18, 7, so chance agreement p_e = (16*15 + 18*18 + 6*7) / 40^2
    # = 606 / 1600 = 0.37875, and kappa = (p_o - p_e) / (1 - p_e) = 0.37125 / 0.62125 = 0.5976.
    p_o = (12 + 14 + 4) / 40
    p_e = (16 * 15 + 18 * 18 + 6 * 7) / 40**2
    kappa = (p_o - p_e) / (1 - p_e)
    assert round(kappa, 3) == 0.598

    data = json.loads(cli(home, "queue", "stats", "--json").stdout)["reviewers"]
    assert data["reviewers"] == {"ada": 40, "bea": 40} and data["alpha"] is None
    (pair,) = data["pairs"]
    assert pair["reviewers"] == ["ada", "bea"] and pair["items"] == 40 and pair["confusion"] == CONFUSION
    assert round(pair["kappa"], 3) == round(kappa, 3)
    assert pair["observed"] == pytest.approx(p_o) and pair["expected"] == pytest.approx(p_e)
    assert 0.3 < pair["low"] < kappa < pair["high"] < 0.9
    assert "bootstrap over ideas" in data["method"] and "seed" in data["method"]
    again = json.loads(cli(home, "queue", "stats", "--json").stdout)["reviewers"]["pairs"][0]
    assert (again["low"], again["high"]) == (pair["low"], pair["high"])  # seeded: the same interval
    text = cli(home, "queue", "stats").stdout
    assert "Cohen's kappa" in text and f"{kappa:.3f} [{pair['low']:.3f}, {pair['high']:.3f}]" in text
    assert "ada · bea" in text and "critic vs human" in text  # beside the critic's figures


def test_alpha_of_three_reviewers_and_a_pair_per_two(home: Path) -> None:
    ids = fill(home, 6)
    decisions = {  # idea -> (ada, bea, cyd); None: not decided by that reviewer
        0: ("accept", "accept", "accept"),
        1: ("reject", "reject", "reject"),
        2: ("accept", "reject", None),
        3: ("reject", None, "reject"),
        4: ("defer", "defer", "accept"),
        5: (None, "accept", "accept"),
    }
    for n, row in decisions.items():
        for who, word in zip(("ada", "bea", "cyd"), row, strict=True):
            if word:
                assert cli(home, "queue", "decide", ids[n], word, "--reviewer", who).exit_code == 0
    data = json.loads(cli(home, "queue", "stats", "--json").stdout)["reviewers"]
    assert [p["reviewers"] for p in data["pairs"]] == [["ada", "bea"], ["ada", "cyd"], ["bea", "cyd"]]
    assert [p["items"] for p in data["pairs"]] == [4, 4, 4]
    # By hand, the coincidences (accepted, rejected, deferred): ideas 0 and 1 give 6 agreeing pairs at
    # 1/2 each, o_aa += 3 and o_rr += 3; ideas 2 and 5 (two values) give o_ar = o_ra = 1 and o_aa = 2;
    # idea 3 gives o_rr = 2; idea 4 (d, d, a) gives o_dd = 1, o_da = o_ad = 1. So n_a = 3+1+2+1 = 7,
    # n_r = 3+1+2 = 6, n_d = 1+1 = 2, n = 15; disagreeing coincidences 1+1+1+1 = 4; and
    # alpha = 1 - (n - 1) * 4 / (n^2 - (7^2 + 6^2 + 2^2)) = 1 - 14 * 4 / (225 - 89) = 1 - 56/136.
    alpha = data["alpha"]
    assert alpha["reviewers"] == ["ada", "bea", "cyd"] and (alpha["items"], alpha["decisions"]) == (6, 15)
    assert alpha["alpha"] == pytest.approx(1 - 56 / 136)
    assert alpha["low"] is not None and alpha["low"] <= alpha["alpha"] <= alpha["high"] <= 1.0
    assert "Krippendorff's alpha (nominal), 3 reviewers over 6 ideas" in cli(home, "queue", "stats").stdout


def test_the_review_page_decides_as_its_reviewer_and_shows_every_decision(home: Path) -> None:
    from starlette.testclient import TestClient

    from groundhog.commands.web import prepare
    from groundhog.web.app import create_app

    (idea_id,) = fill(home, 1)
    for who, word, note in (("ada", "accept", "promising"), ("bea", "reject", "<b>seen it</b>")):
        svc = make_services(home, FakeChatModel())
        page = create_app(lambda svc=svc: (svc.queue, svc.log), close_stores=svc.close, reviewer=who)
        with TestClient(page, base_url="http://127.0.0.1:8765") as client:
            posted = {"token": page.state.token, "id": idea_id, "decision": word, "note": note, "q": ""}
            assert client.post("/decide", data=posted, follow_redirects=False).status_code == 303
            html = client.get("/", params={"id": idea_id, "status": "all"}).text
    assert made(shown(home, idea_id)) == [("ada", "accepted", "promising"), ("bea", "rejected", "<b>seen it</b>")]
    assert 'deciding as <strong class="reviewer">bea</strong>' in html
    assert '<span class="reviewer">ada</span> <span class="status-accepted">accepted</span>' in html
    assert "&lt;b&gt;seen it&lt;/b&gt;" in html and "<b>seen it</b>" not in html  # a note is escaped too
    served = prepare(home, port=0, reviewer="cyd")  # `review --web --reviewer cyd`
    try:
        assert served.worker.reviewer == "cyd"
    finally:
        served.sock.close()
        served.worker.shutdown()
