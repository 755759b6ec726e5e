"""`tune --sweep --session NAME`: the name is checked before any folder is made (it names folders)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.errors import BadInput
from groundhog.loop.sweep import run_sweep, sweep_names


def folders(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("base", ["../x", "../../x", "/tmp/x", "a/b", ".hidden", "-x", "x y", "x" * 64, ""])
def test_a_bad_base_name_is_one_line_naming_session_and_makes_no_folder(tmp_path: Path, base: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    before = folders(tmp_path)
    result = CliRunner().invoke(app, ["tune", "--sweep", "1,2", "--session", base, "--home", str(home)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("groundhog: error: --session: "), line
    assert folders(tmp_path) == before  # nothing under the home, nothing beside it


def test_sweep_names_are_checked_as_session_names() -> None:
    assert sweep_names("base", [4, 1, 2, 2]) == ["base-sweep-d1", "base-sweep-d2", "base-sweep-d4"]
    with pytest.raises(BadInput, match=r"--session: '\.\./x' must be"):
        sweep_names("../x", [1])
    long = "b" * 55  # fine as a session name, too long once "-sweep-d1000" is added
    with pytest.raises(BadInput, match="too long for a sweep"):
        sweep_names(long, [1, 1000])


def test_run_sweep_checks_the_name_before_making_any_home() -> None:
    made: list[str] = []

    def services_for(parent: Any, name: str) -> Any:
        made.append(name)
        raise AssertionError("no home may be made for a bad name")

    class Parent:
        class settings:  # a stand-in with the one attribute read before the check
            loop = None

    with pytest.raises(BadInput, match="--session"):
        run_sweep(Parent(), [1, 2], base="../../escape", personas=["doomimir"], services_for=services_for)  # type: ignore[arg-type]
    assert made == []
