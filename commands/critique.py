"""`groundhog critique`: the screens and the critic on ideas from a JSONL file, outside any session."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from groundhog.commands import common
from groundhog.commands.common import HomeOpt, JsonOpt, console, echo, esc, print_json
from groundhog.core.text import json_safe

if TYPE_CHECKING:
    from groundhog.compose.services import Services
    from groundhog.critique.batch import InputIdea, Reviewed
    from groundhog.researchers.personas import Persona


def _critic_flags(home: Path | None, provider: str | None, model: str | None, base_url: str | None) -> dict[str, Any]:
    """The model flags apply to whichever model critiques: the configured critic, else the babble model.
    Flags left out keep the configured values."""
    flags = {"provider": provider, "model": model, "base_url": base_url}
    given = {k: v for k, v in flags.items() if v is not None}
    if not given:
        return {}
    from pydantic import ValidationError

    from groundhog.core.errors import BadInput
    from groundhog.core.settings import ModelSettings, load_settings

    current = load_settings(home).critic_model
    if "provider" in given and given["provider"] != current.provider:
        current = ModelSettings(api_key_env=current.api_key_env)  # another provider: its own defaults
    try:
        merged = ModelSettings.model_validate({**current.model_dump(), **given})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BadInput(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}") from exc
    return {"critic": merged.model_dump()}


def critique(
    file: Annotated[
        str | None,
        typer.Argument(help="JSONL file of ideas, one object per line; '-' reads stdin.", show_default=False),
    ] = None,
    rejudge: Annotated[
        str | None,
        typer.Option(
            "--rejudge",
            metavar="SESSION",
            help="Instead of a file: judge again the ideas of SESSION whose critic reply could not be read.",
            show_default=False,
        ),
    ] = None,
    voice: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Critique in this persona's voice. Default: the line's `persona` field when it names "
            "a known persona, else oversight-researcher.",
            show_default=False,
        ),
    ] = None,
    record: Annotated[
        bool,
        typer.Option("--record", help="Add the ideas and their critiques to the log (session 'critique')."),
    ] = False,
    no_critic: Annotated[
        bool, typer.Option("--no-critic", help="Run the screens only; no chat model is loaded.")
    ] = False,
    duplicate_threshold: Annotated[
        float | None,
        typer.Option(min=0.01, max=1.0, help="Similarity to an earlier idea that flags a duplicate (default 0.8)."),
    ] = None,
    provider: Annotated[
        str | None, typer.Option(help="local (embedded, offline) or openai (any compatible endpoint).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name (openai) or GGUF path (local).")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1.")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the screens and the critic on ideas from a JSONL file, against the log in --home.

    Each line is {"id": ..., "title": ..., "summary": ...} (other fields allowed: rationale, persona).
    A line that is not a JSON object, has no id, a field of the wrong type or an id used before gets
    its own error on stderr, naming the line, and the other lines are still judged (exit code 2 at the
    end). An empty title or summary is flagged degenerate. The duplicate screen compares each idea with
    every idea in the log (all sessions and personas) and with the earlier lines of the input. There
    are no revision rounds: a failing idea is reported, not rewritten. Each idea's nearest papers of the
    home's library come with it (`prior_art`); the critic, shown those above the calibrated bar, fails
    it as prior_art only when it names one as having done it already. Nothing is written to the log
    unless --record is given. With --json, prints one JSON object per judged line, in input order.
    """
    from groundhog.critique.batch import CRITIC_ERROR, DEFAULT_VOICE, BatchCritique, read_ideas
    from groundhog.critique.critic import Thresholds
    from groundhog.library.store import library_beside

    if rejudge is not None:
        _rejudge(home, rejudge, _critic_flags(home, provider, model, base_url), as_json)
        return
    if file is None:
        from groundhog.core.errors import BadInput

        raise BadInput("give a JSONL FILE of ideas ('-' for stdin), or --rejudge SESSION")

    parsed = read_ideas(file)  # an unreadable file fails here, before any model or store is opened
    for bad in parsed.bad:  # at once: a long critic run should not hide them until the end
        echo(f"groundhog: error: {bad.message}", err=True)
    items = parsed.ideas
    flags: dict[str, Any] = {"critique": {"duplicate_threshold": duplicate_threshold}}
    if not no_critic:
        flags.update(_critic_flags(home, provider, model, base_url))
    svc = common.services(home, **flags)
    try:
        fixed = svc.personas.get(voice) if voice else None
        fallback = fixed or svc.personas.get(DEFAULT_VOICE)
        voices = _VoicePicker(svc, fixed, fallback)
        if not items:
            if not parsed.bad:
                _render([], as_json, file)
            _exit_for_bad_lines(parsed.bad, file, judged=0)
            return
        batch = BatchCritique(
            log=svc.log,
            embedder=svc.embedder,
            critic_model=None if no_critic else svc.critic_model,
            thresholds=Thresholds.model_validate(svc.settings.thresholds()),
            duplicate_threshold=svc.settings.critique.duplicate_threshold,
            prior_art=library_beside(svc.log),
            judge_manipulation=svc.settings.critic_judges_manipulation(),
        )
        reviewed = batch.run(items, voices)
        if record:
            batch.record(reviewed)
    finally:
        svc.close()
    _render(reviewed, as_json, file)
    if record and not as_json:
        console().print(f"Recorded {len(reviewed)} idea(s) in the log (session 'critique').")
    failed = [r.given_id for r in reviewed if r.result.critic == CRITIC_ERROR]
    if failed:
        echo(f"groundhog: error: the critic failed on {len(failed)} idea(s): {', '.join(failed[:5])}", err=True)
    _exit_for_bad_lines(parsed.bad, file, judged=len(reviewed))
    if failed:
        raise typer.Exit(1)


