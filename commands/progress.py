"""Drawing a session's progress: a live table on a terminal, one JSON line per event otherwise."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from groundhog.commands.common import console, esc, print_json, safe_renderable
from groundhog.core.text import json_safe
from groundhog.loop.events import Event, JsonlSink
from groundhog.loop.runner import RunOutcome
from groundhog.store.sessions import SessionConfig


class _PersonaState:
    def __init__(self) -> None:
        self.day = 0
        self.step = "waiting"
        self.generated = 0
        self.surviving = 0
        self.bits: Any = "-"
        self.tokens = 0
        self.errors = 0
        self.last_error = ""


class Renderer:
    """Collects events; subclasses decide how to draw. Also writes the session log file."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.started = time.monotonic()
        self.personas = {p: _PersonaState() for p in config.personas}
        self.session_tokens = 0
        self.file: JsonlSink | None = None
        self.log_path: Any = None

    def attach_log(self, path: Any) -> None:
        self.log_path = path
        self.file = JsonlSink(path)

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file:
            self.file.close()

    def handle(self, event: Event) -> None:
        if self.file:
            self.file(event)
        st = self.personas.get(event.persona or "")
        if st is not None:
            if event.type == "day_started":
                st.day, st.step = event.day or st.day, "wake"
            elif event.type == "step":
                st.step = event.message
            elif event.type == "day_finished":
                st.step = "day done"
                st.generated += int(event.data.get("generated", 0))
                st.surviving += int(event.data.get("surviving", 0))
                st.tokens += int(event.data.get("tokens", 0))
                st.bits = event.data.get("persona_bits", "-")
                self.session_tokens = int(event.data.get("session_tokens", self.session_tokens))
            elif event.type in ("day_failed", "persona_stopped"):
                st.errors += event.type == "day_failed"
                st.last_error = event.message
                st.step = "stopped" if event.type == "persona_stopped" else "day failed"
        self.draw(event)

    def draw(self, event: Event) -> None:  # pragma: no cover - overridden
        pass

    def eta(self) -> str:
        total = len(self.personas) * self.config.depth
        done = sum(max(0, s.day - (0 if s.step == "day done" else 1)) for s in self.personas.values())
        elapsed = time.monotonic() - self.started
        if done == 0:
            return "?"
        left = elapsed / done * (total - done)
        return f"{left / 60:.0f} min"

    def summary(self, outcome: RunOutcome, svc: Any) -> None:
        pass


class JsonLinesRenderer(Renderer):
    """One JSON object per event on stdout. When stdout is a real file descriptor the lines go to a
    duplicate of it: the embedded model's library silences itself by pointing fd 1 (and sys.stdout)
    at /dev/null while it loads, and an event written meanwhile would be lost."""

    def __init__(self, config: SessionConfig) -> None:
        super().__init__(config)
        self.out: Any = sys.stdout
        self._own = False
        try:
            if sys.stdout.fileno() == 1:
                self.out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
                self._own = True
        except (AttributeError, OSError, ValueError):  # a captured stdout (tests, notebooks): use it
            pass

    def draw(self, event: Event) -> None:
        self.out.write(json_safe(event.model_dump_json()) + "\n")
        self.out.flush()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self._own:
            self.out.close()

    def summary(self, outcome: RunOutcome, svc: Any) -> None:
        pass  # the session_finished event already said it


class LiveRenderer(Renderer):
    def __init__(self, config: SessionConfig) -> None:
        super().__init__(config)
        from rich.live import Live

        self.console = console()
        self.live = Live(safe_renderable(self._table()), console=self.console, refresh_per_second=2, transient=False)

    def __enter__(self) -> LiveRenderer:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)
        super().__exit__(*exc)

    def _table(self) -> Any:
        from rich.table import Table

        c = self.config
        budget = []
        if c.max_tokens:
            budget.append(f"tokens {self.session_tokens}/{c.max_tokens}")
        if c.hours:
            budget.append(f"{c.hours} h budget")
        elapsed = time.monotonic() - self.started
        title = f"session {esc(c.id)}: elapsed {elapsed / 60:.1f} min, about {self.eta()} left" + (
            f", {', '.join(budget)}" if budget else ""
        )
        table = Table(title=title, title_justify="left")
        for col in ("persona", "day", "step", "ideas", "survived", "bits", "tokens", "errors"):
            table.add_column(col)
        for name, s in self.personas.items():
            err = f"{s.errors} ({esc(s.last_error[:50], one_line=True)})" if s.last_error else str(s.errors)
            table.add_row(
                esc(name),
                f"{s.day}/{c.depth}",
                esc(s.step),
                str(s.generated),
                str(s.surviving),
                str(s.bits),
                str(s.tokens),
                err,
            )
        return table

    def draw(self, event: Event) -> None:
        if event.type == "retry":
            self.console.print(f"[yellow]retry[/yellow] {esc(event.message)}")
        self.live.update(safe_renderable(self._table()))

    def summary(self, outcome: RunOutcome, svc: Any) -> None:
        from groundhog.store.sessions import SessionStore

        t = SessionStore(svc.db).totals(self.config.id)
        colour = {"completed": "green", "awaiting-review": "yellow"}.get(outcome.status, "red")
        self.console.print(f"[{colour}]{outcome.status}[/{colour}]: {esc(outcome.reason)}")
        self.console.print(
            f"{t.generated} ideas, {t.surviving} survived the critique and wait in the queue; "
            f"{t.tokens} tokens. Next: `groundhog review` (or `groundhog queue list`)."
        )
        if self.log_path:
            self.console.print(f"session log: {esc(self.log_path)}")


def make_renderer(config: SessionConfig, *, json_lines: bool, home: Any = None) -> Renderer:
    renderer: Renderer = JsonLinesRenderer(config) if json_lines else LiveRenderer(config)
    if home is not None:
        renderer.attach_log(home / "logs" / f"{config.id}.jsonl")
    return renderer


__all__ = ["make_renderer", "print_json"]
