"""The `groundhog` command line. It only parses, wires and renders: the work happens in the packages
it calls, which are imported inside the commands so `groundhog --help` stays instant."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from typer.core import TyperGroup

from core.errors import GroundhogError

if TYPE_CHECKING:
    from loop.services import Services


class GroundhogGroup(TyperGroup):
    """Turns GroundhogError into one line on stderr and an exit code (2 bad input, 1 failure)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GroundhogError as exc:
            if _debug():
                raise
            click.echo(f"groundhog: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # anything unexpected: one line, unless --debug
            if _debug():
                raise
            detail = " ".join(str(exc).split())[:300]
            click.echo(f"groundhog: error: {type(exc).__name__}: {detail} (rerun with --debug)", err=True)
            ctx.exit(1)


def _debug() -> bool:
    return os.environ.get("GROUNDHOG_DEBUG", "") not in ("", "0", "false")


HELP = """Simulated alignment researchers on a groundhog-day loop.

Evening: `groundhog babble` starts a session. Morning: `groundhog review` walks the ideas that survived
the critique. `groundhog tune` says how many loop days were worth it.
"""

app = typer.Typer(
    cls=GroundhogGroup,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
log_app = typer.Typer(cls=GroundhogGroup, help="Search the written log.", no_args_is_help=True)
app.add_typer(log_app, name="log")

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="GROUNDHOG_HOME",
        help="Data directory (config groundhog.toml, log, queue). Default: a per-user data directory.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    if debug:
        os.environ["GROUNDHOG_DEBUG"] = "1"


def services(home: Path | None, **flags: Any) -> Services:
    from core.settings import load_settings
    from loop.services import Services

    return Services(load_settings(home, **flags))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def esc(text: object) -> str:
    """Model text is untrusted: escape rich markup before rendering it."""
    from rich.markup import escape

    return escape(str(text))


# -- doctor ---------------------------------------------------------------------------------------


@app.command()
def doctor(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Check the model, embedder and stores; run one tiny generation and one embedding."""
    from loop.doctor import run_checks

    svc = services(home)
    try:
        checks = run_checks(svc)
    finally:
        svc.close()
    ok = all(c.ok for c in checks)
    if as_json:
        print_json({"ok": ok, "checks": [c.model_dump() for c in checks]})
    else:
        from rich.table import Table

        table = Table(title="groundhog doctor", show_lines=False)
        for col in ("check", "status", "detail", "time"):
            table.add_column(col)
        for c in checks:
            status = "[green]ok[/green]" if c.ok else "[red]FAILED[/red]"
            table.add_row(c.name, status, esc(c.detail), f"{c.seconds:.1f}s")
        console().print(table)
    if not ok:
        raise typer.Exit(1)


# -- log ------------------------------------------------------------------------------------------


@log_app.command("search")
def log_search(
    query: Annotated[str, typer.Argument(help="What to look for, in words.")],
    persona: Annotated[str | None, typer.Option(help="Only this persona's entries.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Only entries of this kind: notebook, idea, critique, feedback, corpus.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-k", min=1, max=200, help="How many results.")] = 10,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search the written log by meaning."""
    from core.errors import BadInput
    from core.records import ENTRY_KINDS

    if kind is not None and kind not in ENTRY_KINDS:
        raise BadInput(f"--kind: unknown kind '{kind}' (choose from {', '.join(ENTRY_KINDS)})")
    svc = services(home)
    persona_id = svc.personas.get(persona).id if persona else None
    hits = svc.log.search(query, k=limit, persona=persona_id, kind=kind)
    if as_json:
        print_json([{"similarity": round(sim, 4), **e.model_dump(mode="json")} for e, sim in hits])
        return
    if not hits:
        console().print("No entries found.")
        return
    from rich.table import Table

    table = Table(show_lines=True)
    for col in ("sim", "persona", "kind", "session/day", "text"):
        table.add_column(col)
    for e, sim in hits:
        table.add_row(f"{sim:.2f}", e.persona, e.kind, f"{e.session or '-'}/{e.day}", esc(e.text[:300]))
    console().print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
