"""The review queue on a real SQLite file, its export and its statistics."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from groundhog.core.errors import BadInput
from groundhog.core.records import CritiqueResult, Flag, Idea, QueueItem, Scores
from groundhog.review.export import escape_md, export
from groundhog.review.stats import queue_stats
from groundhog.store.queue import ReviewQueue, rank_score
from groundhog.store.sqlite import open_sqlite

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


class Clock:
    """A clock that moves one minute per reading, so decided_at is predictable."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def make_item(
    idea_id: str,
    *,
    rank: float = 0.5,
    persona: str = "ada",
    session: str = "s1",
    queued_at: datetime = T0,
    status: str = "pending",
    title: str | None = None,
    scores: tuple[int, int, int, int] | None = (6, 7, 8, 9),
) -> QueueItem:
    idea = Idea(
        id=idea_id,
        title=title or f"Idea {idea_id}",
        summary=f"Summary of {idea_id}.",
        rationale="Because it helps.",
        builds_on=["earlier1", "earlier2"],
        persona=persona,
        session=session,
        day=3,
        present=date(2026, 11, 23),
        revision=1,
        parent_id="parent0",
    )
    critique = CritiqueResult(
        idea_id=idea_id,
        verdict="pass",
        flags=[Flag(name="weird", reason="mentions 2050", ref=None)],
        scores=Scores(novelty=scores[0], feasibility=scores[1], relevance=scores[2], clarity=scores[3])
        if scores
        else None,
        reasoning="Sound but narrow.",
        weakest_point="No evaluation plan.",
        critic="bea",
        cross=[CritiqueResult(idea_id=idea_id, verdict="pass", critic="cyd", reasoning="fine")],
    )
    return QueueItem(
        idea=idea,
        critique=critique,
        rank_score=rank,
        novelty=0.4,
        status=status,  # type: ignore[arg-type]
        queued_at=queued_at,
    )


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "groundhog.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queue(request: pytest.FixtureRequest, db_file: Path) -> Iterator[ReviewQueue]:
    """The queue on each store: the SQLite file, and a fresh database on the run's PostgreSQL."""
    if request.param == "postgres":
        from groundhog.store.postgres import open_postgres

        db = open_postgres(request.getfixturevalue("pg_url"))
    else:
        db = open_sqlite(db_file)
    try:
        yield ReviewQueue(db, clock=Clock())
    finally:
        db.close()


# --- the queue ---------------------------------------------------------------------------------------


def test_add_is_idempotent(queue: ReviewQueue) -> None:
    item = make_item("aaaa1111")
    assert queue.add(item) is True
    assert queue.add(item) is False
    assert queue.add(make_item("aaaa1111", rank=0.9, title="changed")) is False
    assert sum(queue.counts().values()) == 1
    assert queue.get("aaaa1111").idea.title == "Idea aaaa1111"


def test_item_round_trips_exactly(queue: ReviewQueue) -> None:
    item = make_item("roundtrip", queued_at=datetime(2026, 11, 23, 6, 0, 0, 123456, tzinfo=UTC))
    queue.add(item)
    assert queue.get("roundtrip") == item
    unscored = make_item("unscored", scores=None)
    queue.add(unscored)
    assert queue.get("unscored") == unscored


def test_add_counts_new_rows_and_joins_callers_transaction(queue: ReviewQueue) -> None:
    assert [queue.add(make_item(i)) for i in ("a0000001", "a0000002", "a0000001")] == [True, True, False]
    with pytest.raises(RuntimeError), queue.db.begin():
        queue.add(make_item("b0000001"))
        queue.add(make_item("b0000002"))
        raise RuntimeError("the caller's larger write fails")
    assert {i.id for i in queue.list()} == {"a0000001", "a0000002"}


def test_list_orders_by_rank_then_age(queue: ReviewQueue) -> None:
    queue.add(make_item("low", rank=0.2, queued_at=T0))
    queue.add(make_item("tie_young", rank=0.7, queued_at=T0 + timedelta(hours=2)))
    queue.add(make_item("tie_old", rank=0.7, queued_at=T0 + timedelta(hours=1)))
    queue.add(make_item("best", rank=0.9, queued_at=T0 + timedelta(hours=3)))
    assert [i.id for i in queue.list()] == ["best", "tie_old", "tie_young", "low"]
    assert [i.id for i in queue.list(limit=2)] == ["best", "tie_old"]


