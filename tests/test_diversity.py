"""The diversity of a night: personas that all write the same idea are reported collapsed, with the
figures, in `sessions show`, `tune --json` and the review page; personas that keep their own words are not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner
from web_support import app_for, fill, services

from groundhog.cli import app
from groundhog.researchers.personas import PersonaRegistry
from groundhog.researchers.spawn import spawn
from groundhog.store.sessions import SessionStore
from groundhog.tune.diversity import measure, session_diversity
from testkit.fakes import FakeChatModel, ScriptedResearcher, make_services

CROWD = ("interp-empiricist-v1", "interp-empiricist-v2")
PERSONAS = ("doomimir", "simplicia", *CROWD)
VOCABULARIES = (  # eight words for each persona of the night, none shared
    ("amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor"),
    ("iris", "juniper", "kelp", "lagoon", "meadow", "nickel", "orchid", "pebble"),
    ("quartz", "reef", "saffron", "tundra", "umber", "violet", "willow", "yarrow"),
    ("zinnia", "anchor", "bramble", "cobalt", "dune", "falcon", "glacier", "heron"),
)


class Chorus(ScriptedResearcher):
    """Every persona babbles the same idea, word for word (its rationale too)."""

    def __init__(self) -> None:
        summary = "Measure how the refusal direction shifts when the chat template changes."
        super().__init__(idea_text=lambda persona, n: ("Probe the refusal direction", summary))

    def _babble(self, request: Any) -> dict[str, Any]:
        reply = super()._babble(request)
        for idea in reply["ideas"]:
            idea["rationale"] = "It tests a claim everyone cares about."
        return reply


_DRAWN: dict[str, int] = {}  # persona -> its vocabulary, the first free one


def own_words(persona: str, n: int) -> tuple[str, str]:
    """Each persona draws from eight words of its own: its ideas resemble each other, not anyone else's."""
    vocab = VOCABULARIES[_DRAWN.setdefault(persona, len(_DRAWN))]
    a, b, c, d, e = (vocab[(n + k) % 8] for k in range(5))
    return f"{a.title()} {b} {c} study {n}", f"{a} {b} {c} {d} {e} {vocab[(n + 5) % 8]} {n}."


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two variants in group "crowd" installed, and the commands wired to the test embedder."""
    from groundhog import commands

    registry = PersonaRegistry(isolated_home)
    registry.install(spawn(registry.get("interp-empiricist"), 2, seed=3, group="crowd"))
    model = FakeChatModel()
    for module in (commands.babble, commands.tune):
        monkeypatch.setattr(module, "services", lambda h, **flags: make_services(h or isolated_home, model, **flags))
    return isolated_home


def report_of(home: Path) -> Any:
    svc = services(home)
    try:
        groups = {p.id: p.group for p in svc.personas.all()}
        return session_diversity(SessionStore(svc.db), svc.log, "s1", groups)
    finally:
        svc.close()


def diversity_page(home: Path) -> str:
    application, _ = app_for(home, groups=lambda: {p.id: p.group for p in PersonaRegistry(home).all()})
    with TestClient(application, base_url="http://127.0.0.1:8765") as client:
        response = client.get("/diversity", params={"session": "s1"})
    assert response.status_code == 200, response.text
    return response.text


def test_every_persona_writing_the_same_idea_is_a_collapse(home: Path) -> None:
    fill(home, PERSONAS, depth=2, script=Chorus())
    report = report_of(home)
    s = report.session_figures
    assert (s.personas, s.ideas, report.duplicate_threshold) == (4, 16, 0.8)
    assert s.distinct_share is not None and s.distinct_share <= 0.25  # the first persona's day, at most
    assert s.within_similarity == pytest.approx(1.0, abs=1e-3) and s.across_similarity == pytest.approx(1.0, abs=1e-3)
    assert s.chance == 0.25 and s.centroid_accuracy is not None and s.centroid_accuracy <= 0.25
    assert s.collapsed and len(s.reasons) == 3
    (crowd,) = report.groups
    assert (crowd.scope, crowd.personas, crowd.ideas, crowd.collapsed) == ("group crowd", 2, 8, True)

    shown = CliRunner().invoke(app, ["sessions", "show", "s1", "--home", str(home)])
    assert shown.exit_code == 0, shown.output
    assert "warning: the personas of the session collapsed: only" in shown.stdout
    assert "warning: the personas of the group crowd collapsed" in shown.stdout
    assert "session: 16 ideas by 4 personas" in shown.stdout and "(chance 25%)" in shown.stdout
    as_json = CliRunner().invoke(app, ["sessions", "show", "s1", "--json", "--home", str(home)])
    data = json.loads(as_json.stdout)["diversity"]
    assert data["session_figures"]["collapsed"] and data["groups"][0]["scope"] == "group crowd"
    assert "warning: the personas of the session collapsed" in as_json.stderr

    tuned = CliRunner().invoke(app, ["tune", "--json", "--home", str(home)])
    assert tuned.exit_code == 0, tuned.output
    assert json.loads(tuned.stdout)["diversity"]["session_figures"]["distinct_share"] == s.distinct_share
    assert "warning: the personas of the session collapsed" in tuned.stderr

    page = diversity_page(home)
    assert "warning: the personas of the session collapsed" in page and 'class="collapsed"' in page


def test_personas_that_keep_their_own_words_show_no_warning(home: Path) -> None:
    _DRAWN.clear()
    fill(home, PERSONAS, depth=2, script=ScriptedResearcher(idea_text=own_words))
    s = report_of(home).session_figures
    assert (s.distinct_share, s.centroid_accuracy, s.chance, s.collapsed) == (1.0, 1.0, 0.25, False)
    assert s.within_similarity is not None and s.across_similarity is not None
    assert s.within_similarity - s.across_similarity > 0.3
    shown = CliRunner().invoke(app, ["sessions", "show", "s1", "--home", str(home)])
    assert shown.exit_code == 0 and "Diversity" in shown.stdout and "warning" not in shown.stdout
    tuned = CliRunner().invoke(app, ["tune", "--json", "--home", str(home)])
    assert tuned.exit_code == 0 and "warning" not in tuned.stderr
    page = diversity_page(home)
    assert "collapsed" not in page and "group crowd" in page


def test_the_figures_on_vectors_made_to_order() -> None:
    rng = np.random.default_rng(0)
    centres = {"a": rng.normal(size=32), "b": rng.normal(size=32), "c": rng.normal(size=32)}
    apart = [(p, list(c + 0.3 * rng.normal(size=32))) for p, c in centres.items() for _ in range(10)]
    d = measure("session", apart, 0.8)
    assert (d.ideas, d.personas, d.distinct_share, d.centroid_accuracy, d.chance) == (30, 3, 1.0, 1.0, 0.3333)
    assert not d.collapsed

    labels = [p for p, _ in apart]
    shuffled = list(zip(rng.permutation(labels), [v for _, v in apart], strict=True))
    mixed = measure("session", shuffled, 0.8)
    assert mixed.collapsed and any(" chance (33%)" in r for r in mixed.reasons), mixed
    assert mixed.within_similarity is not None and mixed.across_similarity is not None
    assert abs(mixed.within_similarity - mixed.across_similarity) < 0.1

    alone = measure("session", [("a", [1.0, 0.0])] * 3, 0.8)
    assert alone.distinct_share is None and not alone.collapsed and "nothing to compare" in alone.note
