"""Options declared once: the settings fields carry each default and bound, the `babble` flags and the
saved SessionConfig take them from there, and sessions saved before keep loading."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.commands.common import setting_option
from groundhog.core.settings import CritiqueOptions, CritiqueSettings, LoopOptions, LoopSettings, load_settings
from groundhog.loop.babble import new_config
from groundhog.store.sessions import SessionConfig, SessionStore
from groundhog.store.sqlite import open_sqlite

# A config as the code before this change saved it: flat, every option at the top level.
SAVED_CONFIG = (
    '{"id":"s20261201-220000","personas":["doomimir","sorcerer"],"depth":5,"ideas_per_day":2,'
    '"present":"2026-12-01","drift_days":1,"review_every":2,"max_selection_bits":3.5,"hours":8.0,'
    '"max_tokens":200000,"max_ideas":40,"concurrency":8,"revisions":2,"cross_critic":"auto",'
    '"duplicate_threshold":0.85,"critic_judges_manipulation":true,"thresholds":{"min_mean":6.0,'
    '"min_each":3.0,"min_relevance":5.0,"audit_fraction":0.1},"babble":{"provider":"openai","model":"gpt-x",'
    '"base_url":"http://localhost:8000/v1","api_key_env":"OPENAI_API_KEY","temperature":0.8,"max_tokens":null,'
    '"timeout_s":120.0,"n_ctx":4096,"context_tokens":null,"bounded":null,"limits":{"title":100,"summary":420,'
    '"rationale":300,"thinking":500,"note":300,"reasoning":700,"weakest_point":250},"seed":null},'
    '"critic":null,"shared_kinds":["feedback"]}'
)


def _babble_help() -> str:
    result = CliRunner().invoke(app, ["babble", "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    return result.output


def _flag_line(help_text: str, flag: str) -> str:
    """The help text of one flag, its wrapped lines joined."""
    match = re.search(rf"^\s+{re.escape(flag)}\b.*?(?=^\s+-|\Z)", help_text, re.M | re.S)
    assert match, f"{flag} missing from `babble --help`"
    return " ".join(match.group(0).split())


def _bounds(model: type[BaseModel], name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in model.model_fields[name].metadata:
        for key in ("ge", "le", "gt"):
            if hasattr(m, key):
                out[key] = getattr(m, key)
    return out


SETTINGS_FLAGS = [(LoopSettings, n) for n in LoopSettings.model_fields if n != "shared_kinds"] + [
    (CritiqueSettings, n) for n in ("revisions", "cross_critic")
]


@pytest.mark.parametrize(("model", "name"), SETTINGS_FLAGS, ids=lambda v: v if isinstance(v, str) else "")
def test_each_settings_flag_shows_the_fields_description_default_and_bounds(
    model: type[BaseModel], name: str, tmp_path: Path
) -> None:
    field = model.model_fields[name]
    line = _flag_line(_babble_help(), "--" + name.replace("_", "-"))
    assert field.description and field.description in line
    if field.default is not None and field.default is not False:
        assert f"Default {field.default}." in line
    else:
        assert "Default" not in line
    bounds = _bounds(model, name)
    if "ge" in bounds and "le" in bounds:
        assert f"[{bounds['ge']}<=x<={bounds['le']}]" in line
    elif "ge" in bounds:
        assert f"[x>={bounds['ge']}]" in line
    if "gt" in bounds:
        assert f"[x>{bounds['gt']}]" in line
    flag = "--" + name.replace("_", "-")
    for outside in (bounds["ge"] - 1 if "ge" in bounds else None, bounds["le"] + 1 if "le" in bounds else None):
        if outside is not None:  # the bound is enforced by the flag itself, before any work starts
            result = CliRunner().invoke(app, ["babble", flag, str(outside), "--home", str(tmp_path)])
            assert result.exit_code == 2 and "Invalid value" in result.output, result.output


class Budgets(BaseModel):
    rounds: int = Field(default=7, ge=2, le=9, description="Rounds per night.")


def command(rounds: Annotated[int | None, setting_option(Budgets, "rounds", metavar="N")] = None) -> None:
    typer.echo(f"rounds={rounds}")


def test_the_flag_follows_the_field_when_the_default_or_a_bound_changes() -> None:
    one = typer.Typer(rich_markup_mode=None)
    one.command()(command)
    result = CliRunner().invoke(one, ["--help"], terminal_width=400)
    assert "Rounds per night. Default 7. [2<=x<=9]" in " ".join(result.output.split())
    assert CliRunner().invoke(one, ["--rounds", "1"]).exit_code == 2  # below the field's ge
    assert CliRunner().invoke(one, ["--rounds", "3"]).output.strip() == "rounds=3"
    assert CliRunner().invoke(one, []).output.strip() == "rounds=None"  # unset: the file or env decides


def test_a_flag_behind_an_undescribed_setting_is_refused() -> None:
    class Bare(BaseModel):
        rounds: int = 3

    with pytest.raises(TypeError, match=r"Bare\.rounds"):
        setting_option(Bare, "rounds")


def test_the_session_config_inherits_the_saved_options_rather_than_restating_them() -> None:
    for base in (LoopOptions, CritiqueOptions):
        assert issubclass(SessionConfig, base)
        for name, field in base.model_fields.items():
            assert repr(SessionConfig.model_fields[name]) == repr(field)  # same default, bounds, description
    assert not set(SessionConfig.model_fields) & (set(LoopSettings.model_fields) - set(LoopOptions.model_fields))


def test_new_config_copies_every_saved_option_from_the_settings(tmp_path: Path) -> None:
    loop: dict[str, Any] = {"depth": 7, "ideas_per_day": 2, "drift_days": 1, "review_every": 2}
    loop |= {"max_selection_bits": 2.5, "hours": 1.5, "max_tokens": 900, "max_ideas": 5, "concurrency": 9}
    loop |= {"shared_kinds": ["feedback"], "seminar_every": 2}
    critique = {"revisions": 3, "cross_critic": "auto", "duplicate_threshold": 0.7}
    settings = load_settings(tmp_path, loop=loop, critique=critique)
    assert set(loop) == set(LoopOptions.model_fields) and set(critique) == set(CritiqueOptions.model_fields)
    config = new_config(settings, ["doomimir"], session="s1", present=date.today())
    assert {k: getattr(config, k) for k in loop} == loop
    assert {k: getattr(config, k) for k in critique} == critique
    assert config.critic_judges_manipulation is False  # unset: off for the embedded model
    assert config.thresholds == settings.thresholds()


def test_a_config_saved_by_the_earlier_code_loads_and_round_trips(tmp_path: Path) -> None:
    config = SessionConfig.model_validate_json(SAVED_CONFIG)
    assert (config.depth, config.concurrency, config.cross_critic) == (5, 8, "auto")
    assert config.model_dump(mode="json") == json.loads(SAVED_CONFIG) | {"seminar_every": 0}  # options added since: off
    db = open_sqlite(tmp_path / "groundhog.sqlite")
    try:
        store = SessionStore(db)
        store.create(config)
        assert store.get(config.id).config == config
    finally:
        db.close()


def test_a_saved_config_still_refuses_an_unknown_field() -> None:
    with pytest.raises(ValueError, match="wake_hour"):
        SessionConfig.model_validate_json(SAVED_CONFIG[:-1] + ',"wake_hour":7}')
