"""Auditing the critic: a share of its rejections queued as audit items, shown like any other idea, and
the miss rate, precision and agreement estimated from the decisions with 95% Wilson intervals; the
thresholds fitted to the decisions (`babble --calibrated`)."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.records import CritiqueResult, Flag, Idea, QueueItem, Scores, stable_id
from groundhog.critique.audit import audit_draw, audited, is_candidate
from groundhog.critique.calibrate import calibrate
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.review.stats import critic_audit, queue_stats, wilson
from groundhog.store.sessions import SessionStore
from groundhog.terminal.screen import render_item
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services

PRESENT = date(2026, 11, 23)
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
WORDS = [
    "probe",
    "circuit",
    "monitor",
    "reward",
    "debate",
    "steer",
    "audit",
    "trigger",
    "latent",
    "proxy",
    "honeypot",
    "ablate",
]


def unique_text(persona: str, n: int) -> tuple[str, str]:
    """Ideas whose words differ from idea to idea, so the duplicate screen flags none."""
    h = int(stable_id(persona, n), 16)
    words = [f"{WORDS[(h >> (4 * k)) % len(WORDS)]}{(h >> (3 * k)) % 97}" for k in range(8)]
    return f"{persona} study {n}: " + " ".join(words[:3]), "We test " + " ".join(words) + " on small models."


def item(
    idea_id: str,
    *,
    origin: str = "survivor",
    status: str = "pending",
    persona: str = "ada",
    scores: tuple[int, int, int, int] = (6, 6, 6, 6),
    novelty: float = 0.5,
) -> QueueItem:
    n, f, r, c = scores
    return QueueItem(
        idea=Idea(id=idea_id, title=f"Idea {idea_id}", summary="A summary.", persona=persona, session="s1", day=1),
        critique=CritiqueResult(
            idea_id=idea_id,
            verdict="pass" if origin == "survivor" else "fail",
            scores=Scores(novelty=n, feasibility=f, relevance=r, clarity=c),
            reasoning="The critic's reasoning.",
            critic=persona,
        ),
        origin=origin,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        novelty=novelty,
        queued_at=T0,
    )


def test_the_draw_is_fixed_by_the_id_and_uniform() -> None:
    ids = [stable_id("idea", n) for n in range(20000)]
    draws = [audit_draw(i) for i in ids]
    assert draws == [audit_draw(i) for i in ids] and all(0 <= d < 1 for d in draws)
    for fraction in (0.05, 0.1, 0.3):
        assert abs(sum(d < fraction for d in draws) / len(ids) - fraction) < 0.01
    fail = CritiqueResult(idea_id="x", verdict="fail", scores=Scores(novelty=2, feasibility=2, relevance=2, clarity=2))
    assert is_candidate(fail)
    flagged = fail.model_copy(update={"flags": [Flag(name="manipulation", reason="aimed at the critic")]})
    screened = CritiqueResult(idea_id="x", verdict="fail", flags=[Flag(name="duplicate", reason="d")], critic="screens")
    unjudged = CritiqueResult(idea_id="x", verdict="unjudged")
    assert not any(is_candidate(r) for r in (flagged, screened, unjudged, fail.model_copy(update={"verdict": "pass"})))
    assert audited(fail, "x", 1.0) and not audited(fail, "x", 0.0) and not audited(screened, "x", 1.0)


def test_audit_items_are_queued_at_the_configured_rate(isolated_home: Path) -> None:
    fraction = 0.3
    script = ScriptedResearcher(
        ideas_per_call=6, idea_text=unique_text, scores=lambda persona, n: 9 if n % 5 == 0 else 2
    )
    svc = make_services(
        isolated_home,
        FakeChatModel.with_responder(script),
        loop={"depth": 5, "ideas_per_day": 6},
        critique={"revisions": 0, "audit_fraction": fraction},
    )
    config = new_config(svc.settings, ["doomimir", "simplicia"], session="s1", present=PRESENT)
    assert config.thresholds["audit_fraction"] == fraction  # saved with the session: a resume audits the same
    SessionStore(svc.db).create(config)
    outcome = run_session(make_runner(svc, config), handle_signals=False)
    days = SessionStore(svc.db).days("s1")
    queued = svc.queue.list()
    svc.close()
    assert outcome.status == "completed", outcome.reason
    ideas = [i for d in days for i in d.summary["ideas"]]
    rejected = [i["final_id"] for i in ideas if i["verdict"] == "fail" and not i["flags"]]
    passed = {i["final_id"] for i in ideas if i["verdict"] == "pass"}
    audits = {q.id for q in queued if q.origin == "audit"}
    n, k = len(rejected), len(audits)
    assert n >= 40 and passed
    assert audits == {i for i in rejected if audit_draw(i) < fraction}  # exactly the drawn ones
    assert abs(k - fraction * n) <= 3.3 * math.sqrt(n * fraction * (1 - fraction))  # at the configured rate
    assert {q.id for q in queued if q.origin == "survivor"} == passed  # every survivor, as before
    assert sorted(a for d in days for a in d.summary["audit_ids"]) == sorted(audits)
    assert all(q.critique.verdict == "fail" and q.status == "pending" for q in queued if q.origin == "audit")


def test_the_miss_rate_and_its_interval_on_a_synthetic_decision_set() -> None:
    items = [item(f"a{n}", origin="audit", status="accepted" if n < 10 else "rejected") for n in range(40)]
    items += [item(f"p{n}", origin="audit") for n in range(5)]  # pending: counted nowhere
    items += [item(f"d{n}", origin="audit", status="deferred") for n in range(3)]  # deferred: nor these
    items += [item(f"s{n}", status="accepted" if n < 35 else "rejected", persona="bob") for n in range(50)]
    stats = queue_stats(items)
    a = stats.overall.critic
    assert a.audit_items == 48 and a.survivors == 50
    assert (a.miss_rate.successes, a.miss_rate.trials, a.miss_rate.estimate) == (10, 40, 0.25)
    assert a.miss_rate.low == pytest.approx(0.1419, abs=1e-4) and a.miss_rate.high == pytest.approx(0.4019, abs=1e-4)
    assert (a.precision.successes, a.precision.trials, a.precision.estimate) == (35, 50, 0.7)
    assert (a.agreement.successes, a.agreement.trials) == (35 + 30, 90)
    scipy_stats = pytest.importorskip("scipy.stats")
    for p in (a.miss_rate, a.precision, a.agreement):  # the same interval as scipy's Wilson
        ci = scipy_stats.binomtest(p.successes, p.trials).proportion_ci(method="wilson")
        assert (p.low, p.high) == (pytest.approx(ci.low, abs=1e-6), pytest.approx(ci.high, abs=1e-6))
    assert stats.personas["ada"].critic.miss_rate.estimate == 0.25
    assert stats.personas["ada"].critic.precision.trials == 0 and stats.personas["bob"].critic.audit_items == 0
    none = wilson(0, 0)
    assert none.estimate is None and none.low is None
    edge = wilson(0, 12)
    assert edge.estimate == 0 and edge.low == 0 and 0.2 < (edge.high or 0) < 0.3  # honest for small counts
    assert critic_audit([]).miss_rate.trials == 0


def test_the_review_screen_shows_no_verdict_or_origin_until_the_decision() -> None:
    def shown(i: QueueItem) -> str:
        out = io.StringIO()
        render_item(Console(file=out, width=100), i)
        return out.getvalue()

    pending = shown(item("a1", origin="audit", scores=(2, 2, 2, 2)))
    assert "fail" not in pending and "audit" not in pending and "survivor" not in pending
    assert "(pass)" not in shown(item("s1"))  # a survivor looks the same
    decided = shown(item("a1", origin="audit", status="rejected"))
    assert "audit item" in decided and "(fail)" in decided
    assert "survivor" in shown(item("s1", status="accepted"))


def test_the_review_page_reveals_an_audit_item_only_after_the_decision(isolated_home: Path) -> None:
    from starlette.testclient import TestClient
    from web_support import app_for

    svc = make_services(isolated_home, FakeChatModel())
    svc.queue.add(item("aud00001", origin="audit", scores=(3, 3, 3, 3)))
    svc.queue.add(item("sur00001"))
    svc.close()
    web, _ = app_for(isolated_home)
    with TestClient(web, base_url="http://127.0.0.1:8765") as client:
        html = client.get("/", params={"id": "aud00001"}).text
        assert "verdict-fail" not in html and "audit item" not in html and "verdict-pass" not in html
        done = client.post(
            "/decide", data={"token": web.state.token, "id": "aud00001", "decision": "accept", "note": ""}
        )
        assert done.status_code == 200 and "It was an audit item" in done.text
        html = client.get("/", params={"id": "aud00001", "status": "all"}).text
        assert "audit item: the critic had rejected it" in html and "verdict-fail" in html


def test_queue_stats_reports_the_estimates(isolated_home: Path) -> None:
    svc = make_services(isolated_home, FakeChatModel())
    for n in range(6):
        svc.queue.add(item(f"aud{n:05d}", origin="audit"))
        svc.queue.add(item(f"sur{n:05d}"))
    for n in range(6):
        svc.queue.decide(f"aud{n:05d}", "accept" if n < 2 else "reject")
        svc.queue.decide(f"sur{n:05d}", "accept" if n < 5 else "reject")
    svc.close()
    runner = CliRunner()
    data = json.loads(runner.invoke(app, ["queue", "stats", "--json"]).stdout)
    miss = data["overall"]["critic"]["miss_rate"]
    assert (miss["successes"], miss["trials"]) == (2, 6) and 0 < miss["low"] < 1 / 3 < miss["high"] < 1
    assert data["calibration"]["usable"] is False and "too few decisions" in data["calibration"]["reason"]
    text = runner.invoke(app, ["queue", "stats"]).stdout
    assert "miss rate" in text and "0.33 [0.10, 0.70]" in text and "(2/6)" in text and "(5/6)" in text


def _decisions(n: int = 60) -> list[QueueItem]:
    """The reviewer accepts exactly the ideas with a rubric mean >= 5 and relevance >= 6."""
    out = []
    for k in range(n):
        s = (2 + k % 7, 3 + (k * 3) % 6, 2 + (k * 5) % 8, 4 + k % 5)
        keep = sum(s) / 4 >= 5 and s[2] >= 6
        out.append(item(f"c{k:03d}", origin="audit" if k % 3 == 0 else "survivor", scores=s,
                        status="accepted" if keep else "rejected"))  # fmt: skip
    return out


def test_calibration_learns_thresholds_that_predict_the_decisions() -> None:
    current = {"min_mean": 3.5, "min_each": 1, "min_relevance": 2}
    fitted = calibrate(_decisions(), current)
    assert fitted.usable and fitted.thresholds is not None
    assert fitted.thresholds["min_relevance"] == 6 and 4.5 <= fitted.thresholds["min_mean"] <= 5.0
    assert fitted.cv_accuracy is not None and fitted.cv_accuracy >= 0.9
    assert fitted.baseline_accuracy is not None and fitted.cv_accuracy > fitted.baseline_accuracy
    assert fitted.current_accuracy is not None and fitted.current_accuracy < fitted.cv_accuracy
    assert "cross-validated accuracy" in fitted.describe()
    few = calibrate(_decisions(12), current)
    assert not few.usable and few.thresholds is None and "too few decisions" in few.reason


def test_babble_calibrated_uses_the_fitted_thresholds(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from groundhog.commands import babble as babble_cmd
    from groundhog.commands import common
    from groundhog.compose import services as services_mod
    from groundhog.critique import fitting

    # the learned screen's part of --calibrated has its own test (test_learned_screen.py)
    monkeypatch.setattr(fitting, "ensure_fitted", lambda embedder, on_progress=None: (None, "learned screen left out"))
    model = FakeChatModel.with_responder(ScriptedResearcher(ideas_per_call=1))
    real = services_mod.Services
    fake = lambda settings, **_: real(settings, chat_model=model, embedder=HashEmbedder())  # noqa: E731
    monkeypatch.setattr(services_mod, "Services", fake)
    make = lambda home, **flags: make_services(home, model, **flags)  # noqa: E731
    monkeypatch.setattr(babble_cmd, "services", make)
    monkeypatch.setattr(common, "services", make)
    args = ["babble", "-p", "doomimir", "--depth", "1", "--ideas-per-day", "1", "--present", "2026-11-23"]
    runner = CliRunner()
    few = runner.invoke(app, [*args, "--session", "s0", "--calibrated", "--json"])
    assert few.exit_code == 0, few.output
    assert "too few decisions" in few.stderr
    svc = make_services(isolated_home, model)
    for i in _decisions():
        svc.queue.add(i)
    svc.close()
    done = runner.invoke(app, [*args, "--session", "s1", "--calibrated", "--json"])
    assert done.exit_code == 0, done.output
    assert "--calibrated: critic thresholds mean >=" in done.stderr
    svc = make_services(isolated_home, model)
    saved = SessionStore(svc.db).get("s1").config.thresholds
    svc.close()
    assert saved["min_relevance"] == 6 and saved["min_mean"] >= 4.5
    resumed = runner.invoke(app, ["babble", "--resume", "s1", "--calibrated"])
    assert resumed.exit_code == 2 and "keeps the thresholds" in resumed.output


def test_tune_shows_the_audit_per_day(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from groundhog.commands import tune as tune_cmd

    script = ScriptedResearcher(ideas_per_call=4, idea_text=unique_text, scores=lambda persona, n: 9 if n % 2 else 2)
    model = FakeChatModel.with_responder(script)
    flags = {"loop": {"depth": 2, "ideas_per_day": 4}, "critique": {"revisions": 0, "audit_fraction": 1.0}}
    svc = make_services(isolated_home, model, HashEmbedder(), **flags)
    config = new_config(svc.settings, ["doomimir"], session="s1", present=PRESENT)
    SessionStore(svc.db).create(config)
    run_session(make_runner(svc, config), handle_signals=False)
    queued = svc.queue.list()
    audits = [i for i in queued if i.origin == "audit" and i.idea.day == 1]
    survivors = [i for i in queued if i.origin == "survivor" and i.idea.day == 1]
    assert audits and survivors
    svc.queue.decide(audits[0].id, "accept")
    for other in audits[1:]:
        svc.queue.decide(other.id, "reject")
    svc.queue.decide(survivors[0].id, "accept")
    svc.close()
    monkeypatch.setattr(tune_cmd, "services", lambda home, **f: make_services(home, model, HashEmbedder(), **f))
    data = json.loads(CliRunner().invoke(app, ["tune", "--session", "s1", "--json"]).stdout)
    day1, day2 = data["personas"][0]["days"]
    miss = day1["critic"]["miss_rate"]
    assert (miss["successes"], miss["trials"]) == (1, len(audits)) and miss["low"] is not None
    assert day1["accepted"] == 1 and day1["rejected"] == 0  # survivors only: audit decisions count in `critic`
    assert day2["critic"]["miss_rate"]["trials"] == 0 and data["days"][0]["critic"]["audit_items"] == len(audits)
    text = CliRunner().invoke(app, ["tune", "--session", "s1"]).stdout
    assert "missed" in text and f"1/{len(audits)}" in text and "critic, every persona: miss rate" in text