def _rejudge(home: Path | None, session: str, flags: dict[str, Any], as_json: bool) -> None:
    from groundhog.core.settings import ModelSettings
    from groundhog.loop.babble import rejudge

    svc = common.services(home, **flags)
    try:
        critic = ModelSettings.model_validate(flags["critic"]) if flags else None
        done = rejudge(svc, session, critic)
    finally:
        svc.close()
    if as_json:
        print_json(
            {
                "session": session,
                "judged": done.judged,
                "passed": done.passed,
                "still_unjudged": done.still_unjudged,
                "usage": done.usage.model_dump(),
            }
        )
        return
    plural = "s" if done.judged != 1 else ""
    echo(
        f"rejudged {done.judged} idea{plural} of {session}: {done.passed} passed (queued), "
        f"{done.still_unjudged} still unjudged, {done.usage.total_tokens} tokens"
    )


def _exit_for_bad_lines(bad: list[Any], file: str, *, judged: int) -> None:
    """Exit 2 when any line could not be judged, with one line counting them (each was named above)."""
    if not bad:
        return
    where = "<stdin>" if file == "-" else file
    numbers = ", ".join(str(b.line) for b in bad[:10]) + (", ..." if len(bad) > 10 else "")
    echo(f"groundhog: error: {where}: {len(bad)} bad line(s) not judged (line {numbers}); {judged} judged", err=True)
    raise typer.Exit(2)


class _VoicePicker:
    """Whose voice critiques a line, and whose idea it is: `--as`, else the line's known persona,
    else the default voice. An unknown `persona` field is no error: the line may come from elsewhere."""

    def __init__(self, svc: Services, fixed: Persona | None, fallback: Persona) -> None:
        self._svc = svc
        self._fixed = fixed
        self._fallback = fallback
        self._known: dict[str, Persona | None] = {}

    def _lookup(self, name: str) -> Persona | None:
        from groundhog.core.errors import BadInput

        if not name.strip():
            return None
        if name not in self._known:
            try:
                self._known[name] = self._svc.personas.get(name)
            except BadInput:
                self._known[name] = None
        return self._known[name]

    def __call__(self, item: InputIdea) -> tuple[Persona, Persona | None]:
        author = self._lookup(item.spec.persona)
        return self._fixed or author or self._fallback, author


def _render(reviewed: list[Reviewed], as_json: bool, file: str) -> None:
    if as_json:
        for r in reviewed:
            sys.stdout.write(json_safe(json.dumps(r.as_json(), ensure_ascii=False)) + "\n")
        return
    out = console()
    if not reviewed:
        out.print(f"No ideas in {esc(file)}.")
        return
    from rich.table import Table

    table = Table(show_lines=True)
    for col in ("id", "verdict", "flags", "scores (n/f/r/c)", "why"):
        table.add_column(col)
    for r in reviewed:
        res = r.result
        verdict = "[green]pass[/green]" if res.verdict == "pass" else "[red]fail[/red]"
        s = res.scores
        scores = f"{s.novelty}/{s.feasibility}/{s.relevance}/{s.clarity}" if s else "-"
        if res.flags:
            why = "\n".join(f"{f.name}: {f.reason}" for f in res.flags)
        else:
            why = res.reasoning + (f"\nWeakest point: {res.weakest_point}" if res.weakest_point else "")
        if res.prior_art:
            p = res.prior_art[0]
            why += f"\nNearest prior work: {p.title} ({p.year or 'n.d.'}), similarity {p.similarity:.2f}"
        table.add_row(
            esc(r.given_id),
            verdict,
            esc(", ".join(f.name for f in res.flags) or "-"),
            scores,
            esc(why.strip() or "passed the screens (critic not run)"),
        )
    out.print(table)
