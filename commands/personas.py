"""`groundhog personas list|show|check|add`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groundhog.commands.common import HomeOpt, JsonOpt, console, echo, esc, print_json, services, sub_app

app = sub_app("The simulated researchers: list, show, validate and install personas.")


@app.command("list")
def list_(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """List built-in and installed personas."""
    svc = services(home)
    registry = svc.personas
    builtin = registry.builtin_ids()
    people = registry.all()
    if as_json:
        print_json([{"id": p.id, "name": p.name, "builtin": p.id in builtin, "focus": p.focus} for p in people])
        return
    from rich.table import Table

    table = Table(title="personas")
    for col in ("id", "name", "source", "focus"):
        table.add_column(col)
    for p in people:
        table.add_row(esc(p.id), esc(p.name), "built-in" if p.id in builtin else "installed", esc(p.focus))
    console().print(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Persona id or display name.")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one persona in full."""
    persona = services(home).personas.get(name)
    if as_json:
        data = persona.model_dump(mode="json")
        data["corpus_dir"] = str(persona.corpus_dir()) if persona.corpus_dir() else None
        print_json(data)
        return
    out = console()
    out.print(f"[bold]{esc(persona.name)}[/bold] ({esc(persona.id)})")
    out.print(esc(persona.description))
    out.print(f"\n[bold]Agenda:[/bold] {esc(persona.focus)}")
    for title, items in (
        ("Beliefs", persona.beliefs),
        ("Methods", persona.methods),
        ("Sceptical of", persona.skeptical_of),
    ):
        out.print(f"\n[bold]{title}:[/bold]")
        for item in items:
            out.print(f"  - {esc(item)}")
    out.print(f"\n[bold]Writing style:[/bold] {esc(persona.writing_style)}")
    if persona.stances:
        stances = ", ".join(f"{k} {v:+.2f}" for k, v in persona.stances.items())
        out.print(f"\n[bold]Stances[/bold] (-1..1): {esc(stances)}")
    if persona.corpus_dir():
        out.print(f"\n[bold]Grounding corpus:[/bold] {esc(persona.corpus_dir())}")


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="A persona file (.toml, .yaml or .yml).")],
    home: HomeOpt = None,  # accepted like everywhere; a file check needs no home
) -> None:
    """Validate a persona file: every problem, with its field; exit 2 if there is any."""
    from groundhog.researchers.personas import check_persona_file

    problems = check_persona_file(file)
    if problems:
        for p in problems:
            echo(p, err=True)  # problems quote the file
        raise typer.Exit(2)
    echo(f"{file}: ok")


@app.command()
def add(
    file: Annotated[Path, typer.Argument(help="A persona file (.toml, .yaml or .yml).")],
    corpus: Annotated[
        Path | None,
        typer.Option(help="A folder of .md/.txt writings to ground the persona (ingested into the log)."),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Install a persona into the home and ingest its grounding writings into the log."""
    from groundhog.loop.start import ingest_corpus

    svc = services(home)
    svc.ensure_home()
    installed = svc.personas.add(file, corpus=corpus)
    persona = installed.persona
    note = " (replacing the built-in of that id)" if installed.overrides_builtin else ""
    note += " (replacing an earlier install)" if installed.replaced else ""
    echo(f"installed persona {persona.id} ({persona.name}) at {installed.path}{note}")
    if persona.corpus_dir():
        chunks = ingest_corpus(svc.log, persona)
        echo(f"ingested {chunks} corpus chunks from {persona.corpus_dir()} into the log")
