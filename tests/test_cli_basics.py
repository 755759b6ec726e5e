"""The command line's promises: instant help, one clear line per error, exit 2 for what the user can fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.settings import CONFIG_FILE

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "chromadb", "llama_cpp", "langchain", "sentence_transformers", "transformers", "openai")
HEAVY += ("fastapi", "starlette", "uvicorn", "jinja2", "selenium")  # the review page's, imported by --web only
HEAVY += ("ray",)  # imported by `babble --ray` only
HEAVY += ("psycopg",)  # imported only when database_url is set

PROBE = f"""
import json, sys
from groundhog import cli
try:
    cli.app(sys.argv[1:])
except SystemExit:
    pass
heavy = {HEAVY!r}
loaded = sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0].startswith(heavy)}})
print(json.dumps(loaded))
"""


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter: the only honest way to see which modules a command imports."""
    return subprocess.run(
        [sys.executable, "-c", "from groundhog import cli; cli.main()", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args", [["--help"], ["doctor", "--help"], ["log", "search", "--help"], ["review", "--help"], ["babble", "--help"]]
)
def test_help_imports_no_heavy_library(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert "Usage:" in done.stdout
    assert json.loads(lines[-1]) == []


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("doctor", "log"):
        assert command in result.stdout


def test_malformed_config_is_one_line_naming_the_file(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    config = isolated_home / CONFIG_FILE
    config.write_text("[babble\nmodel = 'x'\n")
    result = CliRunner().invoke(app, ["log", "search", "anything"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("groundhog: error:")
    assert str(config) in lines[0]
    assert "Traceback" not in result.output


def test_malformed_config_stops_doctor_too(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / CONFIG_FILE).write_text("babble = [")
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 2
    assert CONFIG_FILE in result.stderr


def test_unknown_setting_names_the_field(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / CONFIG_FILE).write_text("[babble]\ntemprature = 0.5\n")
    result = CliRunner().invoke(app, ["log", "search", "anything"])
    assert result.exit_code == 2
    assert "babble.temprature" in result.stderr


def test_unknown_kind_is_bad_input() -> None:
    result = CliRunner().invoke(app, ["log", "search", "anything", "--kind", "gossip"])
    assert result.exit_code == 2
    assert "--kind" in result.stderr and "gossip" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_home_under_a_regular_file_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    home = blocker / "home"
    result = CliRunner().invoke(app, ["log", "search", "anything", "--home", str(home)])
    assert result.exit_code == 2
    assert "--home" in result.stderr and str(home) in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_home_is_bad_input(tmp_path: Path) -> None:
    home = tmp_path / "locked"
    home.mkdir()
    home.chmod(0o500)
    try:
        result = CliRunner().invoke(app, ["log", "search", "anything", "--home", str(home)])
    finally:
        home.chmod(0o700)
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_doctor_reports_an_unusable_home_without_loading_models(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["doctor", "--json", "--home", str(blocker / "home")])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [(c["name"], c["ok"]) for c in report["checks"]] == [("home", False)]
    assert "error" not in result.stderr  # the failed check is the report, not a second message


def test_debug_shows_the_traceback() -> None:
    plain = run_cli("log", "search", "anything", "--kind", "gossip")
    assert plain.returncode == 2
    assert "Traceback" not in plain.stderr
    debug = run_cli("--debug", "log", "search", "anything", "--kind", "gossip")
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert "BadInput" in debug.stderr


def test_main_leaves_with_the_commands_status_its_whole_output_and_the_exit_handlers_run(tmp_path: Path) -> None:
    """`main` leaves through a normal interpreter exit with the heap frozen out of the garbage collector
    (`gc.freeze`, a fast teardown): the status, every byte written to a pipe and the exit handlers (which
    flush logs and close connections) must survive that."""
    code = (
        "import atexit, sys; atexit.register(lambda: sys.stderr.write('exit handler ran\\n')); "
        "from groundhog import cli; cli.main()"
    )
    env = {**os.environ, "GROUNDHOG_HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    listed = run("personas", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) >= 6  # the whole JSON document arrived
    assert "exit handler ran" in listed.stderr
    bad = run("babble", "--present", "not-a-date")
    assert bad.returncode == 2
    assert "--present" in bad.stderr and "exit handler ran" in bad.stderr
