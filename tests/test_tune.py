"""`groundhog tune`: plateau and drift found on sessions run by a fake model, over real stores."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.loop.sweep import run_sweep
from groundhog.researchers.personas import PersonaRegistry
from groundhog.store.sessions import SessionStore
from groundhog.tune.depth import TuneOptions, analyse, analyse_session, recommend
from groundhog.tune.vectors import VectorCache, grounding_centroids, grounding_texts, in_character_score
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services

PRESENT = date(2026, 11, 23)
TOPICS = [
    ("sparse", "autoencoder", "features", "residual", "stream"),
    ("debate", "judges", "honest", "arguments", "transcripts"),
    ("reward", "hacking", "proxy", "gaming", "specification"),
    ("sandbagging", "capability", "elicitation", "hidden", "effort"),
    ("trusted", "monitor", "audit", "budget", "backdoor"),
    ("natural", "abstraction", "latent", "redundancy", "summary"),
]


def distinct_idea(persona: str, n: int) -> tuple[str, str]:
    """Six ideas with no words in common (days 1-3 at two a day), then the same six again."""
    a, b, c, d, e = TOPICS[(n - 1) % len(TOPICS)]
    return f"{a.title()} {b} probe", f"Measure how {a} {b} shifts {c} when the {d} {e} is perturbed."


def run(
    home: Path,
    personas: list[str],
    script: ScriptedResearcher,
    *,
    depth: int,
    embedder: object = None,
    session: str = "s1",
):
    model = FakeChatModel.with_responder(script)
    svc = make_services(home, model, embedder, loop={"depth": depth, "ideas_per_day": 2})
    config = new_config(svc.settings, personas, session=session, present=PRESENT)
    SessionStore(svc.db).create(config)
    outcome = run_session(make_runner(svc, config), handle_signals=False)
    assert outcome.status == "completed", outcome.reason
    return svc


def test_ideas_that_repeat_after_day_3_plateau_at_depth_3(isolated_home: Path) -> None:
    svc = run(isolated_home, ["doomimir"], ScriptedResearcher(idea_text=distinct_idea), depth=5)
    report = analyse(svc, "s1")
    days = report.personas[0].days
    assert [d.unique_surviving for d in days] == [2, 2, 2, 0, 0]
    assert [d.flags["duplicate"] for d in days] == [0, 0, 0, 2, 2]
    assert days[3].flag_rates["duplicate"] == 1.0 and days[0].flag_rates["duplicate"] == 0.0
    assert days[3].novelty == pytest.approx(0.0, abs=1e-6)  # a repeat is at distance 0 from its original
    assert days[1].novelty is not None and days[1].novelty > 0.3
    assert all(d.survivors_per_1k_tokens is not None for d in days)
    rec = report.personas[0].recommendation
    assert (rec.depth, rec.cause, rec.plateau_day) == (3, "plateau", 4), rec.reason
    assert "day 4" in rec.reason and "0.25" in rec.reason
    assert report.recommendation.depth == 3 and report.recommendation.cause == "plateau"
    assert days[-1].cumulative_bits == pytest.approx(math.log2(10 / 6))  # 10 generated, 6 survived
    assert report.totals.unique_surviving == 6 and report.totals.generated == 10
    # The human's decisions are counted against the day that produced the idea.
    first = next(i for i in svc.queue.list(session="s1") if i.idea.day == 1)
    svc.queue.decide(first.id, "accept")
    again = analyse(svc, "s1")
    assert again.personas[0].days[0].accepted == 1 and again.totals.acceptance_rate == 1.0


def test_no_plateau_no_drift_recommends_the_full_depth(isolated_home: Path) -> None:
    svc = run(isolated_home, ["doomimir"], ScriptedResearcher(idea_text=distinct_idea), depth=3)
    rec = analyse(svc, "s1", TuneOptions(max_drift=1.0)).recommendation
    assert (rec.depth, rec.cause) == (3, "none")
    assert "more days may still pay" in rec.reason


def test_recommend_picks_whichever_comes_first() -> None:
    from groundhog.tune.report import DayStats

    def day(n: int, rate: float, rise: float) -> DayStats:
        return DayStats(persona="p", day=n, survivors_per_1k_tokens=rate, drift_rise=rise)

    options = TuneOptions(plateau_fraction=0.25, max_drift=0.1)
    drifting = [day(1, 4.0, 0.0), day(2, 3.0, 0.2), day(3, 0.5, 0.3)]
    assert (recommend(drifting, options).depth, recommend(drifting, options).cause) == (1, "drift")
    dip = [day(1, 4.0, 0.0), day(2, 0.5, 0.0), day(3, 3.0, 0.0), day(4, 0.2, 0.0)]
    assert recommend(dip, options).depth == 3  # a dip that recovers is not a plateau
    late_start = [day(1, 0.0, 0.0), day(2, 2.0, 0.0), day(3, 0.1, 0.0)]
    assert recommend(late_start, options).plateau_day == 3  # day 2 is the baseline when day 1 bought none
    nothing = [day(1, 0.0, 0.0), day(2, 0.0, 0.0)]
    assert recommend(nothing, options).cause == "no-survivors"
    assert recommend([], options).cause == "no-data"


def corpus_paragraphs(persona_id: str) -> list[str]:
    """The persona's own grounding paragraphs, cut to fit an idea's summary."""
    from groundhog.researchers.personas import corpus_files

    out = []
    for path in corpus_files(PersonaRegistry("/nonexistent").get(persona_id)):
        for para in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            para = " ".join(para.split())
            if not para.startswith("#") and len(para.split()) >= 25:
                out.append(para if len(para) <= 400 else para[:400].rsplit(" ", 1)[0])
    return out


def test_drift_into_another_voice_shows_in_drift_and_in_character(isolated_home: Path, minilm) -> None:
    own, other = corpus_paragraphs("doomimir"), corpus_paragraphs("simplicia")

    def drifting(persona: str, n: int) -> tuple[str, str]:
        source = own if n <= 4 else other  # days 1-2 in character, from day 3 on in simplicia's words
        paragraph = source[n % len(source)]
        return paragraph.split(".")[0][:80], paragraph

    svc = run(isolated_home, ["doomimir"], ScriptedResearcher(idea_text=drifting), depth=4)
    # The loop ran on the fast hash embedder; the analysis re-embeds the texts with MiniLM.
    registry = PersonaRegistry(isolated_home)
    report = analyse_session(
        sessions=SessionStore(svc.db),
        log=svc.log,
        queue=svc.queue,
        embedder=minilm,
        personas=[registry.get("doomimir"), registry.get("simplicia")],
        session_id="s1",
    )
    days = report.personas[0].days
    grounding = [d.drift_from_grounding or 0.0 for d in days]
    character = [d.in_character or 0.0 for d in days]
    assert [d.status for d in days] == ["done"] * 4
    assert min(grounding[2:]) > max(grounding[:2]) + 0.05, grounding
    assert max(character[2:]) < 0 < min(character[:2]), character  # sounded like itself, then like simplicia
    assert (days[2].drift_rise or 0) > report.options.max_drift
    rec = report.personas[0].recommendation
    assert (rec.drift_day, rec.depth) == (3, 2), rec.reason
    assert "drifted" in rec.reason


def test_in_character_score_separates_two_builtin_personas(minilm) -> None:
    registry = PersonaRegistry("/nonexistent")
    personas = [registry.get("doomimir"), registry.get("simplicia")]
    cache = VectorCache(minilm)
    centroids = grounding_centroids(cache, personas)
    assert set(centroids) == {"doomimir", "simplicia"}
    for persona in personas:
        other = next(p.id for p in personas if p.id != persona.id)
        vectors = cache.embed(grounding_texts(persona))
        score = in_character_score(vectors, centroids[persona.id], [centroids[other]])
        assert score is not None and score > 0.1, (persona.id, score)
        swapped = in_character_score(vectors, centroids[other], [centroids[persona.id]])
        assert swapped is not None and swapped < 0
    assert in_character_score([], centroids["doomimir"], [centroids["simplicia"]]) is None
    assert in_character_score([[1.0] * 384], centroids["doomimir"], []) is None


def test_sweep_runs_one_fresh_session_per_depth_within_the_token_budget(isolated_home: Path) -> None:
    svc = make_services(isolated_home, FakeChatModel.with_responder(ScriptedResearcher()), HashEmbedder())
    sweep = run_sweep(
        svc, [2, 1], base="t", personas=["doomimir"], present=PRESENT, ideas_per_day=2, handle_signals=False
    )
    assert [r.session for r in sweep.runs] == ["t-sweep-d1", "t-sweep-d2"]
    assert [r.days_done for r in sweep.runs] == [1, 2]
    assert all(r.report is not None and r.tokens > 0 for r in sweep.runs)
    homes = {Path(r.home) for r in sweep.runs}
    assert homes == {isolated_home / "sweeps" / "t-sweep-d1", isolated_home / "sweeps" / "t-sweep-d2"}
    # Each depth started fresh: the deeper run's first day saw none of the shallower run's ideas.
    d2 = sweep.runs[1].report
    assert d2 is not None and d2.personas[0].days[0].flags["duplicate"] == 0
    assert sweep.best_depth in (1, 2) and "depth" in sweep.summary

    # The token budget bounds the whole sweep: a budget checked before each day lets the first day run.
    capped = run_sweep(
        svc,
        [1, 2],
        base="u",
        personas=["doomimir"],
        present=PRESENT,
        ideas_per_day=2,
        max_tokens=1,
        handle_signals=False,
    )
    assert [(r.status, r.days_done) for r in capped.runs] == [("completed", 1), ("skipped", 0)]
    assert "--max-tokens" in capped.runs[1].reason
    from groundhog.core.errors import BadInput

    with pytest.raises(BadInput, match="exists"):
        run_sweep(svc, [1], base="t", personas=["doomimir"], present=PRESENT, handle_signals=False)


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def script(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> ScriptedResearcher:
    """The command wired to the fakes (model and embedder), as tests build services."""
    from groundhog import commands

    script = ScriptedResearcher(idea_text=distinct_idea)
    model = FakeChatModel.with_responder(script)
    monkeypatch.setattr(
        commands.tune, "services", lambda home, **flags: make_services(home or isolated_home, model, **flags)
    )
    return script


@pytest.fixture
def tune_home(isolated_home: Path, script: ScriptedResearcher) -> Path:
    """A finished two-persona session in the home."""
    run(isolated_home, ["doomimir", "simplicia"], script, depth=3).close()
    return isolated_home


DAY_KEYS = {
    *("persona", "day", "status", "epoch", "generated", "drafts", "unique", "surviving", "unique_surviving"),
    "accepted",
    *("rejected", "tokens", "survivors_per_1k_tokens", "novelty", "drift_from_grounding", "drift_from_day1"),
    "literature_novelty",
    *("drift_rise", "in_character", "flags", "flag_rates", "cumulative_bits", "critic"),
}
RECOMMENDATION_KEYS = {"depth", "cause", "reason", "plateau_day", "drift_day", "drift_persona"}


def test_json_has_the_documented_keys(tune_home: Path) -> None:
    result = CliRunner().invoke(app, ["tune", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {
        "session",
        "status",
        "depth",
        "days_analysed",
        "embedder",
        "options",
        "personas",
        "days",
        "totals",
        "recommendation",
        "diversity",
    }
    assert data["session"] == "s1" and data["options"] == {"plateau_fraction": 0.25, "max_drift": 0.15}
    assert set(data["diversity"]) == {"session", "duplicate_threshold", "session_figures", "groups"}
    assert set(data["diversity"]["session_figures"]) == {
        *("scope", "personas", "ideas", "distinct", "distinct_share", "within_similarity", "across_similarity"),
        *("random_gap", "centroid_accuracy", "chance", "collapsed", "reasons", "note"),
    }
    assert [p["persona"] for p in data["personas"]] == ["doomimir", "simplicia"]
    for persona in data["personas"]:
        assert set(persona) == {"persona", "days", "epochs", "totals", "recommendation"}
        (epoch,) = persona["epochs"]  # no pause for review: one epoch, the whole session
        assert set(epoch) == {"epoch", "days", "generated", "drafts", "surviving", "selection_bits"}
        assert (epoch["epoch"], epoch["days"]) == (1, [1, 2, 3])
        totals = persona["totals"]
        assert [epoch[k] for k in ("drafts", "surviving", "selection_bits")] == [
            totals[k] for k in ("drafts", "surviving", "selection_bits")
        ]
        assert [d["day"] for d in persona["days"]] == [1, 2, 3]
        for day in persona["days"]:
            assert set(day) == DAY_KEYS
            assert set(day["flags"]) == {"degenerate", "duplicate", "manipulation", "weird", "prior_art"}
    assert {d["persona"] for d in data["days"]} == {"*"}
    assert set(data["recommendation"]) == RECOMMENDATION_KEYS
    assert set(data["totals"]) == {
        "generated",
        "drafts",
        "unique",
        "surviving",
        "unique_surviving",
        "accepted",
        "rejected",
        "tokens",
        "survivors_per_1k_tokens",
        "selection_bits",
        "acceptance_rate",
    }
    day1 = data["personas"][0]["days"][0]
    assert day1["drift_rise"] == 0.0 and day1["drift_from_day1"] == 0.0 and day1["cumulative_bits"] == 0.0
    assert isinstance(day1["in_character"], float)


def test_plot_writes_a_png_and_the_table_shows_a_depth(tune_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "tune.png"
    result = CliRunner().invoke(app, ["tune", "--plot", str(target)])
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert "recommended depth" in result.stdout and "doomimir" in result.stdout


def test_no_session_is_a_clear_error(isolated_home: Path) -> None:
    result = CliRunner().invoke(app, ["tune", "--json"])
    assert result.exit_code == 2
    assert "no sessions to tune yet" in result.stderr and "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["tune", "--session", "nope"])
    assert missing.exit_code == 2 and "no session named 'nope'" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sweep", "1,x"], "--sweep"),
        (["--plateau-fraction", "0"], "--plateau-fraction"),
        (["--max-drift", "-1"], "--max-drift"),
        (["--plot", "curves.jpg"], "--plot"),
        (["--max-tokens", "100"], "only with --sweep"),
    ],
)
def test_bad_options_exit_2(isolated_home: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["tune", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_sweep_from_the_command_line_compares_depths(script: ScriptedResearcher, tmp_path: Path) -> None:
    target = tmp_path / "sweep.png"
    run_options = ["-p", "doomimir", "--ideas-per-day", "2", "--present", "2026-11-23"]
    args = ["tune", "--sweep", "2,1", "--session", "cmp", *run_options, "--json", "--plot", str(target)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"base", "depths", "personas", "runs", "best_depth", "summary"}
    assert [(r["depth"], r["session"], r["status"]) for r in data["runs"]] == [
        (1, "cmp-sweep-d1", "completed"),
        (2, "cmp-sweep-d2", "completed"),
    ]
    assert data["runs"][1]["report"]["days_analysed"] == 2
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = CliRunner().invoke(app, ["tune", "--sweep", "1", "--session", "cmp2", *run_options])
    assert table.exit_code == 0, table.output
    assert "cmp2-sweep-d1" in table.stdout and "unique survivors" in table.stdout