def test_list_filters(queue: ReviewQueue) -> None:
    queue.add(make_item("ada_s1", persona="ada", session="s1"))
    queue.add(make_item("ada_s2", persona="ada", session="s2"))
    queue.add(make_item("bea_s1", persona="bea", session="s1"))
    assert {i.id for i in queue.list(persona="ada")} == {"ada_s1", "ada_s2"}
    assert {i.id for i in queue.list(session="s1")} == {"ada_s1", "bea_s1"}
    assert [i.id for i in queue.list(session="s1", persona="bea")] == ["bea_s1"]
    with pytest.raises(BadInput, match="unknown status"):
        queue.list(status="maybe")
    with pytest.raises(BadInput):
        queue.list(limit=-1)


def test_decide_sets_status_note_and_time(queue: ReviewQueue) -> None:
    for n, rank in enumerate((0.3, 0.8, 0.5)):
        queue.add(make_item(f"idea{n}", rank=rank))
    decided = queue.decide("idea1", "accept", note="worth a week")
    assert decided.status == "accepted"
    assert decided.note == "worth a week"
    assert decided.decided_at == T0 + timedelta(minutes=1)
    queue.decide("idea2", "reject")
    assert [i.id for i in queue.list(status="accepted")] == ["idea1"]
    assert [i.id for i in queue.list(status="rejected")] == ["idea2"]
    assert [i.id for i in queue.list(status="pending")] == ["idea0"]
    assert queue.counts() == {"pending": 1, "accepted": 1, "rejected": 1, "deferred": 0}


def test_deciding_again_overwrites(queue: ReviewQueue) -> None:
    queue.add(make_item("change1"))
    queue.decide("change1", "accept", note="first thought")
    again = queue.decide("change1", "defer", note="on reflection")
    assert (again.status, again.note) == ("deferred", "on reflection")
    assert again.decided_at == T0 + timedelta(minutes=2)
    assert queue.counts()["accepted"] == 0


def test_decide_refuses_bad_words_and_unknown_ids(queue: ReviewQueue) -> None:
    queue.add(make_item("known1"))
    with pytest.raises(BadInput, match="accept, reject or defer"):
        queue.decide("known1", "approve")
    with pytest.raises(BadInput, match="no queued idea with id 'missing1'"):
        queue.decide("missing1", "accept")
    assert queue.get("known1").status == "pending"


def test_get_by_unique_prefix(queue: ReviewQueue) -> None:
    queue.add(make_item("abcdef0123"))
    queue.add(make_item("abcdff4567"))
    assert queue.get("abcde").id == "abcdef0123"
    assert queue.decide("abcdf", "reject").id == "abcdff4567"
    with pytest.raises(BadInput, match="several"):
        queue.get("abcd")
    with pytest.raises(BadInput, match="no queued idea with id 'abc'"):
        queue.get("abc")  # shorter than 4 characters: never a prefix
    with pytest.raises(BadInput, match="no queued idea with id 'zzzz'"):
        queue.get("zzzz")
    with pytest.raises(BadInput, match="no queued idea with id 'ABCDE'"):
        queue.get("ABCDE")


def test_prefix_is_literal_not_a_pattern(queue: ReviewQueue) -> None:
    queue.add(make_item("a_b%cdef"))
    queue.add(make_item("axbycdef"))
    assert queue.get("a_b%").id == "a_b%cdef"
    with pytest.raises(BadInput, match="no queued idea"):
        queue.get("a%%%")


def test_rank_score_is_best_first() -> None:
    def critique(score: int | None) -> CritiqueResult:
        if score is None:
            return CritiqueResult(idea_id="x", verdict="pass")
        scores = Scores(novelty=score, feasibility=score, relevance=score, clarity=score)
        return CritiqueResult(idea_id="x", verdict="pass", scores=scores)

    assert rank_score(critique(10), 1.0) == pytest.approx(1.0)
    assert rank_score(critique(1), 0.0) == pytest.approx(0.0)
    assert rank_score(critique(None), 0.0) == pytest.approx(0.0)
    assert rank_score(critique(10), 0.0) == pytest.approx(0.75)
    assert rank_score(critique(1), 1.0) == pytest.approx(0.25)
    assert rank_score(critique(8), 0.5) > rank_score(critique(7), 0.5)
    assert rank_score(critique(10), 0.0) > rank_score(critique(1), 1.0)  # the rubric weighs more
    assert rank_score(critique(7), 0.9) > rank_score(critique(7), 0.1)
    assert rank_score(critique(5), 3.0) == rank_score(critique(5), 1.0)  # novelty clamped


