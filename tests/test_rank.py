"""The pairwise tournament: a fake critic with a hidden true order, Bradley-Terry ratings, budgets,
resume, the reviewer's own judgements, the queue's order, and the cost on the fake endpoint."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.compose.services import Services
from groundhog.core.records import CritiqueResult, Idea, QueueItem, Scores, stable_id
from groundhog.rank import run as ranking
from groundhog.rank.ratings import Fit, Game, fit_bradley_terry, refresh_ratings, spearman
from groundhog.rank.tournament import swiss_pairs
from groundhog.store.judgements import JudgementStore
from groundhog.store.tournaments import TournamentStore
from testkit.fake_openai import FakeOpenAIServer
from testkit.fakes import FakeChatModel, HashEmbedder, make_services

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
TITLE = re.compile(r"Idea ([AB]):\nTitle: (.*)")


def queue_ideas(svc: Services, n: int, session: str = "s1", seed: int = 7) -> list[str]:
    """n queued ideas whose rank_score order is a shuffle; returns their hidden true order, best first."""
    rng = random.Random(seed)
    ids = [f"idea{k:03d}" for k in range(n)]
    for k, idea_id in enumerate(ids):
        s = 3 + (k * 7) % 6
        svc.queue.add(
            QueueItem(
                idea=Idea(
                    id=idea_id,
                    title=f"Proposal {idea_id}",
                    summary=f"Study {idea_id} with probes and controls on small models.",
                    persona="doomimir",
                    session=session,
                    day=1 + k % 3,
                    present=date(2026, 11, 23),
                ),
                critique=CritiqueResult(
                    idea_id=idea_id, verdict="pass", scores=Scores(novelty=s, feasibility=s, relevance=s, clarity=s)
                ),
                rank_score=rng.random(),
                queued_at=T0,
            )
        )
    truth = list(ids)
    rng.shuffle(truth)
    return truth


class HiddenOrderCritic:
    """Prefers whichever idea comes first in a hidden true order; `first_bias` is the share of replies
    that pick idea A whatever it is (a position bias)."""

    def __init__(self, truth: list[str], first_bias: float = 0.0) -> None:
        self.rank = {idea: n for n, idea in enumerate(truth)}
        self.first_bias = first_bias
        self.calls = 0

    def choose(self, prompt: str) -> str:
        self.calls += 1
        titles = dict(TITLE.findall(prompt))
        a, b = (titles[k].removeprefix("Proposal ") for k in ("A", "B"))
        if int(stable_id(a, b, "bias"), 16) % 1000 < self.first_bias * 1000:  # fixed per ordered pair
            better = "A"
        else:
            better = "A" if self.rank[a] < self.rank[b] else "B"
        return json.dumps({"comparison": f"{better} is sharper and cheaper to test.", "better": better})

    def __call__(self, messages: list[Any], kwargs: dict[str, Any]) -> str:
        return self.choose(str(messages[-1].content))

    def http(self, body: dict[str, Any]) -> str:
        users = [str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user"]
        return self.choose(users[0])


def fake_services(home: Path, critic: HiddenOrderCritic, **flags: Any) -> Services:
    return make_services(home, FakeChatModel.with_responder(critic), HashEmbedder(), **flags)


@pytest.mark.parametrize("first_bias", [0.0, 0.25])
def test_a_tournament_recovers_the_hidden_order(isolated_home: Path, first_bias: float) -> None:
    svc = fake_services(isolated_home, critic := HiddenOrderCritic([], first_bias), loop={"concurrency": 4})
    truth = queue_ideas(svc, 30)
    critic.rank = {idea: n for n, idea in enumerate(truth)}
    row = ranking.start(svc, matches=5, name="t1")
    report = ranking.run(svc, row)
    items = svc.queue.list()
    judgements = JudgementStore(svc.db).list()
    svc.close()
    assert report.tournament.status == "completed", report.tournament.reason
    order = [i.id for i in items]  # the queue's default order is now the rating
    assert spearman(order, truth) >= (0.8 if not first_bias else 0.7)  # a quarter of its answers: always "A"
    assert spearman([i.id for i in sorted(items, key=lambda i: -i.rank_score)], truth) < 0.5  # not the old order
    assert all(i.matches >= 5 and i.rating is not None and i.rating_sigma for i in items)
    pairs = [frozenset((j.idea_a, j.idea_b)) for j in judgements]
    assert len(pairs) == len(set(pairs)) == report.tournament.calls  # each pair once, one call each
    assert all(j.note and j.judge == row.judge != "human" and j.source == f"rank:{row.id}" for j in judgements)
    if first_bias:
        assert report.fit.position_bias["model"] > 0.1  # fitted as a bias, not read as quality


def test_the_cost_per_idea_on_the_fake_endpoint(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    critic = HiddenOrderCritic([])
    with FakeOpenAIServer(critic.http) as srv:
        svc = make_services(
            isolated_home,
            None,  # type: ignore[arg-type]
            HashEmbedder(),
            babble={"provider": "openai", "model": "fake-critic", "base_url": srv.base_url},
            loop={"concurrency": 8},
        )
        truth = queue_ideas(svc, 30)
        critic.rank = {idea: n for n, idea in enumerate(truth)}
        report = ranking.run(svc, ranking.start(svc, matches=5))
        order = [i.id for i in svc.queue.list()]
        requests = len(srv.chat_requests)
        svc.close()
    t = report.tournament
    cost = report.per_idea()
    with capsys.disabled():
        print(
            f"\ntournament on the fake endpoint: 30 ideas x 5 matches: {t.calls} calls, {requests} requests, "
            f"{t.tokens} tokens ({t.prompt_tokens} prompt); per idea {cost['calls']} calls, {cost['tokens']} tokens; "
            f"spearman {spearman(order, truth):.3f}"
        )
    assert t.status == "completed" and t.failed == 0
    assert requests == t.calls and 75 <= t.calls <= 78  # 30 x 5 / 2 matches, one call each (an odd one out
    assert 2.5 <= cost["calls"] <= 2.6  # may play one extra match when every free opponent has met it)
    assert 0 < cost["tokens"] < 1500
    assert spearman(order, truth) >= 0.8


def test_the_budget_stops_a_tournament_and_resume_goes_on_without_repeating(isolated_home: Path) -> None:
    critic = HiddenOrderCritic([])
    svc = fake_services(isolated_home, critic)
    truth = queue_ideas(svc, 12)
    critic.rank = {idea: n for n, idea in enumerate(truth)}
    first = ranking.run(svc, ranking.start(svc, matches=4, max_tokens=1500, name="t1"))
    assert first.tournament.status == "budget-reached"
    assert 0 < first.tournament.tokens <= 1500
    with pytest.raises(Exception, match="larger --max-tokens"):
        ranking.resume(svc, "t1")
    done = ranking.run(svc, ranking.resume(svc, "t1", max_tokens=1_000_000))
    pairs = TournamentStore(svc.db).pairs("t1")
    svc.close()
    assert done.tournament.status == "completed"
    assert len(pairs) == len({frozenset(p) for p in pairs}) == 12 * 4 // 2
    assert done.tournament.calls == critic.calls  # nothing paid for twice


def test_the_reviewers_compare_choices_count_and_weigh_double(isolated_home: Path) -> None:
    svc = fake_services(isolated_home, HiddenOrderCritic([]))
    queue_ideas(svc, 3)
    store = JudgementStore(svc.db)
    store.add("idea000", "idea001", "b", source="web")  # the reviewer: 001 beats 000
    store.add("idea000", "idea001", "a", judge="critic-model", source="rank:x")  # a model: the other way
    fit = refresh_ratings(svc.db)
    items = {i.id: i for i in svc.queue.list()}
    order = [i.id for i in svc.queue.list()]
    svc.close()
    assert fit.strength("idea001") > fit.strength("idea000")  # the reviewer's choice weighs more
    assert items["idea001"].matches == 2 and items["idea002"].rating is None
    assert order[:2] == ["idea001", "idea000"]  # rated ideas first, then the rest by rank_score


def test_bradley_terry_separates_quality_from_position_bias() -> None:
    rng = random.Random(1)
    games = []
    for _ in range(400):
        a, b = rng.sample(["x", "y", "z"], 2)
        strength = {"x": 1.0, "y": 0.0, "z": -1.0}
        import math

        p = 1 / (1 + math.exp(-(strength[a] - strength[b] + 0.8)))  # shown first: +0.8 logits
        games.append(Game(a, b, 1.0 if rng.random() < p else 0.0, "model"))
    fit = fit_bradley_terry(games)
    assert fit.order(["z", "y", "x"]) == ["x", "y", "z"]
    assert 0.5 < fit.position_bias["model"] < 1.1
    assert fit.strength("x") - fit.strength("z") == pytest.approx(2.0, abs=0.5)
    assert all(r.sd < 0.3 for r in fit.ratings.values())
    unbeaten = fit_bradley_terry([Game("a", "b", 1.0)] * 5)  # the prior keeps a perfect record finite
    assert 0 < unbeaten.strength("a") < 5


def test_swiss_pairs_meet_new_opponents_of_similar_rating() -> None:
    ids = [f"i{n}" for n in range(8)]
    fit = fit_bradley_terry([Game(ids[n], ids[n + 1], 1.0, "model") for n in range(7)])  # i0 > i1 > ... > i7
    pairs = swiss_pairs(ids, dict.fromkeys(ids, 1), {frozenset(("i0", "i1"))}, fit, 3, random.Random(0))
    assert len(pairs) == 4 and len({i for p in pairs for i in p}) == 8
    assert frozenset(("i0", "i1")) not in {frozenset(p) for p in pairs}
    gaps = [abs(ids.index(a) - ids.index(b)) for a, b in pairs]
    assert max(gaps) <= 3  # neighbours in rating, not strangers
    assert swiss_pairs(ids, dict.fromkeys(ids, 3), set(), Fit(), 3, random.Random(0)) == []  # all done


def test_groundhog_rank_on_the_command_line(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    critic = HiddenOrderCritic([])
    svc = fake_services(isolated_home, critic)
    truth = queue_ideas(svc, 6, session="s9")
    svc.close()
    critic.rank = {idea: n for n, idea in enumerate(truth)}
    monkeypatch.setattr(
        "groundhog.commands.common.services",
        lambda home, **flags: fake_services(home, critic, **flags),
    )
    runner = CliRunner()
    out = runner.invoke(app, ["rank", "--session", "s9", "--matches", "2", "--name", "t9", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["status"] == "completed" and data["ideas"] == 6 and 1.0 <= data["per_idea"]["calls"] <= 1.2
    ranked = [r["id"] for r in data["ratings"]]
    assert truth[0] in ranked[:2] and truth[-1] in ranked[-2:]
    listed = runner.invoke(app, ["rank", "--list"])
    assert listed.exit_code == 0 and "t9" in listed.stdout
    table = runner.invoke(app, ["queue", "list"])
    assert table.exit_code == 0 and table.stdout.index(truth[0]) < table.stdout.index(truth[-1])
    empty = runner.invoke(app, ["rank", "--session", "nope"])
    assert empty.exit_code == 2 and "nothing to rank" in empty.output
    again = runner.invoke(app, ["rank", "--resume", "t9"])
    assert again.exit_code == 2 and "completed" in again.output


def test_babble_rank_ranks_the_sessions_ideas_at_the_end(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from groundhog.commands import babble as babble_cmd
    from groundhog.commands import common
    from groundhog.compose import services as services_mod
    from testkit.fakes import ScriptedResearcher

    model = FakeChatModel.with_responder(ScriptedResearcher(ideas_per_call=3, scores=lambda p, n: 4 + n % 6))
    real = services_mod.Services
    fake = lambda settings, **_: real(settings, chat_model=model, embedder=HashEmbedder())  # noqa: E731
    monkeypatch.setattr(services_mod, "Services", fake)
    make = lambda home, **flags: make_services(home, model, HashEmbedder(), **flags)  # noqa: E731
    monkeypatch.setattr(babble_cmd, "services", make)
    monkeypatch.setattr(common, "services", make)
    args = ["babble", "-p", "doomimir", "--depth", "2", "--ideas-per-day", "3", "--session", "s1", "--rank", "2"]
    out = CliRunner().invoke(app, [*args, "--present", "2026-11-23", "--json"])
    assert out.exit_code == 0, out.output
    finished = [json.loads(line) for line in out.stdout.splitlines() if '"rank_finished"' in line]
    assert len(finished) == 1 and finished[0]["status"] == "completed" and finished[0]["calls"] >= 3
    svc = make_services(isolated_home, model, HashEmbedder())
    items = svc.queue.list(session="s1")
    svc.close()
    assert items and all(i.rating is not None for i in items if i.status == "pending")
