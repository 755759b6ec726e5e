"""`groundhog personas list|show|check|add|spawn`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from groundhog.commands.common import HomeOpt, JsonOpt, console, echo, esc, print_json, services, sub_app

if TYPE_CHECKING:
    from groundhog.compose.services import Services
    from groundhog.researchers.personas import Installed, Persona

app = sub_app("The simulated researchers: list, show, validate and install personas.")


@app.command("list")
def list_(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """List built-in and installed personas."""
    svc = services(home)
    registry = svc.personas
    builtin = registry.builtin_ids()
    people = registry.all()
    if as_json:
        print_json(
            [
                {
                    "id": p.id,
                    "name": p.name,
                    "builtin": p.id in builtin,
                    "focus": p.focus,
                    "parent": p.parent,
                    "group": p.group,
                }
                for p in people
            ]
        )
        return
    from rich.table import Table

    shown, folded = _fold_large_groups(people)
    table = Table(title="personas")
    for col in ("id", "name", "source", "lineage", "focus"):
        table.add_column(col)
    for p in shown:
        lineage = " / ".join(f"{k} {v}" for k, v in (("from", p.parent), ("group", p.group)) if v)
        source = "built-in" if p.id in builtin else "installed"
        table.add_row(esc(p.id), esc(p.name), source, esc(lineage), esc(p.focus, one_line=True))
    for name, members in folded.items():
        table.add_row(f"[dim]{len(members)} more[/dim]", "", "installed", esc(f"group {name}"), "")
    console().print(table)


_SHOW_PER_GROUP = 5


def _fold_large_groups(people: list[Persona]) -> tuple[list[Persona], dict[str, list[Persona]]]:
    """The table shows the first few of a large group and a count for the rest (`--json` has them all)."""
    shown: list[Persona] = []
    folded: dict[str, list[Persona]] = {}
    seen: dict[str, int] = {}
    for p in people:
        if p.group is not None:
            seen[p.group] = seen.get(p.group, 0) + 1
            if seen[p.group] > _SHOW_PER_GROUP:
                folded.setdefault(p.group, []).append(p)
                continue
        shown.append(p)
    return shown, folded


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
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH...", help="Persona files (.toml, .yaml, .yml) or folders of .toml.")
    ],
    corpus: Annotated[
        Path | None,
        typer.Option(help="A folder of .md/.txt writings to ground the personas (ingested into the log)."),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Install personas into the home and ingest their grounding writings; a bad file is named and skipped."""
    svc = services(home)
    svc.ensure_home()
    installed, problems = svc.personas.add_many(paths, corpus=corpus)
    for problem in problems:
        echo(problem, err=True)  # each quotes its file
    _report_installed(svc, installed)
    if len(installed) != 1 or problems:
        refused = f"; {len(problems)} {'file' if len(problems) == 1 else 'files'} refused" if problems else ""
        echo(f"added {len(installed)} {'persona' if len(installed) == 1 else 'personas'}{refused}")
    if problems:
        raise typer.Exit(2)


@app.command()
def spawn(
    from_: Annotated[str, typer.Option("--from", metavar="ID", help="The persona to vary.")],
    count: Annotated[int, typer.Option(metavar="N", min=1, max=1000, help="How many variants.")],
    vary: Annotated[
        str,
        typer.Option(
            metavar="stances|agenda|both", help="What to vary: stance lists and numbers, the agenda, or both."
        ),
    ] = "both",
    seed: Annotated[
        int | None, typer.Option(metavar="S", help="Same seed, same variants. Default: a random one.")
    ] = None,
    group: Annotated[
        str | None, typer.Option(metavar="NAME", help="The group the variants join. Default: <ID>-spawn.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Make N distinct variants of a persona, each with its own id and its parent recorded, and install them."""
    import random
    import re

    from groundhog.core.errors import BadInput
    from groundhog.researchers.personas import ID_PATTERN
    from groundhog.researchers.spawn import VARY_CHOICES
    from groundhog.researchers.spawn import spawn as make_variants

    if vary not in VARY_CHOICES:
        raise BadInput(f"--vary: must be one of {', '.join(VARY_CHOICES)} (got {esc(vary)!r})")
    if group is not None and not re.fullmatch(ID_PATTERN, group):
        raise BadInput(
            f"--group: must be a slug of 2-40 lowercase letters, digits and '-', starting with a letter (got {group!r})"
        )
    svc = services(home)
    svc.ensure_home()
    registry = svc.personas
    parent = registry.get(from_)
    chosen_seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    taken = {p.id for p in registry.all()} | registry.builtin_ids()
    variants = make_variants(parent, count, vary=vary, seed=chosen_seed, group=group, taken=taken)  # type: ignore[arg-type]
    installed = registry.install(variants)
    _report_installed(svc, installed)
    echo(f"spawned {len(installed)} variants of {parent.id} into group {variants[0].group} (seed {chosen_seed})")


def _report_installed(svc: Services, installed: list[Installed]) -> None:
    from groundhog.loop.start import ingest_corpus

    for item in installed:
        persona = item.persona
        note = " (replacing the built-in of that id)" if item.overrides_builtin else ""
        note += " (replacing an earlier install)" if item.replaced else ""
        echo(f"installed persona {persona.id} ({persona.name}) at {item.path}{note}")
        if persona.corpus_dir():
            chunks = ingest_corpus(svc.log, persona)
            echo(f"ingested {chunks} corpus chunks from {persona.corpus_dir()} into the log")