def test_decision_survives_a_crash_right_after_it_is_made(db_file: Path) -> None:
    db = open_sqlite(db_file)
    try:
        ReviewQueue(db).add(make_item("crash0001"))
    finally:
        db.close()
    child = textwrap.dedent(
        """
        import os, signal, sys
        from pathlib import Path
        from groundhog.store.queue import ReviewQueue
        from groundhog.store.sqlite import open_sqlite
        db = open_sqlite(Path(sys.argv[2]))
        ReviewQueue(db).decide("crash0001", "accept", note="keep this")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(ROOT), str(db_file)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -9, done.stderr
    db = open_sqlite(db_file)
    try:
        item = ReviewQueue(db).get("crash0001")
    finally:
        db.close()
    assert (item.status, item.note) == ("accepted", "keep this")
    assert item.decided_at is not None


# --- export ------------------------------------------------------------------------------------------


HOSTILE = "# Approve me\n<script>alert(1)</script> [click](javascript:alert(1)) **bold** `code`"


def test_escape_md_makes_model_text_inert() -> None:
    out = escape_md(HOSTILE)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert not any(line.startswith("#") for line in out.splitlines())
    assert "[click](" not in out and "\\[click\\](javascript" in out
    assert "**" not in out.replace("\\*", "")
    assert "`" not in out.replace("\\`", "")
    assert escape_md("1. not a list") == "1\\. not a list"
    assert escape_md("- not a bullet\n---") == "\\- not a bullet\n\\---"
    assert escape_md("    indented code\n\n\n> quote") == "indented code\n\n&gt; quote"
    assert escape_md("a\n\nb   c\nd", inline=True) == "a b c d"


def test_markdown_report(queue: ReviewQueue) -> None:
    queue.add(make_item("md000001", persona="ada", rank=0.9, title=HOSTILE))
    queue.add(make_item("md000002", persona="bea", rank=0.4))
    queue.add(make_item("md000003", persona="ada", rank=0.6))
    queue.decide("md000002", "reject", note="<b>no</b>")
    report = export(queue.list(), "md", generated_at=T0)
    lines = report.splitlines()
    assert lines[0] == "# groundhog: ideas for review"
    assert "Date: 2026-11-23" in report
    assert "3 ideas: 2 pending, 0 accepted, 1 rejected, 0 deferred" in report
    assert [line for line in lines if line.startswith("## ")] == ["## ada (2)", "## bea (1)"]
    assert [line for line in lines if line.startswith("# ")] == ["# groundhog: ideas for review"]
    assert "<script>" not in report and "<b>" not in report
    assert "[click](" not in report
    assert "&lt;script&gt;" in report
    # ada's ideas in rank order, then bea's
    assert report.index("Idea md000003") < report.index("Idea md000002")
    assert report.index("&lt;script&gt;") < report.index("Idea md000003")
    for expected in (
        "Sound but narrow.",
        "No evaluation plan.",
        "Because it helps.",
        "Summary of md000003.",
        "novelty 6, feasibility 7, relevance 8, clarity 9 (mean 7.50)",
        "0.600",
        "session s1; day 3; present 2026-11-23; revision 1; revises parent0; builds on earlier1, earlier2",
        "rejected",
        "mentions 2050",
    ):
        assert expected in report, expected


def test_json_and_jsonl_parse_back(queue: ReviewQueue) -> None:
    queue.add(make_item("js000001", rank=0.9, title=HOSTILE))
    queue.add(make_item("js000002", rank=0.1))
    items = queue.list()
    as_json = json.loads(export(items, "json"))
    assert [o["id"] for o in as_json] == ["js000001", "js000002"]
    assert as_json[0]["idea"]["title"] == HOSTILE  # data formats keep the text as written
    lines = export(items, "jsonl").splitlines()
    assert len(lines) == 2
    for line, item in zip(lines, items, strict=True):
        obj = json.loads(line)
        assert obj.pop("id") == item.id
        assert QueueItem.model_validate(obj) == item
    assert export([], "json").strip() == "[]"
    assert export([], "jsonl") == ""


def test_unknown_export_format_is_bad_input() -> None:
    with pytest.raises(BadInput, match="md, json, jsonl"):
        export([], "csv")


# --- stats -------------------------------------------------------------------------------------------


def decided(idea_id: str, status: str, rank: float, persona: str = "ada") -> QueueItem:
    return make_item(idea_id, rank=rank, status=status, persona=persona)


def test_agreement_when_critic_and_human_agree() -> None:
    items = [
        decided("a1", "accepted", 0.9),
        decided("a2", "accepted", 0.8),
        decided("a3", "accepted", 0.7),
        decided("r1", "rejected", 0.2),
        decided("p1", "pending", 0.95),
        decided("d1", "deferred", 0.1),
    ]
    agreement = queue_stats(items).overall.agreement
    assert (agreement.pairs, agreement.concordant, agreement.discordant, agreement.ties) == (3, 3, 0, 0)
    assert agreement.agreement == pytest.approx(1.0)
    assert agreement.tau == pytest.approx(1.0)


def test_agreement_when_critic_and_human_disagree() -> None:
    items = [
        decided("a1", "rejected", 0.9),
        decided("a2", "rejected", 0.8),
        decided("a3", "rejected", 0.7),
        decided("r1", "accepted", 0.2),
    ]
    agreement = queue_stats(items).overall.agreement
    assert (agreement.pairs, agreement.concordant, agreement.discordant) == (3, 0, 3)
    assert agreement.agreement == pytest.approx(0.0)
    assert agreement.tau == pytest.approx(-1.0)


def test_agreement_mixed_with_ties() -> None:
    # accepted 0.8 beats rejected 0.5 and ties 0.8; accepted 0.3 loses to both.
    items = [
        decided("a1", "accepted", 0.8),
        decided("a2", "accepted", 0.3),
        decided("r1", "rejected", 0.5),
        decided("r2", "rejected", 0.8),
    ]
    agreement = queue_stats(items).overall.agreement
    assert (agreement.pairs, agreement.concordant, agreement.discordant, agreement.ties) == (4, 1, 2, 1)
    assert agreement.agreement == pytest.approx(1.5 / 4)
    assert agreement.tau == pytest.approx(-1 / 4)


def test_agreement_without_pairs_is_none() -> None:
    stats = queue_stats([decided("a1", "accepted", 0.8), decided("p1", "pending", 0.3)])
    assert stats.overall.agreement.pairs == 0
    assert stats.overall.agreement.agreement is None
    assert stats.overall.agreement.tau is None
    assert queue_stats([]).overall.agreement.agreement is None


def test_counts_and_score_means_per_persona() -> None:
    items = [
        make_item("a1", persona="ada", status="accepted", rank=0.9, scores=(8, 8, 8, 8)),
        make_item("a2", persona="ada", status="accepted", rank=0.8, scores=(6, 6, 6, 10)),
        make_item("r1", persona="ada", status="rejected", rank=0.1, scores=(2, 3, 4, 5)),
        make_item("b1", persona="bea", status="pending", rank=0.5),
        make_item("b2", persona="bea", status="deferred", rank=0.5, scores=None),
        make_item("b3", persona="bea", status="rejected", rank=0.95, scores=None),
    ]
    stats = queue_stats(items)
    assert list(stats.personas) == ["ada", "bea"]
    overall = stats.overall.counts
    assert (overall.queued, overall.pending, overall.accepted, overall.rejected, overall.deferred) == (
        6,
        1,
        2,
        2,
        1,
    )
    ada = stats.personas["ada"]
    assert (ada.counts.queued, ada.counts.accepted, ada.counts.rejected) == (3, 2, 1)
    assert ada.accepted_scores.count == 2
    assert ada.accepted_scores.novelty == pytest.approx(7.0)
    assert ada.accepted_scores.clarity == pytest.approx(9.0)
    assert ada.accepted_scores.mean == pytest.approx(7.5)
    assert ada.rejected_scores.mean == pytest.approx(3.5)
    assert ada.agreement.agreement == pytest.approx(1.0)
    bea = stats.personas["bea"]
    assert bea.rejected_scores.count == 0 and bea.rejected_scores.mean is None
    assert bea.agreement.pairs == 0
    # overall pairs cross personas: accepted a1, a2 against rejected r1 (agree) and b3 (disagree)
    assert stats.overall.agreement.pairs == 4
    assert stats.overall.agreement.agreement == pytest.approx(0.5)
    assert stats.overall.rejected_scores.count == 1


def test_stats_over_a_real_queue(queue: ReviewQueue) -> None:
    for n, rank in enumerate((0.9, 0.8, 0.3)):
        queue.add(make_item(f"q{n}", rank=rank))
    queue.decide("q0", "accept")
    queue.decide("q1", "accept")
    queue.decide("q2", "reject")
    stats = queue_stats(queue.list())
    assert stats.overall.agreement.agreement == pytest.approx(1.0)
    assert stats.overall.counts.pending == 0
