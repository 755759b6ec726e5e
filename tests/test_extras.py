"""A command that needs a missing extra says which in one line, exit 2, before any work; `doctor` lists
the extras. "Missing" is simulated by hiding the extra's modules from `core.extras`' lookup, the one
place that asks whether a part is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_dependencies import write_endpoint_config
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core import extras
from groundhog.core.errors import BadInput
from groundhog.core.extras import BY_NAME, EXTRAS, extras_report, require
from testkit.fake_openai import FakeOpenAIServer

runner = CliRunner()


@pytest.fixture
def hide(monkeypatch: pytest.MonkeyPatch):
    """Make the named extras look uninstalled."""

    def hide_extras(*names: str) -> None:
        hidden = {module for name in names for module in BY_NAME[name].modules}
        found = extras._importable
        monkeypatch.setattr(extras, "_importable", lambda module: module not in hidden and found(module))

    return hide_extras


def line(extra: str, feature: str) -> str:
    return f"groundhog: error: {feature} needs the '{extra}' extra: pip install 'groundhog[{extra}]'\n"


UNREACHED = "http://127.0.0.1:9/v1"  # each case stops before any call to the endpoint


def test_require_names_the_extra_and_passes_when_installed(hide) -> None:
    require("postgres", feature="x")  # installed here: no error
    hide("postgres")
    with pytest.raises(BadInput, match=r"^x needs the 'postgres' extra: pip install 'groundhog\[postgres\]'$"):
        require("postgres", "psycopg", feature="x")
    with pytest.raises(ValueError, match="does not provide torch"):
        require("postgres", "torch", feature="x")


def test_the_embedded_model_needs_the_local_extra(hide, isolated_home: Path) -> None:
    hide("local")
    done = runner.invoke(app, ["babble", "--persona", "doomimir", "--depth", "1"])
    assert (done.exit_code, done.stderr) == (2, line("local", "the embedded model"))
    assert json.loads(runner.invoke(app, ["sessions", "list", "--json"]).stdout) == []  # no session begun


def test_the_local_embedder_needs_the_local_extra(hide, isolated_home: Path) -> None:
    hide("local")
    done = runner.invoke(app, ["log", "search", "anything"])  # the default embedder is the bundled MiniLM
    assert (done.exit_code, done.stderr) == (2, line("local", "the local embedder"))


def test_ray_needs_the_cluster_extra(hide, isolated_home: Path) -> None:
    hide("cluster")
    write_endpoint_config(isolated_home, UNREACHED)
    done = runner.invoke(app, ["babble", "--persona", "doomimir", "--depth", "1", "--ray", "auto"])
    assert (done.exit_code, done.stderr) == (2, line("cluster", "--ray"))


def test_database_url_needs_the_postgres_extra(hide, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hide("postgres")
    monkeypatch.setenv("GROUNDHOG_DATABASE_URL", "postgresql://groundhog@127.0.0.1:9/groundhog")
    done = runner.invoke(app, ["queue", "list"])
    assert (done.exit_code, done.stderr) == (2, line("postgres", "database_url (PostgreSQL)"))


def test_the_review_page_needs_the_web_extra(hide) -> None:
    hide("web")
    done = runner.invoke(app, ["review", "--web"])
    assert (done.exit_code, done.stderr) == (2, line("web", "review --web"))


def test_a_plot_needs_the_plot_extra(hide, tmp_path: Path) -> None:
    hide("plot")
    done = runner.invoke(app, ["tune", "--plot", str(tmp_path / "depth.png")])
    assert (done.exit_code, done.stderr) == (2, line("plot", "--plot"))
    assert not (tmp_path / "depth.png").exists()


def test_doctor_lists_every_extra_installed_or_missing(hide, isolated_home: Path) -> None:
    hide("cluster", "plot")
    rows = {r["extra"]: r for r in extras_report()}
    assert list(rows) == [e.name for e in EXTRAS]
    assert rows["plot"]["missing"] == ["matplotlib"] and rows["plot"]["install"] == "pip install 'groundhog[plot]'"
    assert rows["web"]["installed"] and rows["web"]["versions"]["starlette"]
    with FakeOpenAIServer() as srv:
        write_endpoint_config(isolated_home, srv.base_url)
        done = runner.invoke(app, ["doctor", "--json"])
        table = runner.invoke(app, ["doctor"]).stdout
    report = json.loads(done.stdout)
    assert (done.exit_code, report["ok"]) == (0, True)  # a missing extra is no failure
    assert {r["extra"]: r["installed"] for r in report["extras"]} == {
        "local": True,
        "web": True,
        "postgres": True,
        "cluster": False,
        "plot": False,
        "train": True,
    }
    assert "persona-days as Ray tasks" in table and "missing" in table
    assert table.endswith("missing extras: pip install 'groundhog[cluster,plot]'\n")
