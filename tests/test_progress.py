"""The progress display: a live table on a terminal, JSON lines otherwise."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from rich.console import Console

import groundhog.commands.progress as progress
from groundhog.core.settings import ModelSettings
from groundhog.loop.events import Event
from groundhog.store.sessions import SessionConfig

CONFIG = SessionConfig(
    id="s1",
    personas=["doomimir", "simplicia"],
    depth=3,
    ideas_per_day=2,
    present=date(2026, 11, 23),
    babble=ModelSettings(),
    max_tokens=5000,
)


def events() -> list[Event]:
    return [
        Event(type="session_started", session="s1"),
        Event(type="day_started", session="s1", persona="doomimir", day=1),
        Event(type="step", session="s1", persona="doomimir", day=1, message="critique"),
        Event(
            type="day_finished",
            session="s1",
            persona="doomimir",
            day=1,
            data={"generated": 2, "surviving": 1, "tokens": 900, "persona_bits": 1.0, "session_tokens": 900},
        ),
        Event(
            type="day_failed",
            session="s1",
            persona="simplicia",
            day=1,
            message="model x failed: [bold]HTTP 500[/bold]",
        ),
    ]


def test_live_table_shows_each_persona_and_escapes_model_text(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(progress, "console", lambda: Console(file=buffer, force_terminal=True, width=160))
    renderer = progress.LiveRenderer(CONFIG)
    with renderer:
        for e in events():
            renderer.handle(e)
    out = buffer.getvalue()
    assert "doomimir" in out and "simplicia" in out
    assert "1/3" in out and "900/5000" in out
    assert "[bold]HTTP 500[/bold]" in out  # shown literally, not interpreted as markup
    state = renderer.personas["doomimir"]
    assert (state.generated, state.surviving, state.bits) == (2, 1, 1.0)
    assert renderer.personas["simplicia"].errors == 1


def test_json_lines_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    renderer = progress.make_renderer(CONFIG, json_lines=True)
    with renderer:
        for e in events():
            renderer.handle(e)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["type"] for line in lines] == [e.type for e in events()]
