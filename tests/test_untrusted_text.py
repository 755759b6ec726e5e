"""Hostile bytes in model text never reach a human raw; the JSON outputs keep the exact text.

A session of a scripted fake model writes ideas, critiques and notebooks full of terminal escapes
(clipboard writes, screen clears, hidden links, bells, a one-byte CSI, a right-to-left override), a
reviewer note and a persona file carry them too, and every human-facing output is checked byte by byte.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from typer.testing import CliRunner

from groundhog.cli import app
from groundhog.core.text import json_safe, safe_text
from groundhog.loop.babble import make_runner, new_config, run_session
from groundhog.review.export import escape_md
from groundhog.store.sessions import SessionStore
from testkit.fakes import FakeChatModel, HashEmbedder, ScriptedResearcher, make_services
from testkit.pg_server import shared_server

OSC52 = "\x1b]52;c;aGFja2Vk\x07"  # write "hacked" to the clipboard
CLEAR = "\x1b[2J"  # clear the screen
OSC8 = "\x1b]8;;https://evil.test/\x1b\\click here\x1b]8;;\x1b\\"  # a hidden link
BEL = "\x07"
CSI = "\x9b2J"  # the one-byte C1 CSI: clear the screen on a terminal that honours C1
OSC_C1 = "\x9d0;pwned\x9c"  # C1 OSC ... ST: set the window title
RLO = "\u202e"  # right-to-left override
ISOLATE = "\u2067evil\u2069"
MARKS = "\u200f\u200e\u061c"
BACKSPACE = "\x08\x08"
HOSTILE = OSC52 + CLEAR + OSC8 + BEL + CSI + OSC_C1 + RLO + ISOLATE + MARKS + BACKSPACE
# Code points that must never appear raw in human-facing output (tab and newline are fine).
FORBIDDEN = ["\x1b", "\x07", "\x08", "\x9b", "\x9c", "\x9d", "\u202e", "\u2067", "\u2069", "\u200f", "\u200e", "\u061c"]
assert set(FORBIDDEN) == {c for c in HOSTILE if not c.isprintable()}
PRESENT = date(2026, 11, 23)


def title_of(persona: str, n: int) -> str:
    return f"Probing{RLO} circuits {CLEAR}study {n} with {OSC8} small models{BEL}"


def summary_of(persona: str, n: int) -> str:
    return (
        f"{persona} proposes experiment number {n} on probing {OSC52} with small transformer models, "
        f"measuring how the probes change under distribution shift {CSI} and {OSC_C1} across seeds "
        f"{ISOLATE}{MARKS}{BACKSPACE}, to learn whether the features transfer."
    )


def hostile_ideas(persona: str, n: int) -> tuple[str, str]:
    return title_of(persona, n), summary_of(persona, n)


class HostileModel:
    """The scripted researcher, with hostile text added to the critic's reasoning and the notebook."""

    def __init__(self) -> None:
        self.script = ScriptedResearcher(scores=lambda p, n: 8, idea_text=hostile_ideas)

    def __call__(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        reply = json.loads(self.script(messages, kwargs))
        for key in ("reasoning", "weakest_point", "tried", "next"):
            if key in reply:
                reply[key] += f" {HOSTILE} end"
        return json.dumps(reply)


def assert_clean(data: bytes, what: str) -> str:
    text = data.decode("utf-8")  # a stray C1 byte is no UTF-8 either
    found = [f"U+{ord(c):04X}" for c in FORBIDDEN if c in text]
    assert not found, f"{what}: raw {', '.join(found)} in {text[:2000]!r}"
    return text


def assert_terminal_clean(data: bytes, what: str) -> str:
    """On a (forced) terminal rich writes its own styles: only SGR sequences may remain."""
    text = data.decode("utf-8")
    stripped = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return assert_clean(stripped.encode(), what)


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One session of hostile text, a hostile reviewer note and a hostile persona, in one home."""
    home = tmp_path_factory.mktemp("hostile") / "home"
    database_url = shared_server().new_database() if os.environ.get("TEST_DATABASE") == "postgres" else None
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("GROUNDHOG_")]:
            mp.delenv(name)
        if database_url:  # the suite on PostgreSQL: the night's database, which each test's CLI then reads
            mp.setenv("GROUNDHOG_DATABASE_URL", database_url)
        svc = make_services(home, FakeChatModel.with_responder(HostileModel()), loop={"depth": 2, "ideas_per_day": 2})
        try:
            config = new_config(svc.settings, ["doomimir"], session="s1", present=PRESENT)
            SessionStore(svc.db).create(config)
            outcome = run_session(make_runner(svc, config), handle_signals=False)
            assert outcome.status == "completed", outcome.reason
            items = svc.queue.list()
        finally:
            svc.close()
    assert items, "the hostile ideas should reach the queue"
    yield {
        "home": home,
        "database_url": database_url,
        "ids": [i.id for i in items],
        "titles": {i.id: i.idea.title for i in items},
    }


@pytest.fixture
def home(night: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("groundhog.memory.embeddings.build_embedder", lambda settings: HashEmbedder())
    if night["database_url"]:
        monkeypatch.setenv("GROUNDHOG_DATABASE_URL", night["database_url"])
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    return Path(night["home"])


def cli(home: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, [*args, "--home", str(home)], input=input, env=env)


# -- the sanitizer ---------------------------------------------------------------------------------


def test_safe_text_makes_every_control_visible_and_keeps_newline_and_tab() -> None:
    assert safe_text(CLEAR) == "<U+001B>[2J"
    assert safe_text(OSC52) == "<U+001B>]52;c;aGFja2Vk<U+0007>"
    assert safe_text("a\u009bb\u202ec\u2066d\u200fe\x7f") == "a<U+009B>b<U+202E>c<U+2066>d<U+200F>e<U+007F>"
    assert safe_text("line one\n\tline two") == "line one\n\tline two"
    assert safe_text("over\rwrite\r\nend") == "over\nwrite\nend"
    assert safe_text("  a\n b\t\x1bc  ", one_line=True) == "a b <U+001B>c"
    assert safe_text("plain words, ünïcödé, 日本語 and emoji 🙂") == "plain words, ünïcödé, 日本語 and emoji 🙂"
    out = safe_text(HOSTILE + "".join(chr(c) for c in range(0x20)) + "".join(chr(c) for c in range(0x7F, 0xA0)))
    assert not set(out) & (set(FORBIDDEN) | {chr(c) for c in range(0x20) if c not in (9, 10)})


def test_json_safe_keeps_the_value_and_shows_only_ascii_escapes() -> None:
    value = {"title": HOSTILE + "\u2028\u2029 ok", "n": [1, "\x85"]}
    dumped = json_safe(json.dumps(value, ensure_ascii=False))
    assert json.loads(dumped) == value
    assert_clean(dumped.encode(), "json_safe")
    assert "\\u009b" in dumped and "\\u202e" in dumped


def test_escape_md_shows_controls_as_inert_text() -> None:
    out = escape_md(f"# {CLEAR}title{RLO}", inline=True)
    assert out == "\\# &lt;U+001B&gt;\\[2Jtitle&lt;U+202E&gt;"
    assert_clean(escape_md(HOSTILE).encode(), "escape_md")


def test_the_console_hook_sanitizes_what_a_caller_forgot_to_escape() -> None:
    from rich.table import Table

    from groundhog.commands.common import console

    buffer = io.StringIO()
    out = console(file=buffer, width=200)
    table = Table()
    table.add_column("raw")
    table.add_row(HOSTILE)  # no esc(): the render hook is the net
    out.print(table)
    out.print(HOSTILE, markup=False)
    assert_clean(buffer.getvalue().encode(), "console hook")
    assert "<U+001B>]52;c;" in buffer.getvalue()


# -- every human-facing output -----------------------------------------------------------------------


def human_outputs(home: Path, night: dict[str, Any]) -> list[tuple[str, ...]]:
    first = night["ids"][0]
    return [
        ("queue", "list"),
        ("queue", "show", first),
        ("queue", "export", "--format", "md"),
        ("queue", "stats"),
        ("sessions", "list"),
        ("sessions", "show", "s1"),
        ("sessions", "show"),
        ("log", "search", "probing circuits"),
        ("log", "search", "notebook", "--kind", "notebook"),
        ("log", "search", "critique", "--kind", "critique"),
        ("queue", "show", "nope" + CLEAR + RLO),  # an error that quotes the given text
    ]


@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "terminal"])
def test_no_raw_control_reaches_any_human_output(home: Path, night: dict[str, Any], terminal: bool) -> None:
    env = {"FORCE_COLOR": "1"} if terminal else None
    check = assert_terminal_clean if terminal else assert_clean
    for args in human_outputs(home, night):
        result = cli(home, *args, env=env)
        what = " ".join(args)
        assert result.exit_code in (0, 2), (what, result.output)
        out = check(result.stdout_bytes, f"{what} (stdout)")
        check(result.stderr_bytes, f"{what} (stderr)")
        if args[:2] in (("queue", "list"), ("queue", "show"), ("sessions", "show")) and result.exit_code == 0:
            assert "<U+001B>" in out or "&lt;U+001B&gt;" in out, what  # shown, not silently dropped


def test_the_markdown_export_shows_the_controls_as_text(home: Path) -> None:
    report = assert_clean(cli(home, "queue", "export", "--format", "md").stdout_bytes, "export md")
    assert "&lt;U+001B&gt;\\[2J" in report and "&lt;U+009B&gt;" in report and "&lt;U+202E&gt;" in report
    out = home.parent / "report.md"
    assert cli(home, "queue", "export", "-o", str(out)).exit_code == 0
    assert_clean(out.read_bytes(), "export md file")


def test_decide_and_review_show_a_hostile_note_safely(home: Path, night: dict[str, Any]) -> None:
    idea = night["ids"][-1]
    note = f"see {OSC8} and {OSC52}{RLO}"
    decided = cli(home, "queue", "decide", idea, "defer", "--note", note)
    assert decided.exit_code == 0, decided.output
    assert_clean(decided.stdout_bytes, "queue decide")
    # the review screen: the deferred idea with its note, provenance, an unknown key, a typed note
    keys = f"p\n{CLEAR}x\nn {BEL}typed{RLO}\ns\n" * len(night["ids"]) + "q\n"
    for env in (None, {"FORCE_COLOR": "1"}):
        review = cli(home, "review", input=keys, env=env)
        assert review.exit_code == 0, review.output
        check = assert_terminal_clean if env else assert_clean
        shown = check(review.stdout_bytes, "review")
        check(review.stderr_bytes, "review (stderr)")
        assert "<U+001B>" in shown
    as_json = json.loads(cli(home, "queue", "show", idea, "--json").stdout)
    assert as_json["note"] == note


def test_json_outputs_keep_the_exact_text(home: Path, night: dict[str, Any]) -> None:
    titles = night["titles"]
    listed = cli(home, "queue", "list", "--json")
    assert_clean(listed.stdout_bytes, "queue list --json")  # escaped as \\u001b, \\u009b, \\u202e
    assert {i["id"]: i["idea"]["title"] for i in json.loads(listed.stdout)} == titles
    first = night["ids"][0]
    shown = json.loads(cli(home, "queue", "show", first, "--json").stdout)
    assert shown["idea"]["title"] == titles[first] and "proposes experiment number" in shown["idea"]["summary"]
    assert OSC52 in shown["idea"]["summary"] and HOSTILE in shown["critique"]["reasoning"]
    for fmt in ("json", "jsonl"):
        exported = cli(home, "queue", "export", "--format", fmt)
        assert_clean(exported.stdout_bytes, f"export {fmt}")
        records = (
            json.loads(exported.stdout) if fmt == "json" else [json.loads(x) for x in exported.stdout.splitlines()]
        )
        assert {r["id"]: r["idea"]["title"] for r in records} == titles
    report = cli(home, "sessions", "show", "s1", "--json")
    assert_clean(report.stdout_bytes, "sessions show --json")
    shown_titles = {i["title"] for p in json.loads(report.stdout)["personas"] for d in p["days"] for i in d["ideas"]}
    assert set(titles.values()) <= shown_titles
    hits = cli(home, "log", "search", "notebook", "--kind", "notebook", "--json")
    assert_clean(hits.stdout_bytes, "log search --json")
    assert any(HOSTILE in h["text"] for h in json.loads(hits.stdout))


# -- critique, personas, progress ------------------------------------------------------------------


def critic_reply(messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
    return json.dumps(
        {
            "reasoning": f"Careful {OSC52} reasoning {RLO} about it.",
            "novelty": 8,
            "feasibility": 8,
            "relevance": 8,
            "clarity": 8,
            "weakest_point": f"the {CLEAR} sample is small",
        }
    )


def test_critique_output_and_its_errors_are_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = FakeChatModel.with_responder(critic_reply)
    monkeypatch.setattr(
        "groundhog.commands.common.services", lambda home, **flags: make_services(home, model, HashEmbedder(), **flags)
    )
    good_id = f"id{CLEAR}{RLO}"
    lines = [
        {"id": good_id, "title": title_of("x", 1), "summary": summary_of("someone", 1)},
        {"id": f"short{BEL}", "title": f"Tiny{CSI}", "summary": f"{OSC8} loop"},
        {"id": good_id, "title": "again", "summary": "an id used twice"},  # a bad line quoting the id
        {"id": f"e{OSC52}", "title": "", "summary": summary_of("someone", 2)},
    ]
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    text += json.dumps(CLEAR) + "\n" + f'{{"id": "raw {CLEAR}"}}\n'  # a JSON string; raw ESC: not JSON
    for env in (None, {"FORCE_COLOR": "1"}):
        table = CliRunner().invoke(app, ["critique", "-", "--home", str(tmp_path / "h")], input=text, env=env)
        assert table.exit_code == 2, table.output
        check = assert_terminal_clean if env else assert_clean
        check(table.stdout_bytes, "critique")
        errors = check(table.stderr_bytes, "critique (stderr)")
        assert "line 3: field 'id' 'id<U+001B>[2J<U+202E>' is already used on line 1" in errors
        assert "line 5: expected a JSON object" in errors and "line 6: not valid JSON (Invalid control" in errors
    as_json = CliRunner().invoke(app, ["critique", "-", "--json", "--home", str(tmp_path / "h")], input=text)
    assert_clean(as_json.stdout_bytes, "critique --json")
    out = [json.loads(x) for x in as_json.stdout.splitlines()]
    assert [r["id"] for r in out] == [good_id, f"short{BEL}", f"e{OSC52}"]
    assert out[2]["reasons"]["degenerate"].startswith("empty title")


HOSTILE_PERSONA = """
id = "mesa-hunter"
name = "Mesa \\u001b]52;c;aGFja2Vk\\u0007Hunter\\u202e"
description = "A researcher who looks for \\u001b[2J learned optimizers inside trained networks \\u009b2J."
beliefs = ["Inner optimizers \\u001b]8;;https://evil.test/\\u001b\\\\can\\u001b]8;;\\u001b\\\\ emerge."]
methods = ["Toy models \\u0007 trained to search"]
skeptical_of = ["Behavioural evidence \\u2066of\\u2069 alignment"]
writing_style = "Careful \\u200f and hedged."
focus = "Detect mesa-optimization \\u009d0;t\\u009c in small trained networks."
"""


def test_persona_fields_are_shown_safely(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "phome"
    file = tmp_path / "mesa.toml"
    file.write_text(HOSTILE_PERSONA)
    for args in (("personas", "check", str(file)), ("personas", "add", str(file))):
        result = cli(other, *args)
        assert result.exit_code == 0, result.output
        assert_clean(result.stdout_bytes + result.stderr_bytes, " ".join(args))
    for args in (("personas", "list"), ("personas", "show", "mesa-hunter")):
        result = cli(other, *args)
        assert result.exit_code == 0, result.output
        assert "<U+001B>" in assert_clean(result.stdout_bytes, " ".join(args))
    shown = json.loads(cli(other, "personas", "show", "mesa-hunter", "--json").stdout)
    assert shown["name"] == "Mesa \x1b]52;c;aGFja2Vk\x07Hunter\u202e"
    bad = tmp_path / "bad.toml"
    bad.write_text(HOSTILE_PERSONA.replace('id = "mesa-hunter"', 'id = "Bad \\u001b[2J Id\\u202e"'))
    checked = cli(other, "personas", "check", str(bad))
    assert checked.exit_code == 2
    assert_clean(checked.stdout_bytes + checked.stderr_bytes, "personas check (bad)")


def test_progress_shows_hostile_event_text_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    import groundhog.commands.progress as progress
    from groundhog.commands.common import console
    from groundhog.core.settings import ModelSettings
    from groundhog.loop.events import Event
    from groundhog.store.sessions import SessionConfig

    config = SessionConfig(
        id="s1", personas=["doomimir"], depth=2, ideas_per_day=2, present=PRESENT, babble=ModelSettings()
    )
    events = [
        Event(type="day_started", session="s1", persona="doomimir", day=1),
        Event(type="step", session="s1", persona="doomimir", day=1, message=f"critique {CLEAR}{RLO}"),
        Event(type="retry", session="s1", persona="doomimir", day=1, message=f"HTTP 500: {OSC52}"),
        Event(type="day_failed", session="s1", persona="doomimir", day=1, message=f"model said {OSC8}{CSI}"),
    ]
    buffer = io.StringIO()
    monkeypatch.setattr(progress, "console", lambda: console(file=buffer, force_terminal=True, width=160))
    renderer = progress.LiveRenderer(config)
    with renderer:
        for e in events:
            renderer.handle(e)
    # A live display moves the cursor; apart from those moves and styles, nothing raw.
    text = re.sub(r"\x1b\[(\d*[ABCDGK]|\?25[lh]|[0-9;]*m)", "", buffer.getvalue())
    assert_clean(text.encode(), "progress (live)")
    assert "<U+001B>" in text

    lines = io.StringIO()
    monkeypatch.setattr("sys.stdout", lines)
    json_renderer = progress.JsonLinesRenderer(config)
    for e in events:
        json_renderer.handle(e)
    assert_clean(lines.getvalue().encode(), "progress (json lines)")
    assert [json.loads(x)["message"] for x in lines.getvalue().splitlines()] == [e.message for e in events]
